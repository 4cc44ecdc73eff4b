import { defineArea } from '../../area';

/** Bank customer files: upload, live progress, the rejected rows by line with reasons in Chinese. */
export default defineArea({
  order: 180,
  group: '客户',
  routes: [{ path: 'imports', component: () => import('./ImportsPage.vue'), meta: { title: '客户导入' } }],
  menu: [{ path: 'imports', title: '客户导入', roles: ['admin', 'ops'] }],
});
