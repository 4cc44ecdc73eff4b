import { defineArea } from '../../area';

/** The WeCom callback inbox: every callback received, its processing status, retries and errors, live. */
export default defineArea({
  order: 920,
  group: '系统',
  routes: [{ path: 'inbox', component: () => import('./InboxPage.vue'), meta: { title: '企业微信回调' } }],
  menu: [{ path: 'inbox', title: '企业微信回调', roles: ['admin'] }],
});
