import { expect } from 'chai';
import { sql } from 'kysely';
import { bootApp, type TestApp } from '../../test/harness.js';

describe('audit log', () => {
  let app: TestApp;
  before(async () => {
    app = await bootApp();
  });
  after(() => app.close());

  it('records a login with who, when, from which IP and the outcome', async () => {
    await app.client().login('ops');
    const row = await app.database.db.selectFrom('audit_log').selectAll().where('action', '=', 'auth.login').where('outcome', '=', 'success').orderBy('id', 'desc').executeTakeFirstOrThrow();
    const ops = await app.database.db.selectFrom('staff').select('id').where('username', '=', 'ops').executeTakeFirstOrThrow();
    expect(row.actor_type).to.equal('staff');
    expect(row.actor_id).to.equal(ops.id);
    expect(row.ip).to.match(/127\.0\.0\.1/);
    expect(row.request_id).to.be.a('string');
    expect(row.at).to.be.instanceOf(Date);
  });

  it('records an export', async () => {
    const r = await (await app.client().login('admin')).get('/api/v1/customers/export');
    expect(r.status).to.equal(200);
    expect(r.body).to.match(/^cif_no,name,mobile/);
    const row = await app.database.db.selectFrom('audit_log').selectAll().where('action', '=', 'customers.export').executeTakeFirst();
    expect(row?.outcome).to.equal('success');
  });

  it('records a configuration change with the values before and after', async () => {
    const client = await app.client().login('admin');
    const r = await client.request('PUT', '/api/v1/settings/outbound.quietHours', { value: { start: '22:00', end: '07:30' } });
    expect(r.status).to.equal(200);
    expect(r.body.version).to.equal(1);
    const row = await app.database.db.selectFrom('audit_log').selectAll().where('action', '=', 'settings.update').executeTakeFirstOrThrow();
    expect(row.target_id).to.equal('outbound.quietHours');
    expect(row.detail).to.deep.include({ before: { start: '21:00', end: '08:00', timezone: 'Asia/Shanghai' } });
    expect((row.detail as { after: { start: string } }).after.start).to.equal('22:00');
  });

  it('refuses updates and deletes, even from the application’s own connection', async () => {
    await app.client().login('ops');
    let error: unknown;
    try {
      await sql`UPDATE audit_log SET outcome = 'failure'`.execute(app.database.db);
    } catch (e) {
      error = e;
    }
    expect(String(error)).to.match(/append-only/);
    error = undefined;
    try {
      await sql`DELETE FROM audit_log`.execute(app.database.db);
    } catch (e) {
      error = e;
    }
    expect(String(error)).to.match(/append-only/);
  });

  it('lists entries to compliance staff, filtered by action', async () => {
    const client = await app.client().login('compliance');
    const r = await client.get('/api/v1/audit?action=auth.&limit=10');
    expect(r.status).to.equal(200);
    expect(r.body.items.length).to.be.greaterThan(0);
    expect(r.body.items.every((i: { action: string }) => i.action.startsWith('auth.'))).to.equal(true);
  });
});
