import { defineArea } from '../../area';

/**
 * The sandbox simulator: customers and members acting in WeCom (scan a code, write, delete, tag),
 * the callbacks the sandbox sent and what the product made of them, live. Sandbox mode only.
 */
export default defineArea({
  order: 930,
  group: '系统',
  routes: [{ path: 'simulator', component: () => import('./SimulatorPage.vue'), meta: { title: '沙箱模拟器' } }],
  menu: [{ path: 'simulator', title: '沙箱模拟器', roles: ['admin', 'ops'], feature: 'simulator' }],
});
