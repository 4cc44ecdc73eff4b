import { expect } from 'chai';
import type { Sandbox } from './index.js';
import { ManualClock, startTestSandbox, WeComClient, type WeComBody } from './testing.js';

describe('the WeCom sandbox: customers, tags and contact ways', () => {
  let sandbox: Sandbox;
  let api: WeComClient;
  let clock: ManualClock;
  const allMembers = () => [...sandbox.world.members.keys()];
  const customerOf = (userid: string, n = 0) => sandbox.world.followsOfUser(userid)[n]!.external_userid;

  beforeEach(async () => {
    clock = new ManualClock();
    sandbox = await startTestSandbox({ now: clock.now });
    api = new WeComClient(sandbox);
  });
  afterEach(() => sandbox.close());

  async function allPages(limit: number): Promise<WeComBody[]> {
    const rows: WeComBody[] = [];
    let cursor = '';
    do {
      const page = await api.post('externalcontact/batch/get_by_user', { userid_list: allMembers(), cursor, limit });
      expect(page.errcode).to.equal(0);
      rows.push(...page.external_contact_list);
      cursor = page.next_cursor;
    } while (cursor);
    return rows;
  }

  describe('batch/get_by_user', () => {
    it('pages through every follow relation once, one row per customer and follower', async () => {
      const rows = await allPages(37);
      expect(rows).to.have.length(sandbox.world.follows.size);
      const keys = rows.map((r) => `${r.follow_info.userid}/${r.external_contact.external_userid}`);
      expect(new Set(keys).size).to.equal(rows.length);
      const first = rows[0]!;
      expect(Object.keys(first.external_contact)).to.include.members(['external_userid', 'name', 'type', 'gender']);
      expect(first.follow_info.tag_id).to.be.an('array');
      expect(first.follow_info).to.not.have.property('tags');
    });

    it('keeps a cursor valid while relations are added and removed between pages', async () => {
      const page1 = await api.post('externalcontact/batch/get_by_user', { userid_list: allMembers(), limit: 50 });
      const seen = page1.external_contact_list.map((r: WeComBody) => r.external_contact.external_userid);
      // Between pages: a relation already returned goes away, and a new customer arrives.
      const gone = sandbox.world.follows.values().next().value!;
      sandbox.control.driftDeleteFollow({ userid: gone.userid, externalUserid: gone.external_userid });
      const added = sandbox.control.driftAddContact({ userid: 'ZhangWei', customer: { name: '新客户' } });
      let cursor = page1.next_cursor as string;
      const later: string[] = [];
      while (cursor) {
        const page = await api.post('externalcontact/batch/get_by_user', { userid_list: allMembers(), cursor, limit: 50 });
        later.push(...page.external_contact_list.map((r: WeComBody) => r.external_contact.external_userid as string));
        cursor = page.next_cursor;
      }
      expect(later.filter((id) => seen.includes(id)), 'no row repeats').to.deep.equal([]);
      expect(later.at(-1)).to.equal(added.externalUserid);
      expect(seen.length + later.length).to.equal(sandbox.world.follows.size + 1);
    });

    it('refuses more than 100 userids, serves limits above 100 as 100 and rejects a forged cursor', async () => {
      const many = Array.from({ length: 101 }, (_, i) => `u${i}`);
      const tooMany = await api.post('externalcontact/batch/get_by_user', { userid_list: many });
      expect(tooMany.errcode).to.equal(40058);
      expect(tooMany.external_contact_list).to.deep.equal([]);
      for (let i = 0; i < 30; i++) sandbox.control.driftAddContact({ userid: 'ZhouJie' });
      expect(sandbox.world.follows.size).to.be.greaterThan(100);
      const big = await api.post('externalcontact/batch/get_by_user', { userid_list: allMembers(), limit: 500 });
      expect(big.external_contact_list).to.have.length(100);
      expect((await api.post('externalcontact/batch/get_by_user', { userid_list: allMembers() })).external_contact_list).to.have.length(50);
      expect((await api.post('externalcontact/batch/get_by_user', { userid_list: allMembers(), cursor: 'forged' })).errcode).to.equal(40058);
      expect((await api.post('externalcontact/batch/get_by_user', {})).errcode).to.equal(40058);
    });
  });

  describe('externalcontact/get, list and remark', () => {
    it('serves a customer with corp tag names and the follow fields of SHAPES §3.1', async () => {
      const follow = sandbox.world.followsOfUser('ZhangWei').find((f) => f.state)!;
      const r = await api.get('externalcontact/get', { external_userid: follow.external_userid });
      expect(r.errcode).to.equal(0);
      expect(r.next_cursor).to.equal('');
      const fu = r.follow_user[0];
      expect(fu).to.include({ userid: 'ZhangWei', remark: follow.remark, createtime: follow.createtime, state: follow.state, add_way: follow.add_way });
      const tier = fu.tags.find((t: WeComBody) => t.group_name === '客户分层');
      expect(tier).to.include({ type: 1 });
      expect(tier.tag_id).to.match(/^et[A-Za-z0-9]{30}$/);
      expect(['大众客户', '潜力客户', '财富客户', '私行客户']).to.include(tier.tag_name);
    });

    it('answers 40096 for an unknown id and 84061 once no member follows the customer', async () => {
      const unknown = await api.get('externalcontact/get', { external_userid: 'wmDoesNotExist' });
      expect(unknown).to.include({ errcode: 40096 });
      expect(unknown.follow_user).to.deep.equal([]);
      expect((await api.get('externalcontact/get')).errcode).to.equal(41035);
      const id = customerOf('LiNa');
      sandbox.control.customerDeletesMember({ userid: 'LiNa', externalUserid: id });
      const gone = await api.get('externalcontact/get', { external_userid: id });
      expect(gone.errcode).to.equal(84061);
      expect(gone.errmsg).to.match(/^not external contact, hint/);
      expect(gone.follow_user).to.deep.equal([]);
    });

    it('lists a member’s customers and answers 60111 for an unknown member', async () => {
      const r = await api.get('externalcontact/list', { userid: 'WuTing' });
      expect(r.external_userid).to.have.members(sandbox.world.followsOfUser('WuTing').map((f) => f.external_userid));
      expect((await api.get('externalcontact/list', { userid: 'Ghost' })).errcode).to.equal(60111);
    });

    it('changes remark, description and mobiles within the documented lengths, without a callback', async () => {
      const id = customerOf('ZhaoMin');
      const ok = await api.post('externalcontact/remark', { userid: 'ZhaoMin', external_userid: id, remark: '代发客户', description: '每月15日代发', remark_mobiles: ['13900000002'] });
      expect(ok).to.deep.equal({ errcode: 0, errmsg: 'ok' });
      expect(sandbox.world.follow('ZhaoMin', id)).to.include({ remark: '代发客户', description: '每月15日代发' });
      expect(sandbox.world.follow('ZhaoMin', id)!.remark_mobiles).to.deep.equal(['13900000002']);
      expect((await api.post('externalcontact/remark', { userid: 'ZhaoMin', external_userid: id, remark: '一二三四五六七八九十一二三四五六七八九十一' })).errcode).to.equal(40058);
      expect((await api.post('externalcontact/remark', { userid: 'ZhaoMin', external_userid: id })).errcode).to.equal(40058);
      expect((await api.post('externalcontact/remark', { userid: 'WuTing', external_userid: id, remark: 'x' })).errcode).to.equal(84061);
      expect(sandbox.world.follow('ZhaoMin', id)!.remark).to.equal('代发客户');
      expect(sandbox.control.deliveries()).to.deep.equal([]);
    });
  });

  describe('corp tags', () => {
    it('creates, lists, edits and deletes corp tags, and marks them on customers', async () => {
      const created = await api.post('externalcontact/add_corp_tag', { group_name: '活动', order: 5, tag: [{ name: '五一理财节' }, { name: '五一理财节' }, { name: '养老金开户季', order: 2 }] });
      expect(created.errcode).to.equal(0);
      const group = created.tag_group;
      expect(group).to.include({ group_name: '活动', order: 5 });
      expect(group.tag.map((t: WeComBody) => t.name), 'duplicate names collapse').to.deep.equal(['五一理财节', '养老金开户季']);
      const [festival, pension] = group.tag as WeComBody[];

      const byGroup = await api.post('externalcontact/get_corp_tag_list', { group_id: [group.group_id] });
      expect(byGroup.tag_group[0]).to.include({ group_id: group.group_id, deleted: false });
      expect(byGroup.tag_group[0].tag.map((t: WeComBody) => t.name), 'bigger order first').to.deep.equal(['养老金开户季', '五一理财节']);
      const all = await api.post('externalcontact/get_corp_tag_list', {});
      expect(all.tag_group.map((g: WeComBody) => g.group_name)).to.include('活动');
      expect(all.tag_group[0]).to.not.have.property('deleted');

      expect((await api.post('externalcontact/edit_corp_tag', { id: festival!.id, name: '五一理财季', order: 9 })).errcode).to.equal(0);
      expect((await api.post('externalcontact/edit_corp_tag', { id: festival!.id, name: '养老金开户季' })).errcode, 'name taken in the group').to.equal(40071);
      expect((await api.post('externalcontact/add_corp_tag', { group_id: group.group_id, tag: [{ name: '养老金开户季' }] })).errcode).to.equal(40071);

      const id = customerOf('ZhangWei');
      expect((await api.post('externalcontact/mark_tag', { userid: 'ZhangWei', external_userid: id, add_tag: [festival!.id, pension!.id] })).errcode).to.equal(0);
      let tags = (await api.get('externalcontact/get', { external_userid: id })).follow_user[0].tags.map((t: WeComBody) => t.tag_name);
      expect(tags).to.include.members(['五一理财季', '养老金开户季']);

      expect((await api.post('externalcontact/del_corp_tag', { tag_id: [festival!.id] })).errcode).to.equal(0);
      tags = (await api.get('externalcontact/get', { external_userid: id })).follow_user[0].tags.map((t: WeComBody) => t.tag_name);
      expect(tags).to.include('养老金开户季').and.not.include('五一理财季');
      const deleted = await api.post('externalcontact/get_corp_tag_list', { tag_id: [festival!.id] });
      expect(deleted.tag_group[0].tag[0]).to.include({ id: festival!.id, deleted: true });

      // Deleting the last tag of a group deletes the group.
      expect((await api.post('externalcontact/del_corp_tag', { tag_id: [pension!.id] })).errcode).to.equal(0);
      const after = await api.post('externalcontact/get_corp_tag_list', {});
      expect(after.tag_group.map((g: WeComBody) => g.group_name)).to.not.include('活动');
      expect(sandbox.control.deliveries(), 'API-made changes raise no callback').to.deep.equal([]);
    });

    it('answers 40068 for an unknown tag and 84061 when the member does not follow the customer', async () => {
      const id = customerOf('ZhangWei');
      const tag = sandbox.world.tagGroups[0]!.tag[0]!.id;
      expect((await api.post('externalcontact/mark_tag', { userid: 'ZhangWei', external_userid: id, add_tag: ['etNoSuchTag'] })).errcode).to.equal(40068);
      expect((await api.post('externalcontact/mark_tag', { userid: 'WuTing', external_userid: id, add_tag: [tag] })).errcode).to.equal(84061);
      expect((await api.post('externalcontact/mark_tag', { userid: 'ZhangWei', external_userid: id })).errcode).to.equal(40058);
      expect((await api.post('externalcontact/mark_tag', { userid: 'ZhangWei', external_userid: id, remove_tag: [tag] })).errcode).to.equal(0);
      expect(sandbox.world.follow('ZhangWei', id)!.tagIds).to.not.include(tag);
      expect((await api.post('externalcontact/del_corp_tag', { tag_id: ['etNoSuchTag'] })).errcode).to.equal(40068);
      expect((await api.post('externalcontact/del_corp_tag', {})).errcode).to.equal(41017);
      expect((await api.post('externalcontact/add_corp_tag', { group_name: 'x'.repeat(31), tag: [{ name: 'a' }] })).errcode).to.equal(40058);
    });

    it('lets the app change only tags it created unless the world allows more', async () => {
      const consoleTag = sandbox.world.tagGroups[0]!.tag[0]!;
      expect((await api.post('externalcontact/edit_corp_tag', { id: consoleTag.id, name: '普通客户' })).errcode).to.equal(60011);
      expect((await api.post('externalcontact/del_corp_tag', { group_id: [sandbox.world.tagGroups[0]!.group_id] })).errcode).to.equal(60011);
      sandbox.control.configure({ tagsEditableOnlyByCreator: false });
      expect((await api.post('externalcontact/edit_corp_tag', { id: consoleTag.id, name: '普通客户' })).errcode).to.equal(0);
      expect(consoleTag.name).to.equal('普通客户');
    });

    it('refuses tags beyond the corp limit with 40126', async () => {
      sandbox.control.configure({ corpTagLimit: sandbox.world.liveTagCount() + 1 });
      expect((await api.post('externalcontact/add_corp_tag', { group_name: '限额', tag: [{ name: 'a' }, { name: 'b' }] })).errcode).to.equal(40126);
      expect((await api.post('externalcontact/add_corp_tag', { group_name: '限额', tag: [{ name: 'a' }] })).errcode).to.equal(0);
    });
  });

  describe('contact ways', () => {
    it('creates, reads, updates and deletes a contact way, and a scan of it carries its state', async () => {
      const created = await api.post('externalcontact/add_contact_way', { type: 1, scene: 2, remark: '西湖支行大堂', state: 'branch-xihu-01', user: ['LiNa'] });
      expect(created.errcode).to.equal(0);
      expect(created.config_id).to.match(/^[0-9a-f]{32}$/);
      expect(created.qr_code).to.match(/^https:\/\/wework\.qpic\.cn\//);
      const got = await api.post('externalcontact/get_contact_way', { config_id: created.config_id });
      expect(got.contact_way).to.include({ config_id: created.config_id, type: 1, scene: 2, state: 'branch-xihu-01', skip_verify: true, is_temp: false });
      expect(got.contact_way.user).to.deep.equal(['LiNa']);

      expect((await api.post('externalcontact/update_contact_way', { config_id: created.config_id, state: 'branch-xihu-02', user: ['LiuQiang'] })).errcode).to.equal(0);
      const scan = sandbox.control.scanQr({ configId: created.config_id, customer: { name: '韩梅' } });
      expect(scan).to.include({ userid: 'LiuQiang', state: 'branch-xihu-02' });
      expect(sandbox.world.follow('LiuQiang', scan.externalUserid)).to.include({ state: 'branch-xihu-02', add_way: 1 });

      const listed = await api.post('externalcontact/list_contact_way', {});
      expect(listed.contact_way).to.deep.equal([{ config_id: created.config_id }]);
      expect((await api.post('externalcontact/del_contact_way', { config_id: created.config_id })).errcode).to.equal(0);
      expect((await api.post('externalcontact/get_contact_way', { config_id: created.config_id })).errcode).to.equal(41044);
    });

    it('answers the documented codes for missing and invalid fields', async () => {
      const add = (body: WeComBody) => api.post('externalcontact/add_contact_way', body).then((r) => r.errcode as number);
      expect(await add({ scene: 2, user: ['LiNa'] })).to.equal(41037);
      expect(await add({ type: 1, user: ['LiNa'] })).to.equal(41038);
      expect(await add({ type: 3, scene: 2, user: ['LiNa'] })).to.equal(41039);
      expect(await add({ type: 1, scene: 5, user: ['LiNa'] })).to.equal(41040);
      expect(await add({ type: 1, scene: 1, style: 9, user: ['LiNa'] })).to.equal(41042);
      expect(await add({ type: 1, scene: 2, user: ['LiNa'], state: 's'.repeat(31) })).to.equal(40058);
      expect(await add({ type: 1, scene: 2, user: ['LiNa'], state: 's'.repeat(30) })).to.equal(0);
      expect(await add({ type: 1, scene: 2, user: ['LiNa', 'LiuQiang'] })).to.equal(40058);
      expect(await add({ type: 2, scene: 2, party: [3] })).to.equal(0);
      expect((await api.post('externalcontact/get_contact_way', {})).errcode).to.equal(41043);
      expect((await api.post('externalcontact/get_contact_way', { config_id: 'nope' })).errcode).to.equal(41044);
      const consoleWay = [...sandbox.world.contactWays.values()].find((w) => !w.viaApi)!;
      expect((await api.post('externalcontact/get_contact_way', { config_id: consoleWay.config_id })).errcode, 'console-made ways are not visible to the API').to.equal(41044);
      sandbox.control.configure({ contactWayLimit: 2 });
      expect(await add({ type: 1, scene: 2, user: ['LiNa'] })).to.equal(41045);
    });

    it('expires a temporary contact way after its expires_in', async () => {
      const created = await api.post('externalcontact/add_contact_way', { type: 1, scene: 2, user: ['SunHao'], is_temp: true, expires_in: 3600 });
      const got = await api.post('externalcontact/get_contact_way', { config_id: created.config_id });
      expect(got.contact_way).to.include({ is_temp: true, expires_in: 3600, chat_expires_in: 86400 });
      clock.advance(3601_000);
      expect((await api.post('externalcontact/get_contact_way', { config_id: created.config_id })).errcode).to.equal(41044);
      expect((await api.post('externalcontact/add_contact_way', { type: 1, scene: 2, user: ['SunHao'], is_temp: true, expires_in: 15 * 86400 })).errcode).to.equal(40058);
    });
  });

  describe('customer groups', () => {
    it('lists groups with paging and owner filter, and reads one with member names on request', async () => {
      expect((await api.post('externalcontact/groupchat/list', {})).errcode, 'limit is required').to.equal(40058);
      const first = await api.post('externalcontact/groupchat/list', { limit: 4 });
      const second = await api.post('externalcontact/groupchat/list', { limit: 100, cursor: first.next_cursor });
      expect(first.group_chat_list.length + second.group_chat_list.length).to.equal(10);
      expect(second.next_cursor).to.equal('');
      const owned = await api.post('externalcontact/groupchat/list', { limit: 100, owner_filter: { userid_list: ['ZhangWei'] } });
      expect(owned.group_chat_list.length).to.be.greaterThan(0);
      const chatId = owned.group_chat_list[0].chat_id;
      const withNames = await api.post('externalcontact/groupchat/get', { chat_id: chatId, need_name: 1 });
      const chat = withNames.group_chat;
      expect(chat).to.include({ chat_id: chatId, owner: 'ZhangWei', notice: '理财有风险，投资需谨慎' });
      expect(chat.member_version).to.match(/^[0-9a-f]{32}$/);
      expect(chat.member_list[0]).to.include({ userid: 'ZhangWei', type: 1, name: '张伟' });
      expect(chat.member_list.some((m: WeComBody) => m.type === 2)).to.equal(true);
      const noNames = await api.post('externalcontact/groupchat/get', { chat_id: chatId });
      expect(noNames.group_chat.member_list[0]).to.not.have.property('name');
      expect((await api.post('externalcontact/groupchat/get', { chat_id: 'wrNope' })).errcode).to.equal(40050);
    });
  });

  describe('on-job transfer', () => {
    it('starts a transfer, reports it waiting, and hands the customer over after 24 h', async () => {
      const id = customerOf('ZhangWei');
      const started = await api.post('externalcontact/transfer_customer', { handover_userid: 'ZhangWei', takeover_userid: 'WangFang', external_userid: [id, 'wmNotMine'], transfer_success_msg: '您好，后续由王芳为您服务。' });
      expect(started.customer).to.deep.equal([{ external_userid: id, errcode: 0 }, { external_userid: 'wmNotMine', errcode: 40131 }]);
      const again = await api.post('externalcontact/transfer_customer', { handover_userid: 'ZhangWei', takeover_userid: 'WangFang', external_userid: [id] });
      expect(again.customer[0].errcode).to.equal(40129);
      const waiting = await api.post('externalcontact/transfer_result', { handover_userid: 'ZhangWei', takeover_userid: 'WangFang' });
      expect(waiting.customer[0]).to.include({ external_userid: id, status: 2 });
      clock.advance(24 * 3600_000);
      api.resetTokens();
      const done = await api.post('externalcontact/transfer_result', { handover_userid: 'ZhangWei', takeover_userid: 'WangFang' });
      expect(done.customer[0]).to.include({ status: 1 });
      expect(sandbox.world.follow('ZhangWei', id)).to.equal(undefined);
      expect(sandbox.world.follow('WangFang', id)).to.include({ add_way: 202, oper_userid: 'ZhangWei' });
      expect(sandbox.control.received({ to: id, kind: 'transfer' })).to.have.length(1);
      const [event] = sandbox.control.deliveries({ changeType: 'del_external_contact' });
      expect(event!.fields).to.include({ UserID: 'ZhangWei', ExternalUserID: id, Source: 'DELETE_BY_TRANSFER' });
    });
  });
});
