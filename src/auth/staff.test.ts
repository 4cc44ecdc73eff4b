import { expect } from 'chai';
import { bootApp, type TestApp } from '../../test/harness.js';

describe('staff accounts and their WeCom binding', function () {
  this.timeout(60_000);
  let app: TestApp;
  before(async () => {
    app = await bootApp();
  });
  after(() => app.close());

  it('lists the branches to anyone logged in', async () => {
    const r = await (await app.client().login('am.lina')).get('/api/v1/branches');
    expect(r.status).to.equal(200);
    const xihu = r.body.items.find((b: { id: string }) => b.id === 'br-hz-xihu');
    expect(xihu.name).to.be.a('string').and.match(/西湖/);
    expect(r.body.items.length).to.be.greaterThan(1);
    expect((await app.client().get('/api/v1/branches')).status).to.equal(401);
  });

  it('binds a new account to a WeCom member of the only corp, once, and audits it', async () => {
    const admin = await app.client().login('admin');
    const created = await admin.post('/api/v1/staff', {
      username: 'am.xinren', displayName: '新人', role: 'account_manager', branchId: 'br-hz-xihu', wecomUserid: 'XinRen', password: 'a-long-password-1',
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const row = await app.database.db.selectFrom('staff').select(['corp_id', 'wecom_userid']).where('id', '=', created.body.id).executeTakeFirstOrThrow();
    expect(row).to.deep.equal({ corp_id: app.wecom.sandbox!.world.corpId, wecom_userid: 'XinRen' });
    const audit = await app.database.db.selectFrom('audit_log').select(['action', 'actor_type']).where('target_id', '=', created.body.id).executeTakeFirstOrThrow();
    expect(audit).to.deep.equal({ action: 'staff.create', actor_type: 'staff' });

    const twice = await admin.post('/api/v1/staff', { username: 'am.chongfu', displayName: '重复', role: 'account_manager', branchId: 'br-hq', wecomUserid: 'ZhangWei' });
    expect(twice.status).to.equal(409);
    expect(twice.body.error.message).to.contain('am.zhangwei');
    const rebind = await admin.request('PATCH', `/api/v1/staff/${created.body.id}`, { wecomUserid: 'LiNa' });
    expect(rebind.status).to.equal(409);
    expect((await admin.request('PATCH', `/api/v1/staff/${created.body.id}`, { branchId: 'no-such-branch' })).body.error.issues[0].path).to.equal('body.branchId');
  });

  it('changes role, branch and status; a disabled account can no longer log in; branch managers see their branch only', async () => {
    const admin = await app.client().login('admin');
    const created = await admin.post('/api/v1/staff', { username: 'ops.temp', displayName: '临时运营', role: 'ops', password: 'a-long-password-2' });
    expect(created.status).to.equal(201);
    const moved = await admin.request('PATCH', `/api/v1/staff/${created.body.id}`, { role: 'account_manager', branchId: 'br-hz-xihu' });
    expect(moved.status).to.equal(204);
    const manager = await app.client().login('bm.liuyang');
    const listed = (await manager.get('/api/v1/staff')).body.items as { username: string; branch_id: string | null }[];
    expect(listed.map((s) => s.username)).to.include('ops.temp');
    expect(listed.every((s) => s.branch_id === 'br-hz-xihu')).to.equal(true);
    expect((await manager.request('PATCH', `/api/v1/staff/${created.body.id}`, { active: false })).status).to.equal(403);

    expect((await admin.request('PATCH', `/api/v1/staff/${created.body.id}`, { active: false })).status).to.equal(204);
    const refused = await app.client().post('/api/v1/auth/login', { username: 'ops.temp', password: 'a-long-password-2' });
    expect(refused.status).to.equal(401);
  });
});
