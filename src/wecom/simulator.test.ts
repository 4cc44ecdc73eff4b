import { expect } from 'chai';
import { bootApp, type TestApp } from '../../test/harness.js';
import { finishedRun, settled } from '../../test/wecom.js';

describe('sandbox simulator API', function () {
  this.timeout(120_000);
  let app: TestApp;
  before(async () => {
    app = await bootApp();
    const admin = await app.client().login('admin');
    const sync = await admin.post('/api/v1/wecom/sync', {});
    expect(sync.status).to.equal(202);
    await finishedRun(app, sync.body.runId);
  });
  after(() => app.close());

  const ops = () => app.client().login('ops');
  const relationOf = (externalUserid: string) =>
    app.database.db.selectFrom('follow_relations').selectAll().where('external_userid', '=', externalUserid).executeTakeFirst();

  it('tells the pages that the sandbox and its simulator are on', async () => {
    const r = await (await app.client().login('am.zhangwei')).get('/api/v1/system/info');
    expect(r.status).to.equal(200);
    expect(r.body).to.deep.equal({ version: r.body.version, sandbox: true, simulator: true });
    expect((await app.client().get('/api/v1/system/info')).status).to.equal(401);
  });

  it('is for administrators and operations staff only', async () => {
    for (const username of ['compliance', 'bm.liuyang', 'am.zhangwei']) {
      const r = await (await app.client().login(username)).get('/api/v1/sandbox/world');
      expect(r.status, username).to.equal(403);
    }
    expect((await (await ops()).get('/api/v1/sandbox/world')).status).to.equal(200);
  });

  it('describes the sandbox corp: members tied to staff, usable codes with the product’s names, customer service, corp tags', async () => {
    const client = await ops();
    const created = await client.post('/api/v1/wecom/contact-ways', { name: '模拟器测试码', members: ['ZhangWei'] });
    expect(created.status).to.equal(201);
    const world = (await client.get('/api/v1/sandbox/world')).body;
    const zhangwei = world.members.find((m: { userid: string }) => m.userid === 'ZhangWei');
    expect(zhangwei.staff.displayName).to.equal('张伟');
    const code = world.contactWays.find((w: { state: string }) => w.state === created.body.state);
    expect(code).to.deep.include({ name: '模拟器测试码', contactWayId: created.body.id, members: ['ZhangWei'] });
    expect(world.kfAccounts).to.have.length.greaterThan(0);
    expect(world.tagGroups.some((g: { name: string }) => g.name === '客户分层')).to.equal(true);
  });

  it('refuses bad input naming the field', async () => {
    const client = await ops();
    const badMobile = await client.post('/api/v1/sandbox/scan', { state: 'x', customer: { mobile: '12345' } });
    expect(badMobile.status).to.equal(400);
    expect(badMobile.body.error.issues[0].path).to.equal('body.customer.mobile');
    const nothing = await client.post('/api/v1/sandbox/scan', { customer: { name: '无码' } });
    expect(nothing.status).to.equal(400);
    expect(nothing.body.error.issues[0].path).to.equal('body.state');
    const unknownCode = await client.post('/api/v1/sandbox/scan', { state: 'no-such-code' });
    expect(unknownCode.status).to.equal(400);
    expect(unknownCode.body.error.issues[0].path).to.equal('body.state');
    const noRelation = await client.post('/api/v1/sandbox/customer-deletes-member', { userid: 'ZhangWei', externalUserid: 'wm-nobody' });
    expect(noRelation.status).to.equal(404);
    const noChange = await client.post('/api/v1/sandbox/member-edits-tags', { userid: 'ZhangWei', externalUserid: 'wm-nobody' });
    expect(noChange.status).to.equal(400);
    expect(noChange.body.error.issues[0].path).to.equal('body.addTags');
  });

  it('makes a customer scan a code: the product stores the customer, welcomes them, and the simulation is audited', async () => {
    const client = await ops();
    const code = (await client.post('/api/v1/wecom/contact-ways', { name: '扫码演示', members: ['LiNa'], welcomeText: '您好，欢迎关注星河银行。' })).body;
    const scan = await client.post('/api/v1/sandbox/scan', { state: code.state, customer: { name: '模拟客户', mobile: '13912345678' } });
    expect(scan.status, JSON.stringify(scan.body)).to.equal(201);
    expect(scan.body).to.include({ userid: 'LiNa', state: code.state, welcomeCode: true });
    await settled(app);

    const relation = await relationOf(scan.body.externalUserid);
    expect(relation).to.include({ userid: 'LiNa', contact_way_id: code.id, deleted_at: null });
    const callbacks = await client.get('/api/v1/sandbox/callbacks?limit=5');
    const delivery = callbacks.body.items.find((d: { externalUserid: string | null }) => d.externalUserid === scan.body.externalUserid);
    expect(delivery).to.include({ changeType: 'add_external_contact', status: 'delivered', state: code.state, userid: 'LiNa', attempts: 1, lastHttpStatus: 200 });
    expect(JSON.stringify(callbacks.body)).not.to.match(/WelcomeCode|Encrypt|msg_signature/);
    const received = await client.get(`/api/v1/sandbox/received?to=${scan.body.externalUserid}`);
    expect(received.body.items).to.have.length(1);
    expect(received.body.items[0]).to.include({ kind: 'welcome', from: 'LiNa', text: '您好，欢迎关注星河银行。' });
    const contacts = await client.get('/api/v1/sandbox/contacts?userid=LiNa&limit=5');
    expect(contacts.body.items[0]).to.include({ externalUserid: scan.body.externalUserid, name: '模拟客户', mobile: '139****5678', state: code.state });

    const audit = await app.database.db.selectFrom('audit_log').selectAll().where('action', '=', 'sandbox.scan').where('target_id', '=', scan.body.externalUserid).executeTakeFirstOrThrow();
    expect(audit.actor_type).to.equal('staff');
    expect(audit.detail).to.deep.include({ state: code.state, userid: 'LiNa' });
  });

  it('makes a member tag a customer, and the product takes the tags from the callback', async () => {
    const client = await ops();
    const scan = (await client.post('/api/v1/sandbox/scan', { userid: 'ZhangWei', customer: { name: '打标客户' } })).body;
    await settled(app);
    const world = (await client.get('/api/v1/sandbox/world')).body;
    const tag = world.tagGroups.find((g: { name: string }) => g.name === '意向').tags[0];
    const edited = await client.post('/api/v1/sandbox/member-edits-tags', { userid: 'ZhangWei', externalUserid: scan.externalUserid, addTags: [tag.id] });
    expect(edited.status, JSON.stringify(edited.body)).to.equal(200);
    await settled(app);
    const tags = await app.database.db.selectFrom('wecom_contact_tags').select('tag_id').where('external_userid', '=', scan.externalUserid).where('userid', '=', 'ZhangWei').execute();
    expect(tags.map((t) => t.tag_id)).to.deep.equal([tag.id]);
  });

  it('makes a customer delete their member and a member delete a customer, and the product ends each relation', async () => {
    const client = await ops();
    const first = (await client.post('/api/v1/sandbox/scan', { userid: 'WangFang' })).body;
    const second = (await client.post('/api/v1/sandbox/scan', { userid: 'WangFang' })).body;
    await settled(app);
    expect((await client.post('/api/v1/sandbox/customer-deletes-member', { userid: 'WangFang', externalUserid: first.externalUserid })).status).to.equal(200);
    expect((await client.post('/api/v1/sandbox/member-deletes-customer', { userid: 'WangFang', externalUserid: second.externalUserid })).status).to.equal(200);
    await settled(app);
    expect(await relationOf(first.externalUserid)).to.include({ deleted_by: 'customer' });
    expect(await relationOf(second.externalUserid)).to.include({ deleted_by: 'member' });
    const again = await client.post('/api/v1/sandbox/customer-deletes-member', { userid: 'WangFang', externalUserid: first.externalUserid });
    expect(again.status).to.equal(404);
    expect(again.body.error.message).to.contain('does not follow');
  });

  it('makes a customer write to customer service and a member write to the app; the product receives both', async () => {
    const client = await ops();
    const world = (await client.get('/api/v1/sandbox/world')).body;
    const kf = await client.post('/api/v1/sandbox/kf-message', { text: '你好，请问定期存款利率是多少？', openKfid: world.kfAccounts[0].openKfid });
    expect(kf.status, JSON.stringify(kf.body)).to.equal(201);
    const app1 = await client.post('/api/v1/sandbox/member-message', { userid: 'ZhangWei', content: '查询今日待办' });
    expect(app1.status).to.equal(201);
    await settled(app);
    const events = await app.database.db.selectFrom('wecom_events').select(['event', 'status']).where('event', 'in', ['kf_msg_or_event', 'text']).execute();
    expect(events.map((e) => e.event).sort()).to.deep.equal(['kf_msg_or_event', 'text']);
    expect(events.every((e) => e.status === 'processed')).to.equal(true);
    const actions = (await app.database.db.selectFrom('audit_log').select('action').where('action', 'like', 'sandbox.%').execute()).map((a) => a.action);
    expect(actions).to.include.members(['sandbox.kf_message', 'sandbox.member_message', 'sandbox.customer_deletes_member', 'sandbox.member_deletes_customer', 'sandbox.member_edits_tags']);
  });

  describe('with the sandbox control off', () => {
    let quiet: TestApp;
    before(async () => {
      quiet = await bootApp({ SANDBOX_CONTROL: 'false' });
    });
    after(() => quiet.close());

    it('serves no simulator and says so', async () => {
      const admin = await quiet.client().login('admin');
      expect((await admin.get('/api/v1/system/info')).body).to.include({ sandbox: true, simulator: false });
      expect((await admin.get('/api/v1/sandbox/world')).status).to.equal(404);
      expect((await admin.post('/api/v1/sandbox/scan', { userid: 'ZhangWei' })).status).to.equal(404);
    });
  });
});
