import { defineArea } from '../../area';

/** Staff accounts: roles, branches, status and WeCom binding (administrators; branch managers read their branch). */
export default defineArea({
  order: 910,
  group: '系统',
  routes: [{ path: 'staff', component: () => import('./StaffPage.vue'), meta: { title: '员工与角色' } }],
  menu: [{ path: 'staff', title: '员工与角色', roles: ['admin', 'branch_manager'] }],
});
