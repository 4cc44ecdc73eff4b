import { defineArea } from '../../area';

const ALL = ['admin', 'ops', 'compliance', 'branch_manager', 'account_manager'] as const;

export default defineArea({
  order: 400,
  group: '合规',
  routes: [
    { path: 'compliance/reviews', component: () => import('./ReviewsPage.vue'), meta: { title: '复核队列' } },
    { path: 'compliance/check', component: () => import('./CheckPage.vue'), meta: { title: '合规检查' } },
    { path: 'compliance/rules', component: () => import('./RuleSetPage.vue'), meta: { title: '合规规则库' } },
  ],
  menu: [
    { path: 'compliance/reviews', title: '复核队列', roles: ['admin', 'compliance'] },
    { path: 'compliance/check', title: '合规检查', roles: [...ALL] },
    { path: 'compliance/rules', title: '合规规则库', roles: [...ALL] },
  ],
});
