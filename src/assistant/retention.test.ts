import { expect } from 'chai';
import { sql } from 'kysely';
import { bootApp, type TestApp } from '../../test/harness.js';
import { answerCustomer } from './answer.js';
import { ASSISTANT_RETENTION_JOB } from './jobs.js';
import { customerFollowing, until } from './testing.js';

describe('assistant audit retention', () => {
  let app: TestApp;
  before(async () => {
    app = await bootApp({ ASSISTANT_AUDIT_RETENTION_DAYS: '30' });
  });
  after(() => app.close());
  const db = () => app.database.db;

  it('is scheduled nightly', async () => {
    const { rows } = await app.database.pool.query<{ repeat_interval: string }>(`SELECT repeat_interval FROM agenda_jobs WHERE name = $1`, [ASSISTANT_RETENTION_JOB]);
    expect(rows.map((r) => r.repeat_interval)).to.deep.equal(['40 3 * * *']);
  });

  it('deletes audit rows older than ASSISTANT_AUDIT_RETENTION_DAYS and keeps newer ones and the appointments they led to', async () => {
    const customer = await customerFollowing(db(), 'LiNa');
    const old = await answerCustomer(app.assistant, { text: '大额存单利率多少', customerId: customer.id, channel: 'kf' });
    const recent = await answerCustomer(app.assistant, { text: '定期存款利率多少', customerId: customer.id, channel: 'kf' });
    const edge = await answerCustomer(app.assistant, { text: '网点几点上班', customerId: customer.id, channel: 'kf' });
    await db().updateTable('assistant_audit').set({ created_at: sql<Date>`now() - interval '31 days'` }).where('id', '=', old.auditId).execute();
    await db().updateTable('assistant_audit').set({ created_at: sql<Date>`now() - interval '29 days'` }).where('id', '=', edge.auditId).execute();
    const appointment = await db()
      .insertInto('appointments')
      .values({ customer_id: customer.id, corp_id: null, external_userid: null, branch_id: 'br-hq', date: '2026-12-30', purpose: '开户', source: 'assistant', audit_id: old.auditId })
      .returning('id')
      .executeTakeFirstOrThrow();

    await app.jobs.enqueue(ASSISTANT_RETENTION_JOB, {}, { key: 'test-run', cause: { type: 'system', id: 'test' } });
    const remaining = async () => (await db().selectFrom('assistant_audit').select('id').where('id', 'in', [old.auditId, recent.auditId, edge.auditId]).execute()).map((r) => r.id);
    await until(async () => !(await remaining()).includes(old.auditId), 'the old audit row to be deleted');
    expect((await remaining()).sort()).to.deep.equal([recent.auditId, edge.auditId].sort());
    const kept = await db().selectFrom('appointments').select(['id', 'audit_id']).where('id', '=', appointment.id).executeTakeFirstOrThrow();
    expect(kept.audit_id).to.equal(null);
  });
});
