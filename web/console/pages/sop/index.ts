import { defineArea } from '../../area';

/** SOP templates: list, step editor with validation, YAML, dry run, publish / pause / resume, run monitor. */
export default defineArea({
  order: 400,
  group: '自动化',
  routes: [
    { path: 'sop', component: () => import('./TemplateList.vue'), meta: { title: 'SOP 模板' } },
    { path: 'sop/new', component: () => import('./TemplatePage.vue'), meta: { title: '新建 SOP 模板' } },
    { path: 'sop/:id', component: () => import('./TemplatePage.vue'), meta: { title: 'SOP 模板' } },
  ],
  menu: [{ path: 'sop', title: 'SOP 模板', roles: ['admin', 'ops', 'compliance', 'branch_manager'] }],
});
