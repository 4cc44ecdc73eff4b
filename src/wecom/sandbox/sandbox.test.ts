import { expect } from 'chai';
import { DEMO_STAFF } from '../../demo/branches.js';
import { generateCustomers } from '../../demo/synthetic.js';
import type { Sandbox } from './index.js';
import { ManualClock, startTestSandbox, TEST_CORP, WeComClient } from './testing.js';

describe('the WeCom sandbox: tokens, quotas, faults, OAuth and the directory', () => {
  let sandbox: Sandbox;
  let clock: ManualClock;
  let api: WeComClient;

  beforeEach(async () => {
    clock = new ManualClock();
    sandbox = await startTestSandbox({ now: clock.now });
    api = new WeComClient(sandbox);
  });
  afterEach(() => sandbox.close());

  describe('access tokens', () => {
    it('issues a separate token for each secret and rejects a bad secret, corp id or missing parameter', async () => {
      const agent = await api.raw('GET', `gettoken?corpid=${TEST_CORP.corpId}&corpsecret=${TEST_CORP.agentSecret}`);
      const contact = await api.raw('GET', `gettoken?corpid=${TEST_CORP.corpId}&corpsecret=${TEST_CORP.contactSecret}`);
      expect(agent).to.include({ errcode: 0, errmsg: 'ok', expires_in: 7200 });
      expect(agent.access_token).to.be.a('string').and.not.equal(contact.access_token);
      const badSecret = await api.raw('GET', `gettoken?corpid=${TEST_CORP.corpId}&corpsecret=nope`);
      expect(badSecret.errcode).to.equal(40001);
      expect(badSecret.errmsg).to.match(/^invalid credential, hint: \[\d+\], from ip: 127\.0\.0\.1, more info at https:\/\/open\.work\.weixin\.qq\.com\/devtool\/query\?e=40001$/);
      expect((await api.raw('GET', `gettoken?corpid=wwother&corpsecret=${TEST_CORP.agentSecret}`)).errcode).to.equal(40013);
      expect((await api.raw('GET', `gettoken?corpsecret=${TEST_CORP.agentSecret}`)).errcode).to.equal(41002);
      expect((await api.raw('GET', `gettoken?corpid=${TEST_CORP.corpId}`)).errcode).to.equal(41004);
    });

    it('answers 41001 without a token, 40014 for an unknown one and 42001 once the token has expired', async () => {
      expect((await api.raw('GET', 'department/list')).errcode).to.equal(41001);
      const invalid = await api.raw('GET', 'department/list?access_token=forged');
      expect(invalid.errcode).to.equal(40014);
      expect(invalid.errmsg).to.match(/^invalid access_token, hint: \[/);
      expect((await api.get('department/list')).errcode).to.equal(0);
      clock.advance(7199_000);
      expect((await api.get('department/list')).errcode).to.equal(0);
      clock.advance(1000);
      expect((await api.get('department/list')).errcode).to.equal(42001);
    });

    it('keeps an earlier token valid until its own expiry after a new one is issued', async () => {
      const first = await api.token();
      clock.advance(3600_000);
      const second = await new WeComClient(sandbox).token();
      expect(second).to.not.equal(first);
      expect((await api.raw('GET', `department/list?access_token=${first}`)).errcode).to.equal(0);
      clock.advance(3600_000);
      expect((await api.raw('GET', `department/list?access_token=${first}`)).errcode).to.equal(42001);
      expect((await api.raw('GET', `department/list?access_token=${second}`)).errcode).to.equal(0);
    });

    it('expires every token at once through the control API', async () => {
      await api.token();
      await api.token('contact');
      const expired = await (await fetch(`${sandbox.url}/sandbox/tokens/expire`, { method: 'POST' })).json();
      expect(expired).to.deep.equal({ expired: 2 });
      expect((await api.get('department/list')).errcode).to.equal(42001);
      expect((await api.get('department/list', {}, 'contact')).errcode).to.equal(42001);
    });

    it('refuses app-only APIs to the contact-sync secret and user/list_id to the app secret with 48002', async () => {
      expect((await api.get('get_jsapi_ticket', {}, 'contact')).errcode).to.equal(48002);
      expect((await api.post('message/send', {}, 'contact')).errcode).to.equal(48002);
      expect((await api.post('user/list_id', {})).errcode).to.equal(48002);
      const ids = await api.post('user/list_id', { limit: 3 }, 'contact');
      expect(ids.errcode).to.equal(0);
      expect(ids.dept_user).to.have.length(3);
      const rest = await api.post('user/list_id', { cursor: ids.next_cursor, limit: 100 }, 'contact');
      expect(rest.next_cursor).to.equal('');
      expect([...ids.dept_user, ...rest.dept_user].map((r: { userid: string }) => r.userid)).to.have.members([...sandbox.world.members.keys()]);
    });

    it('answers 43001 / 43002 when an API is called with the wrong method', async () => {
      expect((await api.post('department/list')).errcode).to.equal(43001);
      expect((await api.get('externalcontact/get_corp_tag_list')).errcode).to.equal(43002);
    });
  });

  describe('quotas', () => {
    it('blocks an API with 45009 past its per-minute quota until that minute ends', async () => {
      clock.ms = Math.ceil(clock.ms / 60_000) * 60_000; // start of a minute
      sandbox.control.setQuota({ api: 'department/list', limit: 3 });
      for (let i = 0; i < 3; i++) expect((await api.get('department/list')).errcode).to.equal(0);
      const blocked = await api.get('department/list');
      expect(blocked.errcode).to.equal(45009);
      expect(blocked.errmsg).to.match(/^api freq out of limit/);
      expect((await api.get('department/simplelist')).errcode, 'other APIs are not affected').to.equal(0);
      clock.advance(59_000);
      expect((await api.get('department/list')).errcode, 'still inside the window').to.equal(45009);
      clock.advance(1000);
      expect((await api.get('department/list')).errcode).to.equal(0);
    });

    it('applies the default per-minute quota from the options', async () => {
      const small = await startTestSandbox({ perApiPerMinute: 2, now: clock.now });
      try {
        const client = new WeComClient(small);
        expect((await client.get('user/list', { department_id: 2 })).errcode).to.equal(0);
        expect((await client.get('user/list', { department_id: 2 })).errcode).to.equal(0);
        expect((await client.get('user/list', { department_id: 2 })).errcode).to.equal(45009);
      } finally {
        await small.close();
      }
    });

    it('limits JS-SDK tickets per hour and refuses an unknown ticket type', async () => {
      expect((await api.get('ticket/get', { type: 'jsapi' })).errcode).to.equal(91040);
      sandbox.control.setQuota({ api: 'ticket/get', limit: 2, per: 'hour' });
      const first = await api.get('ticket/get', { type: 'agent_config' });
      expect(first).to.include({ errcode: 0, expires_in: 7200 });
      expect(first.ticket).to.be.a('string');
      expect((await api.get('ticket/get', { type: 'agent_config' })).errcode).to.equal(0);
      expect((await api.get('ticket/get', { type: 'agent_config' })).errcode).to.equal(45009);
      expect((await api.get('get_jsapi_ticket')).errcode, 'the corp ticket has its own budget').to.equal(0);
      clock.advance(3600_000);
      expect((await api.get('ticket/get', { type: 'agent_config' })).errcode).to.equal(0);
    });
  });

  describe('fault injection', () => {
    it('answers an injected errcode a given number of times, then recovers', async () => {
      sandbox.control.addFault({ api: 'department/list', errcode: -1, count: 2 });
      const busy = await api.get('department/list');
      expect(busy.errcode).to.equal(-1);
      expect(busy.errmsg).to.match(/^system busy, hint/);
      expect((await api.get('department/list')).errcode).to.equal(-1);
      expect((await api.get('department/list')).errcode).to.equal(0);
      expect(sandbox.control.listFaults()).to.deep.equal([]);
    });

    it('injects token errors on every API with * until cleared over HTTP', async () => {
      await api.token();
      const created = await (await fetch(`${sandbox.url}/sandbox/faults`, { method: 'POST', body: JSON.stringify({ api: '*', errcode: 42001 }) })).json();
      expect(created).to.include({ api: '*', errcode: 42001 });
      expect((await api.get('department/list')).errcode).to.equal(42001);
      expect((await api.post('externalcontact/get_corp_tag_list')).errcode).to.equal(42001);
      await fetch(`${sandbox.url}/sandbox/faults`, { method: 'DELETE' });
      expect((await api.get('department/list')).errcode).to.equal(0);
    });

    it('answers an HTTP 5xx with an HTML body when told to', async () => {
      const token = await api.token();
      sandbox.control.addFault({ api: 'externalcontact/*', httpStatus: 502, count: 1 });
      const response = await fetch(`${sandbox.apiBase}/externalcontact/list?access_token=${token}&userid=ZhangWei`);
      expect(response.status).to.equal(502);
      expect(response.headers.get('content-type')).to.match(/text\/html/);
      expect(await response.text()).to.contain('502 Bad Gateway');
      expect((await api.get('externalcontact/list', { userid: 'ZhangWei' })).errcode).to.equal(0);
    });

    it('answers slowly when told to, so a client with a shorter timeout gives up', async () => {
      const token = await api.token();
      sandbox.control.addFault({ api: 'department/list', delayMs: 3000, count: 1 });
      const error = await fetch(`${sandbox.apiBase}/department/list?access_token=${token}`, { signal: AbortSignal.timeout(100) }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.name).to.equal('TimeoutError');
      expect(sandbox.control.listFaults(), 'the slow answer used up the fault').to.deep.equal([]);
    });

    it('drops the connection without an answer when told to', async () => {
      const token = await api.token();
      sandbox.control.addFault({ api: 'department/list', drop: true, count: 1 });
      const error = await fetch(`${sandbox.apiBase}/department/list?access_token=${token}`).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error).to.be.instanceOf(TypeError);
      expect((await api.get('department/list')).errcode).to.equal(0);
    });

    it('fires a fault on a share of calls by rate, repeatably for a seed', async () => {
      const outcomes = async (s: Sandbox) => {
        s.control.addFault({ api: 'department/simplelist', errcode: 45033, rate: 0.5 });
        const client = new WeComClient(s);
        const codes: number[] = [];
        for (let i = 0; i < 20; i++) codes.push((await client.get('department/simplelist')).errcode as number);
        return codes;
      };
      const first = await outcomes(sandbox);
      expect(first).to.include(45033).and.to.include(0);
      const again = await startTestSandbox({ now: clock.now });
      try {
        expect(await outcomes(again)).to.deep.equal(first);
      } finally {
        await again.close();
      }
    });

    it('rejects a fault without an effect', () => {
      expect(() => sandbox.control.addFault({ api: 'gettoken' })).to.throw(/errcode, httpStatus, delayMs or drop/);
    });
  });

  describe('OAuth', () => {
    const authorize = (extra: string) =>
      `${sandbox.url}/connect/oauth2/authorize?appid=${TEST_CORP.corpId}&redirect_uri=${encodeURIComponent('http://bank.example/sidebar/cb?from=wecom')}&response_type=code&scope=snsapi_base&state=s1&agentid=${TEST_CORP.agentId}${extra}`;

    it('redirects at once with a single-use code that auth/getuserinfo exchanges for the member', async () => {
      const response = await fetch(authorize('&userid=ZhangWei'), { redirect: 'manual' });
      expect(response.status).to.equal(302);
      const location = new URL(response.headers.get('location')!);
      expect(location.origin + location.pathname).to.equal('http://bank.example/sidebar/cb');
      expect(location.searchParams.get('from')).to.equal('wecom');
      expect(location.searchParams.get('state')).to.equal('s1');
      const code = location.searchParams.get('code')!;
      expect(await api.get('auth/getuserinfo', { code })).to.deep.equal({ errcode: 0, errmsg: 'ok', userid: 'ZhangWei' });
      expect((await api.get('auth/getuserinfo', { code })).errcode).to.equal(40029);
    });

    it('lets a code expire after five minutes', async () => {
      const response = await fetch(authorize('&userid=LiNa'), { redirect: 'manual' });
      const code = new URL(response.headers.get('location')!).searchParams.get('code')!;
      clock.advance(5 * 60_000 + 1000);
      expect((await api.get('auth/getuserinfo', { code })).errcode).to.equal(40029);
      expect((await api.get('auth/getuserinfo')).errcode).to.equal(41008);
    });

    it('shows a member picker in Chinese whose links come back with a code', async () => {
      const response = await fetch(authorize(''));
      const html = await response.text();
      expect(response.status).to.equal(200);
      expect(html).to.contain('模拟企业微信授权').and.contain('张伟').and.contain('星河银行总行营业部');
      const href = /href="([^"]*userid=WangFang)"/.exec(html)![1]!.replaceAll('&amp;', '&');
      const chosen = await fetch(sandbox.url + href, { redirect: 'manual' });
      expect(chosen.status).to.equal(302);
      const code = new URL(chosen.headers.get('location')!).searchParams.get('code')!;
      expect((await api.get('auth/getuserinfo', { code })).userid).to.equal('WangFang');
    });

    it('refuses a wrong appid or an unknown member with an error page', async () => {
      const wrong = await fetch(`${sandbox.url}/connect/oauth2/authorize?appid=wwother&redirect_uri=http%3A%2F%2Fx&response_type=code&scope=snsapi_base`);
      expect(wrong.status).to.equal(400);
      expect(await wrong.text()).to.contain('appid');
      const unknown = await fetch(authorize('&userid=Nobody'), { redirect: 'manual' });
      expect(unknown.status).to.equal(400);
    });
  });

  describe('the directory and the seeded world', () => {
    it('serves the bank as departments and the demo account managers as members', async () => {
      const departments = await api.get('department/list');
      expect(departments.department).to.have.length(7);
      expect(departments.department[0]).to.deep.equal({ id: 1, name: '星河银行', name_en: 'Xinghe Bank', department_leader: [], parentid: 0, order: 100000000 });
      expect((await api.get('department/simplelist', { id: 3 })).department_id).to.deep.equal([{ id: 3, parentid: 1, order: 99998000 }]);
      expect((await api.get('department/list', { id: 99 })).errcode).to.equal(60003);
      const hq = await api.get('user/list', { department_id: 2 });
      expect(hq.userlist.map((u: { userid: string }) => u.userid)).to.deep.equal(['ZhangWei', 'WangFang']);
      expect(hq.userlist[1]).to.include({ name: '王芳', position: '私人银行顾问', main_department: 2, status: 1 });
      const managers = DEMO_STAFF.filter((s) => s.wecomUserid).map((s) => s.wecomUserid);
      expect([...sandbox.world.members.keys()]).to.deep.equal(managers);
    });

    it('holds exactly the contacts and follow relations the demo seed writes for the same seed and count', () => {
      const linked = [...generateCustomers(400)].filter((c) => c.wecom);
      expect(sandbox.world.contacts.size).to.equal(linked.length);
      expect(sandbox.world.follows.size).to.equal(linked.length);
      for (const c of linked) {
        const w = c.wecom!;
        const contact = sandbox.world.contacts.get(w.externalUserid)!;
        expect(contact).to.include({ name: c.name, gender: c.gender === 'M' ? 1 : 2, type: 1, unionid: w.unionid });
        const follow = sandbox.world.follow(w.followerUserid, w.externalUserid)!;
        expect(follow).to.include({ remark: c.name, createtime: Math.floor(Date.parse(w.addedAt) / 1000), oper_userid: w.externalUserid });
        expect(follow.remark_mobiles).to.deep.equal([c.mobile]);
        expect(follow.state).to.equal(w.state ?? undefined);
        expect(follow.add_way).to.equal(w.state?.startsWith('card-') ? 3 : 1);
        expect(follow.tagIds.length).to.be.within(2, 4);
      }
    });

    it('builds the same world from the same seed and a different one from another', async () => {
      const twin = await startTestSandbox({ now: clock.now });
      const other = await startTestSandbox({ now: clock.now, seed: 7 });
      try {
        const ids = (s: Sandbox) => ({ tags: s.world.tagGroups.map((g) => g.group_id), chats: [...s.world.groupChats.keys()], kf: s.world.kfAccounts[0]!.open_kfid });
        expect(ids(twin)).to.deep.equal(ids(sandbox));
        expect(ids(other).tags).to.not.deep.equal(ids(sandbox).tags);
        expect(sandbox.world.groupChats.size).to.equal(10);
        expect(sandbox.world.tagGroups.map((g) => g.group_name)).to.deep.equal(['客户分层', '风险等级', '意向', '生命周期']);
      } finally {
        await twin.close();
        await other.close();
      }
    });

    it('answers health over HTTP and hides the control API when it is turned off', async () => {
      expect(await (await fetch(`${sandbox.url}/sandbox/health`)).json()).to.include({ status: 'ok', corpId: TEST_CORP.corpId });
      const closed = await startTestSandbox({ controlApi: false });
      try {
        expect((await fetch(`${closed.url}/sandbox/health`)).status).to.equal(404);
        expect((await fetch(`${closed.url}/sandbox/simulate/scan`, { method: 'POST', body: '{}' })).status).to.equal(404);
        expect((await new WeComClient(closed).get('department/list')).errcode, 'the API still works').to.equal(0);
      } finally {
        await closed.close();
      }
    });
  });
});
