import { defineArea } from '../../area';

export default defineArea({
  order: 300,
  group: '内容',
  routes: [{ path: 'materials', component: () => import('./MaterialsPage.vue'), meta: { title: '素材库' } }],
  menu: [{ path: 'materials', title: '素材库', roles: ['admin', 'ops', 'compliance'] }],
});
