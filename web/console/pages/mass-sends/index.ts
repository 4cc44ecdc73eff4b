import { defineArea } from '../../area';

/** Mass sends (企业群发): compose from approved materials, preflight, live progress, per-customer results, remind and cancel. */
export default defineArea({
  order: 410,
  group: '自动化',
  routes: [
    { path: 'mass-sends', component: () => import('./MassSendList.vue'), meta: { title: '企业群发' } },
    { path: 'mass-sends/new', component: () => import('./MassSendNew.vue'), meta: { title: '新建群发' } },
    { path: 'mass-sends/:id', component: () => import('./MassSendDetail.vue'), meta: { title: '群发详情' } },
  ],
  menu: [{ path: 'mass-sends', title: '企业群发', roles: ['admin', 'ops', 'compliance', 'branch_manager'] }],
});
