import { defineArea } from '../../area';

/** Runtime settings (src/settings): view and change with checks at each field, every version with who and when. */
export default defineArea({
  order: 905,
  group: '系统',
  routes: [{ path: 'settings', component: () => import('./SettingsPage.vue'), meta: { title: '运行参数' } }],
  menu: [{ path: 'settings', title: '运行参数', roles: ['admin'] }],
});
