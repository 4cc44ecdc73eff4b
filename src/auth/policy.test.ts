import { expect } from 'chai';
import { bootApp, testCipher, type TestApp } from '../../test/harness.js';
import { insertSyntheticCustomers, DEMO_CORP_ID } from '../demo/seed.js';
import { generateCustomers } from '../demo/synthetic.js';
import { DEMO_STAFF } from '../demo/branches.js';
import { PERMISSIONS, can } from './policy.js';

describe('roles and data scope', () => {
  let app: TestApp;
  const customers = [...generateCustomers(300)];
  before(async () => {
    app = await bootApp();
    await insertSyntheticCustomers(app.database.db, testCipher(), customers);
  });
  after(() => app.close());

  it('grants each permission to exactly the roles in the matrix', () => {
    expect(can('admin', 'staff.manage')).to.equal(true);
    expect(can('ops', 'staff.manage')).to.equal(false);
    expect(can('compliance', 'audit.read')).to.equal(true);
    expect(can('account_manager', 'audit.read')).to.equal(false);
    expect(can('ops', 'customers.reveal')).to.equal(false);
    expect(can('account_manager', 'customers.reveal')).to.equal(true);
    for (const roles of Object.values(PERMISSIONS)) expect(roles).to.include('admin');
  });

  const routeMatrix: [string, string, Record<string, number>][] = [
    ['GET', '/api/v1/audit', { admin: 200, compliance: 200, ops: 403, 'am.*': 403 }],
    ['GET', '/api/v1/staff', { admin: 200, 'bm.*': 200, ops: 403, compliance: 403, 'am.*': 403 }],
    ['GET', '/api/v1/customers/export', { admin: 200, ops: 200, 'bm.*': 200, compliance: 403, 'am.*': 403 }],
    ['GET', '/api/v1/settings', { admin: 200, ops: 200, compliance: 200, 'am.*': 403 }],
  ];
  const userFor = (key: string) => (key.endsWith('.*') ? DEMO_STAFF.find((s) => s.username.startsWith(key.slice(0, -1)))!.username : key);

  for (const [method, path, expected] of routeMatrix) {
    it(`answers ${method} ${path} per role: ${Object.entries(expected).map(([r, s]) => `${r} ${s}`).join(', ')}`, async () => {
      for (const [who, status] of Object.entries(expected)) {
        const client = await app.client().login(userFor(who));
        const r = await client.request(method, path);
        expect(r.status, `${who} ${method} ${path}`).to.equal(status);
      }
    });
  }

  it('answers 401 to anyone without a session', async () => {
    expect((await app.client().get('/api/v1/customers')).status).to.equal(401);
  });

  it('shows an account manager only the customers they follow', async () => {
    const manager = DEMO_STAFF.find((s) => s.role === 'account_manager')!;
    const followed = customers.filter((c) => c.wecom?.followerUserid === manager.wecomUserid).map((c) => c.cifNo).sort();
    expect(followed.length).to.be.greaterThan(0);
    const client = await app.client().login(manager.username);
    const r = await client.get('/api/v1/customers?limit=200');
    expect(r.status).to.equal(200);
    expect(r.body.total).to.equal(followed.length);
    expect(r.body.items.map((c: { cif_no: string }) => c.cif_no).sort()).to.deep.equal(followed);
  });

  it('hides a customer the manager does not follow, as not found', async () => {
    const manager = DEMO_STAFF.find((s) => s.role === 'account_manager')!;
    const other = customers.find((c) => !c.wecom || c.wecom.followerUserid !== manager.wecomUserid)!;
    const row = await app.database.db.selectFrom('customers').select('id').where('cif_no', '=', other.cifNo).executeTakeFirstOrThrow();
    const client = await app.client().login(manager.username);
    expect((await client.get(`/api/v1/customers/${row.id}`)).status).to.equal(404);
  });

  it('stops counting a customer once they delete the manager', async () => {
    const manager = DEMO_STAFF.find((s) => s.role === 'account_manager')!;
    const client = await app.client().login(manager.username);
    const before = (await client.get('/api/v1/customers')).body.total as number;
    const one = customers.find((c) => c.wecom?.followerUserid === manager.wecomUserid)!;
    await app.database.db
      .updateTable('follow_relations')
      .set({ deleted_at: new Date(), deleted_by: 'customer' })
      .where('corp_id', '=', DEMO_CORP_ID)
      .where('external_userid', '=', one.wecom!.externalUserid)
      .execute();
    expect((await client.get('/api/v1/customers')).body.total).to.equal(before - 1);
  });

  it('shows a branch manager the customers of their branch only', async () => {
    const bm = DEMO_STAFF.find((s) => s.role === 'branch_manager')!;
    const client = await app.client().login(bm.username);
    const r = await client.get('/api/v1/customers?limit=200');
    expect(r.body.total).to.equal(customers.filter((c) => c.branchId === bm.branchId).length);
    expect(r.body.items.every((c: { branch_id: string }) => c.branch_id === bm.branchId)).to.equal(true);
  });

  it('masks mobiles in lists for every role', async () => {
    for (const who of ['admin', 'ops']) {
      const r = await (await app.client().login(who)).get('/api/v1/customers?limit=5');
      for (const c of r.body.items) expect(c.mobile).to.match(/^1\d{2}\*{4}\d{4}$/);
    }
  });

  it('reveals a full record only to allowed roles, and audits each view', async () => {
    const target = customers[0]!;
    const row = await app.database.db.selectFrom('customers').select('id').where('cif_no', '=', target.cifNo).executeTakeFirstOrThrow();
    const admin = await app.client().login('admin');
    const full = await admin.get(`/api/v1/customers/${row.id}?reveal=true`);
    expect(full.body.mobile).to.equal(target.mobile);
    expect(full.body.idNumber).to.equal(target.idNumber);
    const ops = await app.client().login('ops');
    const masked = await ops.get(`/api/v1/customers/${row.id}?reveal=true`);
    expect(masked.body.revealed).to.equal(false);
    expect(masked.body.mobile).to.equal(`${target.mobile.slice(0, 3)}****${target.mobile.slice(-4)}`);
    expect(masked.body.idNumber).not.to.equal(target.idNumber);
    const views = await app.database.db.selectFrom('audit_log').selectAll().where('action', '=', 'customers.view').where('outcome', '=', 'success').where('target_id', '=', row.id).execute();
    expect(views.map((v) => (v.detail as { revealed: boolean }).revealed).sort()).to.deep.equal([false, true]);
  });

  it('finds a customer by mobile through the keyed hash', async () => {
    const target = customers[7]!;
    const r = await (await app.client().login('admin')).get(`/api/v1/customers?q=${target.mobile}`);
    expect(r.body.items.map((c: { cif_no: string }) => c.cif_no)).to.deep.equal([target.cifNo]);
  });
});
