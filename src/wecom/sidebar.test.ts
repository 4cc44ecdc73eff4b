import { expect } from 'chai';
import { bootApp, testCipher, type TestApp } from '../../test/harness.js';
import { DEMO_CORP_ID } from '../demo/seed.js';
import { finishedRun } from '../../test/wecom.js';
import { jsApiSignature } from './crypto.js';

const cookieOf = (response: Response, name: string) =>
  response.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .find((c) => c.startsWith(`${name}=`) && !c.endsWith('='));

describe('sidebar support', function () {
  this.timeout(60_000);
  let app: TestApp;
  before(async () => {
    app = await bootApp({ WECOM_JSAPI_TICKETS_PER_HOUR: '1', DEMO_CUSTOMERS: '20' });
  });
  after(() => app.close());

  /** Walks the OAuth round trip as WeCom's in-app browser would, picking `userid` on the authorize page. */
  async function signIn(userid: string) {
    const start = await fetch(`${app.url}/wecom/oauth/start?corpId=${DEMO_CORP_ID}&next=/sidebar/customer`, { redirect: 'manual' });
    expect(start.status).to.equal(302);
    const authorize = new URL(start.headers.get('location')!.replace('#wechat_redirect', ''));
    expect(authorize.origin).to.equal(app.wecom.sandbox!.url);
    expect(authorize.pathname).to.equal('/connect/oauth2/authorize');
    expect(authorize.searchParams.get('appid')).to.equal(DEMO_CORP_ID);
    expect(authorize.searchParams.get('scope')).to.equal('snsapi_base');
    const stateCookie = cookieOf(start, 'scrm_oauth')!;
    authorize.searchParams.set('userid', userid);
    const picked = await fetch(authorize, { redirect: 'manual' });
    expect(picked.status).to.equal(302);
    const callback = picked.headers.get('location')!;
    const back = await fetch(callback, { redirect: 'manual', headers: { cookie: stateCookie } });
    return { back, callback, stateCookie };
  }

  it('signs a member in through OAuth and lands on the page asked for', async () => {
    const { back } = await signIn('ZhangWei');
    expect(back.status).to.equal(302);
    expect(back.headers.get('location')).to.equal('/sidebar/customer');
    const session = cookieOf(back, 'scrm_session')!;
    const me = await fetch(`${app.url}/api/v1/auth/me`, { headers: { cookie: session } });
    expect(((await me.json()) as { username: string }).username).to.equal('am.zhangwei');
    const audit = await app.database.db.selectFrom('audit_log').selectAll().where('action', '=', 'auth.oauth').executeTakeFirstOrThrow();
    expect(audit.outcome).to.equal('success');
  });

  it('refuses a reused code, a wrong state and a member without an account', async () => {
    const { callback, stateCookie } = await signIn('LiNa');
    const reused = await fetch(callback, { redirect: 'manual', headers: { cookie: stateCookie } });
    expect(reused.status).to.equal(403);
    expect(await reused.text()).to.contain('授权已失效');

    const forged = await fetch(callback.replace(/state=[^&]+/, 'state=forged'), { redirect: 'manual', headers: { cookie: stateCookie } });
    expect(forged.status).to.equal(400);

    await app.database.db.updateTable('staff').set({ active: false }).where('wecom_userid', '=', 'SunHao').execute();
    const { back } = await signIn('SunHao');
    expect(back.status).to.equal(403);
    expect(cookieOf(back, 'scrm_session')).to.equal(undefined);
  });

  it('only redirects within the service after sign-in', async () => {
    const start = await fetch(`${app.url}/wecom/oauth/start?corpId=${DEMO_CORP_ID}&next=//evil.example/x`, { redirect: 'manual' });
    const authorize = new URL(start.headers.get('location')!.replace('#wechat_redirect', ''));
    authorize.searchParams.set('userid', 'ZhouJie');
    const picked = await fetch(authorize, { redirect: 'manual' });
    const back = await fetch(picked.headers.get('location')!, { redirect: 'manual', headers: { cookie: cookieOf(start, 'scrm_oauth')! } });
    expect(back.headers.get('location')).to.equal('/');
  });

  it('signs wx.config and agentConfig with the corp and app tickets, without the URL fragment', async () => {
    const client = await app.client().login('am.zhangwei');
    const url = `${app.url}/sidebar/customer?entry=single_chat_tools#top`;
    const r = await client.get(`/api/v1/wecom/jssdk?url=${encodeURIComponent(url)}`);
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    const stored = await app.database.db.selectFrom('wecom_tokens').selectAll().where('kind', 'like', 'jsapi_ticket:%').execute();
    const ticket = (kind: string) => testCipher().decrypt(stored.find((s) => s.kind === kind)!.value_enc);
    expect(r.body.signature).to.equal(jsApiSignature(ticket('jsapi_ticket:corp'), r.body.nonceStr, r.body.timestamp, url.split('#')[0]!));
    expect(r.body.agentConfig.signature).to.equal(jsApiSignature(ticket('jsapi_ticket:agent'), r.body.nonceStr, r.body.timestamp, url.split('#')[0]!));
    expect(r.body.agentId).to.be.a('number');
  });

  it('reuses cached tickets and refuses to fetch past the hourly quota', async () => {
    const client = await app.client().login('am.zhangwei');
    const url = encodeURIComponent(`${app.url}/sidebar/customer`);
    expect((await client.get(`/api/v1/wecom/jssdk?url=${url}`)).status).to.equal(200);
    const usage = await app.database.db.selectFrom('wecom_quota_usage').selectAll().execute();
    expect(usage.map((u) => [u.api, u.used]).sort()).to.deep.equal([['get_jsapi_ticket', 1], ['ticket/get', 1]]);
    // WeCom withdrew the ticket: the next fetch would be the second this hour, over the quota of 1.
    const row = await app.database.db.selectFrom('wecom_tokens').selectAll().where('kind', '=', 'jsapi_ticket:corp').executeTakeFirstOrThrow();
    await app.wecom.gateway.tokens.invalidate(DEMO_CORP_ID, 'jsapi_ticket:corp', testCipher().decrypt(row.value_enc));
    const refused = await client.get(`/api/v1/wecom/jssdk?url=${url}`);
    expect(refused.status).to.equal(429);
    expect(Number(refused.headers.get('retry-after'))).to.be.greaterThan(0);
  });

  it('requires a session for signatures', async () => {
    expect((await app.client().get(`/api/v1/wecom/jssdk?url=${encodeURIComponent(app.url)}`)).status).to.equal(401);
  });

  /** A live relation of the member and the customer it is linked to. */
  async function contactOf(userid: string) {
    return app.database.db
      .selectFrom('follow_relations as fr')
      .innerJoin('external_contacts as ec', (j) => j.onRef('ec.corp_id', '=', 'fr.corp_id').onRef('ec.external_userid', '=', 'fr.external_userid'))
      .select(['ec.external_userid', 'ec.customer_id', 'ec.name'])
      .where('fr.userid', '=', userid)
      .where('fr.deleted_at', 'is', null)
      .where('ec.customer_id', 'is not', null)
      .orderBy('ec.external_userid')
      .executeTakeFirstOrThrow();
  }

  it('tells the page it runs in the sandbox and which members it may sign in as, without a session', async () => {
    const r = await app.client().get('/api/v1/wecom/sidebar/config');
    expect(r.status).to.equal(200);
    expect(r.body).to.include({ sandbox: true, corpId: DEMO_CORP_ID });
    expect(r.body.agentId).to.be.a('number');
    const lina = r.body.members.find((m: { userid: string }) => m.userid === 'LiNa');
    const follows = await app.database.db.selectFrom('follow_relations').select('external_userid').where('userid', '=', 'LiNa').where('deleted_at', 'is', null).execute();
    expect(lina).to.include({ name: '李娜', title: '客户经理', branch: '星河银行杭州西湖支行', contacts: follows.length });
    expect(r.body.members.map((m: { userid: string }) => m.userid)).to.not.include(null);
  });

  it('signs in as the member the sandbox picker named, skipping the sandbox’s own page', async () => {
    const start = await fetch(`${app.url}/wecom/oauth/start?corpId=${DEMO_CORP_ID}&next=/sidebar/&member=WangFang`, { redirect: 'manual' });
    const authorize = new URL(start.headers.get('location')!.replace('#wechat_redirect', ''));
    expect(authorize.searchParams.get('userid')).to.equal('WangFang');
    const picked = await fetch(authorize, { redirect: 'manual' });
    const back = await fetch(picked.headers.get('location')!, { redirect: 'manual', headers: { cookie: cookieOf(start, 'scrm_oauth')! } });
    expect(back.headers.get('location')).to.equal('/sidebar/');
    const me = await fetch(`${app.url}/api/v1/auth/me`, { headers: { cookie: cookieOf(back, 'scrm_session')! } });
    expect(((await me.json()) as { username: string }).username).to.equal('am.wangfang');
  });

  it('lists a member’s own customers and shows one with the relation and the linked customer, to nobody else', async () => {
    const lina = await app.client().login('am.lina');
    const list = await lina.get('/api/v1/wecom/sidebar/contacts?limit=200');
    expect(list.status).to.equal(200);
    const mine = await app.database.db.selectFrom('follow_relations').select('external_userid').where('userid', '=', 'LiNa').where('deleted_at', 'is', null).execute();
    expect(list.body.items.map((i: { externalUserid: string }) => i.externalUserid).sort()).to.deep.equal(mine.map((m) => m.external_userid).sort());

    const contact = await contactOf('LiNa');
    const one = await lina.get(`/api/v1/wecom/sidebar/contacts/${contact.external_userid}`);
    expect(one.status).to.equal(200);
    expect(one.body).to.include({ externalUserid: contact.external_userid, customerId: contact.customer_id, linked: true });
    expect(one.body.relation.userid).to.equal('LiNa');
    expect(['大众', '潜力', '财富', '私行']).to.include(one.body.aumTier);
    const byName = await lina.get(`/api/v1/wecom/sidebar/contacts?q=${encodeURIComponent(contact.name)}`);
    expect(byName.body.items.map((i: { externalUserid: string }) => i.externalUserid)).to.include(contact.external_userid);

    const other = await app.client().login('am.wuting');
    expect((await other.get(`/api/v1/wecom/sidebar/contacts/${contact.external_userid}`)).status).to.equal(404);
    const admin = await app.client().login('admin');
    const seen = await admin.get(`/api/v1/wecom/sidebar/contacts/${contact.external_userid}`);
    expect(seen.body).to.include({ customerId: contact.customer_id });
    expect(seen.body.relation).to.equal(null);
    expect((await admin.get('/api/v1/wecom/sidebar/contacts')).body).to.deep.equal({ member: false, items: [] });
  });

  it('records what the member puts into the chat in the outbox, through the gate, and on the timeline once sent', async () => {
    const lina = await app.client().login('am.lina');
    const contact = await contactOf('LiNa');
    const text = '您好，您咨询的大额存单可以在手机银行查看当期额度。';
    const prepared = await lina.post('/api/v1/wecom/sidebar/messages', { externalUserid: contact.external_userid, key: 'reply-0001', source: 'suggestion', text });
    expect(prepared.status, JSON.stringify(prepared.body)).to.equal(201);
    expect(prepared.body).to.include({ status: 'pending', verdict: 'pass' });
    expect(prepared.body.chat).to.deep.equal([{ msgtype: 'text', text: { content: text } }]);
    const again = await lina.post('/api/v1/wecom/sidebar/messages', { externalUserid: contact.external_userid, key: 'reply-0001', source: 'suggestion', text });
    expect(again.body.id, 'the same key records once').to.equal(prepared.body.id);

    const sent = await lina.post(`/api/v1/wecom/sidebar/messages/${prepared.body.id}/outcome`, { outcome: 'sent' });
    expect(sent.body).to.deep.equal({ id: prepared.body.id, status: 'sent' });
    const row = await app.database.db.selectFrom('outbox').selectAll().where('id', '=', prepared.body.id).executeTakeFirstOrThrow();
    expect(row).to.include({ channel: 'sidebar', status: 'sent', sender: 'LiNa', recipient: contact.external_userid, customer_id: contact.customer_id, purpose: 'service', cause_type: 'member' });
    const timeline = await app.database.db.selectFrom('timeline_events').selectAll().where('kind', '=', 'message_out').where('external_userid', '=', contact.external_userid).execute();
    expect(timeline).to.have.length(1);
    expect(timeline[0]!.summary).to.equal('李娜在会话中发送：您好，您咨询的大额存单可以在手机银行查看当期额度。');
    expect(timeline[0]!.customer_id).to.equal(contact.customer_id);
    const audit = await app.database.db.selectFrom('audit_log').select('action').where('target_id', '=', prepared.body.id).orderBy('id').execute();
    expect(audit.map((a) => a.action)).to.include.members(['sidebar.message.prepare', 'sidebar.message.sent']);
  });

  it('gives no chat message for a blocked text, and refuses members the customer does not follow', async () => {
    const lina = await app.client().login('am.lina');
    const contact = await contactOf('LiNa');
    const blocked = await lina.post('/api/v1/wecom/sidebar/messages', { externalUserid: contact.external_userid, key: 'draft-0001', source: 'draft', text: '这款理财保本保息，稳赚不赔。' });
    expect(blocked.status).to.equal(201);
    expect(blocked.body).to.include({ status: 'blocked', verdict: 'block' });
    expect(blocked.body.chat).to.deep.equal([]);
    expect(blocked.body.findings.map((f: { match: string }) => f.match).join()).to.contain('保本');
    expect((await lina.post(`/api/v1/wecom/sidebar/messages/${blocked.body.id}/outcome`, { outcome: 'sent' })).status).to.equal(409);

    const other = await app.client().login('am.wuting');
    const refused = await other.post('/api/v1/wecom/sidebar/messages', { externalUserid: contact.external_userid, key: 'reply-0002', source: 'suggestion', text: '您好' });
    expect(refused.status).to.equal(403);
    const both = await lina.post('/api/v1/wecom/sidebar/messages', { externalUserid: contact.external_userid, key: 'reply-0003', source: 'suggestion', text: '您好', materialId: '00000000-0000-4000-8000-000000000000' });
    expect(both.status).to.equal(400);
    expect(both.body.error.issues[0].path).to.equal('body.text');
  });

  it('sends an approved material as the text and a link card, and records a cancelled one as not sent', async () => {
    const lina = await app.client().login('am.lina');
    const contact = await contactOf('LiNa');
    const materials = (await lina.get('/api/v1/materials?kind=link')).body.items;
    expect(materials.length, 'the demo library has approved links').to.be.greaterThan(0);
    const m = materials[0];
    const prepared = await lina.post('/api/v1/wecom/sidebar/messages', { externalUserid: contact.external_userid, key: 'material-0001', source: 'material', materialId: m.id });
    expect(prepared.status, JSON.stringify(prepared.body)).to.equal(201);
    const kinds = prepared.body.chat.map((c: { msgtype: string }) => c.msgtype);
    expect(kinds).to.deep.equal(m.text.trim() ? ['text', 'news'] : ['news']);
    expect(prepared.body.chat.at(-1).news).to.include({ link: m.attachment.link.url, title: m.attachment.link.title });
    const cancelled = await lina.post(`/api/v1/wecom/sidebar/messages/${prepared.body.id}/outcome`, { outcome: 'cancelled', error: 'sendChatMessage:cancel' });
    expect(cancelled.body.status).to.equal('cancelled');
    const row = await app.database.db.selectFrom('outbox').select(['status', 'purpose', 'ref_type', 'last_error']).where('id', '=', prepared.body.id).executeTakeFirstOrThrow();
    expect(row).to.deep.equal({ status: 'cancelled', purpose: 'marketing', ref_type: 'material', last_error: '成员未发送：sendChatMessage:cancel' });
  });

  it('tags a customer in WeCom from the sidebar and audits it', async () => {
    const ops = await app.client().login('ops');
    const run = await ops.post('/api/v1/wecom/sync', {});
    await finishedRun(app, run.body.runId);
    const lina = await app.client().login('am.lina');
    const contact = await contactOf('LiNa');
    const groups = (await lina.get('/api/v1/wecom/tags')).body.groups as { tags: { id: string; name: string }[] }[];
    const before = (await lina.get(`/api/v1/wecom/sidebar/contacts/${contact.external_userid}`)).body.relation.tags.map((t: { id: string }) => t.id);
    const tag = groups.flatMap((g) => g.tags).find((t) => !before.includes(t.id))!;
    const r = await lina.post(`/api/v1/wecom/contacts/${contact.external_userid}/tags`, { userid: 'LiNa', add: [tag.id] });
    expect(r.status, JSON.stringify(r.body)).to.equal(204);
    const after = (await lina.get(`/api/v1/wecom/sidebar/contacts/${contact.external_userid}`)).body.relation.tags;
    expect(after.map((t: { id: string }) => t.id)).to.include(tag.id);
    expect(app.wecom.sandbox!.world.follow('LiNa', contact.external_userid)!.tagIds).to.include(tag.id);
    const audit = await app.database.db.selectFrom('audit_log').selectAll().where('action', '=', 'wecom.contact.tags').executeTakeFirstOrThrow();
    expect(audit.target_id).to.equal(`${DEMO_CORP_ID}/${contact.external_userid}`);
  });
});
