import { defineArea } from '../../area';

/** 名片数据: views, shares, scans and customers added through members' digital business cards. */
export default defineArea({
  order: 520,
  group: '数据看板',
  routes: [{ path: 'cards', component: () => import('./CardStats.vue'), meta: { title: '名片数据' } }],
  menu: [{ path: 'cards', title: '名片数据', roles: ['admin', 'ops', 'compliance', 'branch_manager', 'account_manager'] }],
});
