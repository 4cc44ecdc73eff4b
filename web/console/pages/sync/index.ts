import { defineArea } from '../../area';

/** WeCom data sync: start a full reconcile, follow it live, read the last runs with what they repaired and why one failed. */
export default defineArea({
  order: 925,
  group: '系统',
  routes: [{ path: 'sync', component: () => import('./SyncPage.vue'), meta: { title: '企业微信同步' } }],
  menu: [{ path: 'sync', title: '企业微信同步', roles: ['admin'] }],
});
