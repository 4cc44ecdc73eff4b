import { expect } from 'chai';
import type { Sandbox } from './index.js';
import { ManualClock, startTestSandbox, TEST_CORP, WeComClient, type WeComBody } from './testing.js';

describe('the WeCom sandbox: welcome messages, mass sends, app messages and customer service', () => {
  let sandbox: Sandbox;
  let api: WeComClient;
  let clock: ManualClock;

  beforeEach(async () => {
    clock = new ManualClock();
    sandbox = await startTestSandbox({ now: clock.now });
    api = new WeComClient(sandbox);
    await api.token(); // before any clock moves, so tests can move time freely within the token's life
  });
  afterEach(() => sandbox.close());

  const welcome = { text: { content: '您好，我是星河银行客户经理张伟，很高兴为您服务。' } };

  describe('welcome messages', () => {
    it('accepts a welcome within 20 s of the add event, delivers it once and refuses a second send with 41051', async () => {
      const scan = sandbox.control.scanQr({ userid: 'ZhangWei', customer: { name: '林晓' } });
      expect(scan.welcomeCode).to.be.a('string');
      clock.advance(19_000);
      expect(await api.post('externalcontact/send_welcome_msg', { welcome_code: scan.welcomeCode, ...welcome })).to.deep.equal({ errcode: 0, errmsg: 'ok' });
      expect((await api.post('externalcontact/send_welcome_msg', { welcome_code: scan.welcomeCode, ...welcome })).errcode).to.equal(41051);
      const got = sandbox.control.received({ to: scan.externalUserid, kind: 'welcome' });
      expect(got).to.have.length(1);
      expect(got[0]).to.include({ from: 'ZhangWei', msgtype: 'text', ref: scan.welcomeCode });
    });

    it('refuses a welcome code after 20 s, or one never issued, with 41050', async () => {
      const scan = sandbox.control.scanQr({ userid: 'LiNa' });
      clock.advance(20_001);
      expect((await api.post('externalcontact/send_welcome_msg', { welcome_code: scan.welcomeCode, ...welcome })).errcode).to.equal(41050);
      expect((await api.post('externalcontact/send_welcome_msg', { welcome_code: 'forged', ...welcome })).errcode).to.equal(41050);
      expect((await api.post('externalcontact/send_welcome_msg', welcome)).errcode).to.equal(41049);
      expect(sandbox.control.received({ to: scan.externalUserid })).to.deep.equal([]);
    });

    it('refuses with 41051 once the chat has begun, and issues no code when it began before the event', async () => {
      const scan = sandbox.control.scanQr({ userid: 'LiNa' });
      sandbox.world.follow('LiNa', scan.externalUserid)!.chatStarted = true; // the member wrote first
      expect((await api.post('externalcontact/send_welcome_msg', { welcome_code: scan.welcomeCode, ...welcome })).errcode).to.equal(41051);
      expect(sandbox.control.scanQr({ userid: 'LiNa', chatStarted: true }).welcomeCode).to.equal(null);
    });

    it('checks the welcome content: length, attachment count and types', async () => {
      const code = () => sandbox.control.scanQr({ userid: 'WuTing' }).welcomeCode;
      expect((await api.post('externalcontact/send_welcome_msg', { welcome_code: code(), text: { content: '好'.repeat(1334) } })).errcode).to.equal(45002);
      const link = { msgtype: 'link', link: { title: '理财', url: 'https://bank.example/h5' } };
      expect((await api.post('externalcontact/send_welcome_msg', { welcome_code: code(), attachments: Array(10).fill(link) })).errcode).to.equal(40058);
      expect((await api.post('externalcontact/send_welcome_msg', { welcome_code: code(), attachments: [{ msgtype: 'voice', voice: {} }] })).errcode).to.equal(41065);
      expect((await api.post('externalcontact/send_welcome_msg', { welcome_code: code() })).errcode).to.equal(44004);
      expect((await api.post('externalcontact/send_welcome_msg', { welcome_code: code(), attachments: [link] })).errcode).to.equal(0);
    });
  });

  describe('mass sends', () => {
    it('sends nothing until the member confirms, then reports sent, not a friend and quota reached', async () => {
      const [a, b, c] = sandbox.world.followsOfUser('ZhangWei').map((f) => f.external_userid);
      sandbox.control.setReceivingQuota({ period: 'month', limit: 1 });
      // c already got this month's one corp message.
      const earlier = await api.post('externalcontact/add_msg_template', { external_userid: [c], sender: 'ZhangWei', text: { content: '十一月理财早报' } });
      sandbox.control.confirmMassSend({ msgid: earlier.msgid });

      const created = await api.post('externalcontact/add_msg_template', {
        chat_type: 'single', external_userid: [a, b, c, 'wmUnknownCustomer'], sender: 'ZhangWei', text: { content: '元旦假期网点营业时间调整通知' },
        attachments: [{ msgtype: 'image', image: { media_id: 'MEDIA1' } }],
      });
      expect(created.errcode).to.equal(0);
      expect(created.fail_list).to.deep.equal(['wmUnknownCustomer']);
      const { msgid } = created;
      expect((await api.post('externalcontact/get_groupmsg_task', { msgid })).task_list).to.deep.equal([{ userid: 'ZhangWei', status: 0 }]);
      const before = await api.post('externalcontact/get_groupmsg_send_result', { msgid, userid: 'ZhangWei' });
      expect(before.send_list.map((r: WeComBody) => r.status)).to.deep.equal([0, 0, 0]);
      expect(sandbox.control.received({ ref: msgid })).to.deep.equal([]);

      sandbox.control.customerDeletesMember({ userid: 'ZhangWei', externalUserid: b! });
      clock.advance(3600_000);
      sandbox.control.confirmMassSend({ msgid, userid: 'ZhangWei' });
      sandbox.control.confirmMassSend({ msgid, userid: 'ZhangWei' }); // a second confirmation delivers nothing more

      const task = (await api.post('externalcontact/get_groupmsg_task', { msgid })).task_list[0];
      expect(task).to.include({ userid: 'ZhangWei', status: 2, send_time: Math.floor(clock.ms / 1000) });
      const result = (await api.post('externalcontact/get_groupmsg_send_result', { msgid, userid: 'ZhangWei' })).send_list as WeComBody[];
      expect(result.map((r) => [r.external_userid, r.status])).to.deep.equal([[a, 1], [b, 2], [c, 3]]);
      expect(result[0]).to.include({ userid: 'ZhangWei', send_time: Math.floor(clock.ms / 1000) });
      expect(result[1]).to.not.have.property('send_time');
      expect(sandbox.control.received({ to: a!, ref: msgid })).to.have.length(1);
      expect(sandbox.control.received({ ref: msgid })).to.have.length(1);
      expect(sandbox.control.received({ to: c!, kind: 'mass' })).to.have.length(1);
    });

    it('counts the receiving quota per period: a new month frees it, a daily quota resets the next day', async () => {
      const [a] = sandbox.world.followsOfUser('WangFang').map((f) => f.external_userid);
      const send = async () => {
        const { msgid } = await api.post('externalcontact/add_msg_template', { external_userid: [a], sender: 'WangFang', text: { content: `提醒 ${clock.ms}` } });
        sandbox.control.confirmMassSend({ msgid });
        return (await api.post('externalcontact/get_groupmsg_send_result', { msgid, userid: 'WangFang' })).send_list[0].status as number;
      };
      const statuses = [await send(), await send(), await send(), await send(), await send()];
      expect(statuses, 'default: 4 per month').to.deep.equal([1, 1, 1, 1, 3]);
      clock.ms = Date.parse('2026-12-01T00:00:01+08:00');
      api.resetTokens();
      expect(await send()).to.equal(1);
      sandbox.control.setReceivingQuota({ period: 'day', limit: 1 });
      expect(await send()).to.equal(3);
      clock.ms = Date.parse('2026-12-02T00:00:01+08:00');
      api.resetTokens();
      expect(await send()).to.equal(1);
    });

    it('fills a task from the sender’s customers and a tag filter, and refuses when nobody is left (41048)', async () => {
      const follows = sandbox.world.followsOfUser('SunHao');
      const tag = follows[0]!.tagIds[0]!;
      const created = await api.post('externalcontact/add_msg_template', { sender: 'SunHao', tag_filter: { group_list: [{ tag_list: [tag] }] }, text: { content: '分层客户专享' } });
      const expected = follows.filter((f) => f.tagIds.includes(tag)).map((f) => f.external_userid);
      const rows = (await api.post('externalcontact/get_groupmsg_send_result', { msgid: created.msgid, userid: 'SunHao' })).send_list as WeComBody[];
      expect(rows.map((r) => r.external_userid)).to.deep.equal(expected);
      const none = await api.post('externalcontact/add_msg_template', { external_userid: ['wmNobody'], text: { content: 'x' } });
      expect(none).to.include({ errcode: 41048 });
      expect(none.fail_list).to.deep.equal(['wmNobody']);
      expect((await api.post('externalcontact/add_msg_template', { external_userid: Array(10_001).fill('wm'), text: { content: 'x' } })).errcode).to.equal(40058);
    });

    it('lists tasks, allows three reminders a day and lets a cancelled task no longer be confirmed', async () => {
      const [a] = sandbox.world.followsOfUser('LiNa').map((f) => f.external_userid);
      const { msgid } = await api.post('externalcontact/add_msg_template', { external_userid: [a], sender: 'LiNa', text: { content: '基金定投提醒' } });
      const now = Math.floor(clock.ms / 1000);
      const list = await api.post('externalcontact/get_groupmsg_list_v2', { chat_type: 'single', start_time: now - 3600, end_time: now + 3600 });
      expect(list.group_msg_list).to.have.length(1);
      expect(list.group_msg_list[0]).to.include({ msgid, create_time: String(now), create_type: 0 });
      expect(list.group_msg_list[0]).to.not.have.property('creator');
      expect((await api.post('externalcontact/get_groupmsg_list_v2', { chat_type: 'single', start_time: now - 40 * 86400, end_time: now })).errcode).to.equal(40058);
      for (let i = 0; i < 3; i++) expect((await api.post('externalcontact/remind_groupmsg_send', { msgid })).errcode).to.equal(0);
      expect((await api.post('externalcontact/remind_groupmsg_send', { msgid })).errcode).to.equal(45009);
      clock.advance(24 * 3600_000 + 1000);
      api.resetTokens();
      expect((await api.post('externalcontact/remind_groupmsg_send', { msgid })).errcode).to.equal(0);
      expect((await api.post('externalcontact/cancel_groupmsg_send', { msgid })).errcode).to.equal(0);
      expect(() => sandbox.control.confirmMassSend({ msgid })).to.throw(/cancelled/);
      expect((await api.post('externalcontact/get_groupmsg_task', { msgid: 'msgNope' })).errcode).to.equal(41047);
      expect((await api.post('externalcontact/get_groupmsg_task', {})).errcode).to.equal(41046);
    });

    it('leaves an ignored task unsent and sends group messages to the sender’s groups', async () => {
      const [a] = sandbox.world.followsOfUser('ZhaoMin').map((f) => f.external_userid);
      const { msgid } = await api.post('externalcontact/add_msg_template', { external_userid: [a], sender: 'ZhaoMin', text: { content: '信用卡权益' } });
      sandbox.control.ignoreMassSend({ msgid });
      expect((await api.post('externalcontact/get_groupmsg_task', { msgid })).task_list[0].status).to.equal(0);
      expect(sandbox.control.received({ ref: msgid })).to.deep.equal([]);

      const owned = [...sandbox.world.groupChats.values()].filter((g) => g.owner === 'ZhangWei');
      expect((await api.post('externalcontact/add_msg_template', { chat_type: 'group', text: { content: 'x' } })).errcode, 'group sends need a sender').to.equal(40058);
      const group = await api.post('externalcontact/add_msg_template', { chat_type: 'group', sender: 'ZhangWei', text: { content: '沙龙报名开始' } });
      sandbox.control.confirmMassSend({ msgid: group.msgid });
      const rows = (await api.post('externalcontact/get_groupmsg_send_result', { msgid: group.msgid, userid: 'ZhangWei' })).send_list as WeComBody[];
      expect(rows.map((r) => r.chat_id)).to.deep.equal(owned.map((g) => g.chat_id));
      expect(rows.every((r) => r.status === 1)).to.equal(true);
    });
  });

  describe('app messages', () => {
    it('records app messages per member, reports invalid users and drops those over 30 a minute', async () => {
      clock.ms = Math.ceil(clock.ms / 60_000) * 60_000;
      const send = (content: string, touser = 'ZhangWei|Ghost') => api.post('message/send', { touser, msgtype: 'text', agentid: TEST_CORP.agentId, text: { content } });
      const first = await send('您有3条待跟进客户提醒');
      expect(first).to.include({ errcode: 0, invaliduser: 'ghost', invalidparty: '', invalidtag: '' });
      expect(first.msgid).to.be.a('string');
      for (let i = 1; i < 31; i++) await send(`提醒 ${i}`, 'ZhangWei');
      expect(sandbox.control.received({ to: 'ZhangWei', kind: 'app' })).to.have.length(30);
      expect(sandbox.world.droppedAppMessages).to.have.length(1);
      const all = await send('全员通知', '@all');
      expect(all.errcode).to.equal(0);
      expect(sandbox.control.received({ to: 'WuTing', kind: 'app' })).to.have.length(1);
      expect((await send('x', 'Ghost')).errcode).to.equal(81013);
      expect((await api.post('message/send', { touser: 'LiNa', msgtype: 'text', agentid: 999, text: { content: 'x' } })).errcode).to.equal(40056);
      expect((await api.post('message/send', { touser: 'LiNa', msgtype: 'fax', agentid: TEST_CORP.agentId, fax: {} })).errcode).to.equal(40008);
      expect((await api.post('message/send', { touser: 'LiNa', msgtype: 'text', agentid: TEST_CORP.agentId, text: { content: 'x'.repeat(2049) } })).errcode).to.equal(45002);
    });

    it('skips a duplicate within the check interval when duplicate checking is on', async () => {
      const body = { touser: 'LiNa', msgtype: 'textcard', agentid: TEST_CORP.agentId, enable_duplicate_check: 1, textcard: { title: 'SOP任务到期', description: '李梅的回访任务今日到期', url: 'https://bank.example/h5/sop/88' } };
      await api.post('message/send', body);
      await api.post('message/send', body);
      expect(sandbox.control.received({ to: 'LiNa' })).to.have.length(1);
      clock.advance(1801_000);
      await api.post('message/send', body);
      expect(sandbox.control.received({ to: 'LiNa' })).to.have.length(2);
    });
  });

  describe('WeChat customer service', () => {
    const openKfid = () => sandbox.world.kfAccounts[0]!.open_kfid;
    const reply = (touser: string, content = '您好，请问有什么可以帮您？') => api.post('kf/send_msg', { touser, open_kfid: openKfid(), msgtype: 'text', text: { content } });

    it('lets the product pull customer messages with the callback token and a cursor', async () => {
      const first = sandbox.control.kfCustomerMessage({ text: '你好，想问一下大额存单利率' });
      sandbox.control.kfCustomerMessage({ externalUserid: first.externalUserid, text: '三年期的' });
      const synced = await api.post('kf/sync_msg', { token: first.token, open_kfid: openKfid(), limit: 1 });
      expect(synced).to.include({ errcode: 0, has_more: 1 });
      expect(synced.msg_list[0]).to.include({ msgid: first.msgid, open_kfid: openKfid(), external_userid: first.externalUserid, origin: 3, msgtype: 'text' });
      expect(synced.msg_list[0].text.content).to.equal('你好，想问一下大额存单利率');
      const rest = await api.post('kf/sync_msg', { cursor: synced.next_cursor, token: first.token });
      expect(rest.has_more).to.equal(0);
      expect(rest.msg_list.map((m: WeComBody) => m.text.content)).to.deep.equal(['三年期的']);
      const none = await api.post('kf/sync_msg', { cursor: rest.next_cursor });
      expect(none.msg_list).to.deep.equal([]);
      expect(none.next_cursor, 'the cursor stays at the end').to.equal(rest.next_cursor);
      expect((await api.post('kf/sync_msg', { token: 'ENCAforged' })).errcode).to.equal(95007);
      clock.advance(10 * 60_000 + 1);
      expect((await api.post('kf/sync_msg', { token: first.token })).errcode, 'the token lives 10 minutes').to.equal(95007);
      expect((await api.post('kf/sync_msg', { limit: 1001 })).errcode).to.equal(40058);
    });

    it('allows at most five replies until the customer writes again (95001)', async () => {
      const { externalUserid } = sandbox.control.kfCustomerMessage({ text: '在吗' });
      for (let i = 0; i < 5; i++) expect((await reply(externalUserid)).errcode).to.equal(0);
      expect((await reply(externalUserid)).errcode).to.equal(95001);
      sandbox.control.kfCustomerMessage({ externalUserid, text: '好的谢谢' });
      expect((await reply(externalUserid)).errcode).to.equal(0);
      expect(sandbox.control.received({ to: externalUserid, kind: 'kf' })).to.have.length(6);
    });

    it('refuses replies when the session is queued or with a person (95018) and after 48 h (95002)', async () => {
      const { externalUserid } = sandbox.control.kfCustomerMessage({ text: '转人工' });
      expect((await api.post('kf/service_state/get', { open_kfid: openKfid(), external_userid: externalUserid })).service_state).to.equal(0);
      const queued = await api.post('kf/service_state/trans', { open_kfid: openKfid(), external_userid: externalUserid, service_state: 2 });
      expect(queued.msg_code).to.be.a('string');
      expect((await reply(externalUserid)).errcode).to.equal(95018);
      expect((await api.post('kf/service_state/trans', { open_kfid: openKfid(), external_userid: externalUserid, service_state: 1 })).errcode).to.equal(95016);
      expect((await api.post('kf/service_state/trans', { open_kfid: openKfid(), external_userid: externalUserid, service_state: 3, servicer_userid: 'Ghost' })).errcode).to.equal(95014);
      expect((await api.post('kf/service_state/trans', { open_kfid: openKfid(), external_userid: externalUserid, service_state: 3, servicer_userid: 'LiNa' })).errcode).to.equal(0);
      expect(await api.post('kf/service_state/get', { open_kfid: openKfid(), external_userid: externalUserid })).to.include({ service_state: 3, servicer_userid: 'LiNa' });
      expect((await reply(externalUserid)).errcode).to.equal(95018);

      const other = sandbox.control.kfCustomerMessage({ text: '你好' });
      clock.advance(48 * 3600_000 + 1000);
      api.resetTokens();
      expect((await reply(other.externalUserid)).errcode).to.equal(95002);
      expect((await api.post('kf/send_msg', { touser: other.externalUserid, open_kfid: 'wkUnknownAccount', msgtype: 'text', text: { content: 'x' } })).errcode).to.equal(95004);
    });

    it('sends one welcome on entering a session with the event’s code', async () => {
      const entered = sandbox.control.kfEnterSession({ scene: 'wealth_h5', sceneParam: 'campaign%3D520' });
      const events = (await api.post('kf/sync_msg', { token: entered.token })).msg_list as WeComBody[];
      const event = events.find((m) => m.msgtype === 'event')!;
      expect(event).to.not.have.property('open_kfid');
      expect(event.event).to.include({ event_type: 'enter_session', external_userid: entered.externalUserid, scene: 'wealth_h5', welcome_code: entered.welcomeCode });
      const body = { code: entered.welcomeCode, msgtype: 'text', text: { content: '欢迎咨询星河银行' } };
      expect((await api.post('kf/send_msg_on_event', body)).errcode).to.equal(0);
      expect((await api.post('kf/send_msg_on_event', body)).errcode).to.equal(40058);
      expect(sandbox.control.received({ to: entered.externalUserid, kind: 'kf' })).to.have.length(1);
    });
  });
});
