import { defineArea } from '../../area';

export default defineArea({
  order: 900,
  group: '系统',
  routes: [{ path: 'audit', component: () => import('./AuditLog.vue'), meta: { title: '审计日志' } }],
  menu: [{ path: 'audit', title: '审计日志', roles: ['admin', 'compliance'] }],
});
