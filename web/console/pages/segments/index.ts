import { defineArea } from '../../area';

export default defineArea({
  order: 110,
  group: '客户',
  routes: [
    { path: 'segments', component: () => import('./SegmentList.vue'), meta: { title: '客群' } },
    { path: 'segments/new', component: () => import('./SegmentEditor.vue'), meta: { title: '新建客群' } },
    { path: 'segments/:id', component: () => import('./SegmentEditor.vue'), meta: { title: '客群详情' } },
  ],
  menu: [{ path: 'segments', title: '客群', roles: ['admin', 'ops', 'compliance', 'branch_manager'] }],
});
