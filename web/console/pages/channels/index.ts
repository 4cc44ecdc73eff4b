import { defineArea } from '../../area';

/** Channel QR codes (联系我): who they add, the state that attributes customers, and how many each brought. */
export default defineArea({
  order: 250,
  group: '渠道',
  routes: [{ path: 'channels', component: () => import('./ChannelsPage.vue'), meta: { title: '渠道活码' } }],
  menu: [{ path: 'channels', title: '渠道活码', roles: ['admin', 'ops'] }],
});
