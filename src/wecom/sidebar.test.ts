import { expect } from 'chai';
import { bootApp, testCipher, type TestApp } from '../../test/harness.js';
import { DEMO_CORP_ID } from '../demo/seed.js';
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
    app = await bootApp({ WECOM_JSAPI_TICKETS_PER_HOUR: '1' });
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
});
