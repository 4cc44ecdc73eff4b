import { defineArea } from '../../area';

export default defineArea({
  order: 100,
  group: '客户',
  routes: [
    { path: 'customers', component: () => import('./CustomerList.vue'), meta: { title: '客户' } },
    { path: 'customers/:id', component: () => import('./Customer360.vue'), meta: { title: '客户360' } },
  ],
  menu: [{ path: 'customers', title: '客户查询', roles: ['admin', 'ops', 'compliance', 'branch_manager', 'account_manager'] }],
});
