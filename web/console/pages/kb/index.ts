import { defineArea } from '../../area';

export default defineArea({
  order: 310,
  group: '内容',
  routes: [{ path: 'kb', component: () => import('./KbPage.vue'), meta: { title: '知识库' } }],
  menu: [{ path: 'kb', title: '知识库', roles: ['admin', 'ops', 'compliance'] }],
});
