import { defineArea } from '../../area';

export default defineArea({
  order: 10,
  group: '数据看板',
  routes: [{ path: 'dashboard', component: () => import('./Dashboard.vue'), meta: { title: '运营数据' } }],
  menu: [{ path: 'dashboard', title: '运营数据', roles: ['admin', 'ops', 'compliance', 'branch_manager'] }],
});
