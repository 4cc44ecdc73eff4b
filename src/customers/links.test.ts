import { expect } from 'chai';
import { sql } from 'kysely';
import { bootApp, type TestApp } from '../../test/harness.js';
import { settled } from '../../test/wecom.js';
import { DEMO_CORP_ID } from '../demo/seed.js';
import { generateCustomers } from '../demo/synthetic.js';
import { recomputeFactTags } from '../tags/facts.js';

describe('customer 360: links, timeline and search', function () {
  this.timeout(60_000);
  let app: TestApp;
  const customers = [...generateCustomers(200)];
  const notContacts = customers.filter((c) => !c.wecom);
  const idOf = async (cifNo: string) => (await app.database.db.selectFrom('customers').select('id').where('cif_no', '=', cifNo).executeTakeFirstOrThrow()).id;
  const linkOf = async (externalUserid: string) =>
    (await app.database.db.selectFrom('external_contacts').select('customer_id').where('corp_id', '=', DEMO_CORP_ID).where('external_userid', '=', externalUserid).executeTakeFirstOrThrow()).customer_id;

  before(async () => {
    app = await bootApp({ DEMO_CUSTOMERS: '200' });
  });
  after(() => app.close());

  it('links a new contact to the customer whose mobile the member noted, with history, audit and timeline', async () => {
    const target = notContacts[0]!;
    const scan = app.wecom.sandbox!.control.scanQr({ userid: 'ZhangWei', customer: { name: target.name, mobile: target.mobile } });
    await settled(app);
    const customerId = await idOf(target.cifNo);
    expect(await linkOf(scan.externalUserid)).to.equal(customerId);
    const history = await app.database.db.selectFrom('customer_links').selectAll().where('external_userid', '=', scan.externalUserid).execute();
    expect(history.map((h) => [h.action, h.method, h.actor_type])).to.deep.equal([['link', 'mobile', 'system']]);
    const audit = await app.database.db.selectFrom('audit_log').selectAll().where('action', '=', 'customers.link').where('target_id', '=', `${DEMO_CORP_ID}/${scan.externalUserid}`).execute();
    expect(audit).to.have.length(1);
    const admin = await app.client().login('admin');
    const timeline = await admin.get(`/api/v1/customers/${customerId}/timeline`);
    const kinds = timeline.body.items.map((i: { kind: string }) => i.kind);
    expect(kinds).to.include.members(['linked', 'contact_added']);
    const added = timeline.body.items.find((i: { kind: string }) => i.kind === 'contact_added');
    expect(added.summary).to.equal('添加了客户经理张伟');
    expect(added.cause_type).to.equal('customer');
  });

  it('links by the unionid the bank knows', async () => {
    const target = notContacts[1]!;
    const control = app.wecom.sandbox!.control;
    const drift = control.driftAddContact({ userid: 'LiNa', customer: { name: target.name } });
    const unionid = app.wecom.sandbox!.world.contacts.get(drift.externalUserid)!.unionid!;
    await app.database.db.updateTable('customers').set({ unionid }).where('cif_no', '=', target.cifNo).execute();
    control.memberEditsContact({ userid: 'LiNa', externalUserid: drift.externalUserid, remark: '已核实' });
    await settled(app);
    expect(await linkOf(drift.externalUserid)).to.equal(await idOf(target.cifNo));
    const history = await app.database.db.selectFrom('customer_links').select('method').where('external_userid', '=', drift.externalUserid).executeTakeFirstOrThrow();
    expect(history.method).to.equal('unionid');
  });

  it('leaves a contact unlinked when its mobile matches two customers', async () => {
    const [a, b] = [notContacts[2]!, notContacts[3]!];
    const hash = (await app.database.db.selectFrom('customers').select('mobile_hash').where('cif_no', '=', a.cifNo).executeTakeFirstOrThrow()).mobile_hash;
    await app.database.db.updateTable('customers').set({ mobile_hash: hash }).where('cif_no', '=', b.cifNo).execute();
    const scan = app.wecom.sandbox!.control.scanQr({ userid: 'ZhangWei', customer: { mobile: a.mobile } });
    await settled(app);
    expect(await linkOf(scan.externalUserid)).to.equal(null);
  });

  it('lets a manager bind a contact after checking identity, and refuses a wrong check', async () => {
    const target = notContacts[4]!;
    const scan = app.wecom.sandbox!.control.scanQr({ userid: 'ZhangWei', customer: { name: '未留手机号' } });
    await settled(app);
    const manager = await app.client().login('am.zhangwei');
    const wrong = await manager.post('/api/v1/customers/links', { externalUserid: scan.externalUserid, cifNo: target.cifNo, idNumberLast4: '0000', reason: '柜面核实' });
    expect(wrong.status).to.equal(400);
    expect(wrong.body.error.issues[0].path).to.equal('body.idNumberLast4');
    expect(await linkOf(scan.externalUserid)).to.equal(null);
    const denied = await app.database.db.selectFrom('audit_log').select('outcome').where('action', '=', 'customers.link').where('outcome', '=', 'denied').execute();
    expect(denied.length).to.be.greaterThan(0);

    const right = await manager.post('/api/v1/customers/links', { externalUserid: scan.externalUserid, cifNo: target.cifNo, idNumberLast4: target.idNumber.slice(-4), mobile: target.mobile, reason: '柜面核实身份证' });
    expect(right.status, JSON.stringify(right.body)).to.equal(200);
    const customerId = await idOf(target.cifNo);
    expect(await linkOf(scan.externalUserid)).to.equal(customerId);
    const history = await app.database.db.selectFrom('customer_links').selectAll().where('external_userid', '=', scan.externalUserid).executeTakeFirstOrThrow();
    expect([history.method, history.reason]).to.deep.equal(['manual', '柜面核实身份证']);
    // The customer now follows the manager, so the manager sees the record.
    expect((await manager.get(`/api/v1/customers/${customerId}`)).status).to.equal(200);
    const byContact = await manager.get(`/api/v1/customers/by-contact/${scan.externalUserid}`);
    expect(byContact.body.customerId).to.equal(customerId);
  });

  it('names the staff member behind each staff cause in the timeline and the link history, for a role that cannot list staff', async () => {
    const target = notContacts[7]!;
    const scan = app.wecom.sandbox!.control.scanQr({ userid: 'ZhangWei', customer: { name: '柜面核验客户' } });
    await settled(app);
    const manager = await app.client().login('am.zhangwei');
    const bound = await manager.post('/api/v1/customers/links', { externalUserid: scan.externalUserid, cifNo: target.cifNo, mobile: target.mobile, reason: '柜面核实身份证' });
    expect(bound.status, JSON.stringify(bound.body)).to.equal(200);
    // The member then tags the contact in WeCom: that change's cause is the member's WeCom userid.
    const tagId = app.wecom.sandbox!.world.tagGroups[0]!.tag[0]!.id;
    app.wecom.sandbox!.control.memberEditsContact({ userid: 'ZhangWei', externalUserid: scan.externalUserid, addTags: [tagId] });
    await settled(app);

    expect((await manager.get('/api/v1/staff')).status).to.equal(403);
    const staffId = (await app.database.db.selectFrom('staff').select('id').where('username', '=', 'am.zhangwei').executeTakeFirstOrThrow()).id;
    const r = await manager.get(`/api/v1/customers/${await idOf(target.cifNo)}/timeline`);
    expect(r.status).to.equal(200);
    type Entry = { kind: string; cause_type: string; cause_id: string | null; cause_name: string | null };
    const entry = (kind: string) => (r.body.items as Entry[]).find((i) => i.kind === kind);
    expect(entry('linked')).to.include({ cause_type: 'member', cause_id: staffId, cause_name: '张伟' });
    expect(entry('tags_changed')).to.include({ cause_type: 'member', cause_id: 'ZhangWei', cause_name: '张伟' });
    expect(entry('contact_added')).to.include({ cause_type: 'customer', cause_name: null });
    expect(r.body.links[0]).to.include({ action: 'link', method: 'manual', actor_type: 'member', actor_id: staffId, actor_name: '张伟' });
  });

  it('refuses a manager binding a contact who did not add them', async () => {
    const scan = app.wecom.sandbox!.control.scanQr({ userid: 'LiNa', customer: { name: '李娜的客户' } });
    await settled(app);
    const manager = await app.client().login('am.zhangwei');
    const r = await manager.post('/api/v1/customers/links', { externalUserid: scan.externalUserid, cifNo: notContacts[5]!.cifNo, mobile: notContacts[5]!.mobile, reason: '试图绑定' });
    expect(r.status).to.equal(403);
  });

  it('unlinks with a reason and never relinks that contact automatically', async () => {
    const target = notContacts[6]!;
    const scan = app.wecom.sandbox!.control.scanQr({ userid: 'ZhouJie', customer: { mobile: target.mobile } });
    await settled(app);
    expect(await linkOf(scan.externalUserid)).to.equal(await idOf(target.cifNo));
    const admin = await app.client().login('admin');
    expect((await admin.post('/api/v1/customers/links/unlink', { externalUserid: scan.externalUserid, reason: '手机号属于家属' })).status).to.equal(204);
    app.wecom.sandbox!.control.memberEditsContact({ userid: 'ZhouJie', externalUserid: scan.externalUserid, remark: '家属' });
    await settled(app);
    expect(await linkOf(scan.externalUserid)).to.equal(null);
  });

  it('searches with the filter grammar within the caller’s scope, masked', async () => {
    const ops = await app.client().login('ops');
    const r = await ops.post('/api/v1/customers/search', { filter: { all: [{ field: 'aum', op: 'gte', value: 500000 }, { field: 'risk_level', op: 'in', value: ['R3', 'R4', 'R5'] }] }, limit: 200 });
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    const expected = customers.filter((c) => c.aum >= 500000 && ['R3', 'R4', 'R5'].includes(c.riskLevel ?? '')).map((c) => c.cifNo).sort();
    expect(r.body.items.map((c: { cif_no: string }) => c.cif_no).sort()).to.deep.equal(expected);
    expect(r.body.total).to.equal(expected.length);
    for (const c of r.body.items) expect(c.mobile).to.match(/\*{4}/);
    const manager = await app.client().login('am.zhangwei');
    const scoped = await manager.post('/api/v1/customers/search', { filter: { field: 'aum', op: 'gte', value: 0 }, limit: 200 });
    const follows = (await sql<{ n: number }>`SELECT count(DISTINCT ec.customer_id)::int AS n FROM follow_relations fr JOIN external_contacts ec USING (corp_id, external_userid) WHERE fr.userid = 'ZhangWei' AND fr.deleted_at IS NULL AND ec.customer_id IS NOT NULL`.execute(app.database.db)).rows[0]!.n;
    expect(scoped.body.total).to.equal(follows);
    // A tag in the filter (resolved to its number before the query): exactly the customers who hold it.
    await recomputeFactTags(app.database.db, { now: new Date() });
    const tagged = await sql<{ id: string; name: string }>`SELECT t.id, t.name FROM tags t WHERE t.deleted_at IS NULL AND EXISTS (SELECT 1 FROM customer_tags ct WHERE ct.tag_id = t.id) ORDER BY t.tag_no LIMIT 1`.execute(app.database.db);
    expect(tagged.rows, 'the fact tags are assigned').to.have.length(1);
    const holders = await sql<{ cif_no: string }>`SELECT c.cif_no FROM customers c JOIN customer_tags ct ON ct.customer_id = c.id WHERE ct.tag_id = ${tagged.rows[0]!.id} ORDER BY 1`.execute(app.database.db);
    const byTag = await ops.post('/api/v1/customers/search', { filter: { field: 'tags', op: 'has', value: tagged.rows[0]!.id }, limit: 200 });
    expect(byTag.status).to.equal(200);
    expect(byTag.body.total).to.equal(holders.rows.length);
    const holding = new Set(holders.rows.map((h) => h.cif_no));
    expect(byTag.body.items).to.have.length(Math.min(200, holding.size));
    for (const c of byTag.body.items as { cif_no: string }[]) expect(holding.has(c.cif_no), c.cif_no).to.equal(true);
    const bad = await ops.post('/api/v1/customers/search', { filter: { all: [{ field: 'aum', op: 'gte', value: 'lots' }] } });
    expect(bad.status).to.equal(400);
    expect(bad.body.error.issues[0].path).to.match(/^body\.filter\.all\.0\.value/);
  });

  it('shows tags, scores and contacts in the 360 view', async () => {
    const target = customers.find((c) => c.wecom)!;
    const admin = await app.client().login('admin');
    const view = await admin.get(`/api/v1/customers/${await idOf(target.cifNo)}`);
    expect(view.status).to.equal(200);
    expect(view.body.contacts.map((c: { external_userid: string }) => c.external_userid)).to.include(target.wecom!.externalUserid);
    expect(view.body).to.have.property('tags').that.is.an('array');
    expect(view.body).to.have.property('scores');
  });
});
