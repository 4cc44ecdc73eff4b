import { defineArea } from '../../area';

export default defineArea({
  order: 320,
  group: '内容',
  routes: [
    { path: 'replies', component: () => import('./RulesPage.vue'), meta: { title: '自动回复规则' } },
    { path: 'replies/log', component: () => import('./LogPage.vue'), meta: { title: '自动回复记录' } },
  ],
  menu: [
    { path: 'replies', title: '自动回复规则', roles: ['admin', 'ops', 'compliance', 'branch_manager'] },
    { path: 'replies/log', title: '自动回复记录', roles: ['admin', 'ops', 'compliance', 'branch_manager'] },
  ],
});
