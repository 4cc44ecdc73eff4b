import { expect } from 'chai';
import { sql } from 'kysely';
import { bootApp, testCipher, type TestApp, type TestClient } from '../../../test/harness.js';
import { until } from '../../../test/wecom.js';
import { generateCustomers, type SyntheticCustomer } from '../../demo/synthetic.js';
import { publish } from '../../sop/testing.js';
import { SOP_JOBS } from '../../sop/triggers.js';
import { createLogger } from '../../platform/logger.js';
import { TAG_JOBS } from '../../tags/jobs.js';
import { CSV_HEADER, csvLine } from './fixtures.js';
import { IMPORT_JOBS } from './followup.js';
import { importCustomers } from './index.js';
import { writeTemp } from './testing.js';

describe('journeys started by customer imports', function () {
  this.timeout(90_000);
  let app: TestApp;
  let ops: TestClient;
  before(async () => {
    app = await bootApp();
    ops = await app.client().login('ops');
  });
  after(() => app.close());

  const db = () => app.database.db;
  const upload = async (rows: SyntheticCustomer[], fileName: string) => {
    const r = await ops.request('POST', `/api/v1/imports?fileName=${fileName}`, [CSV_HEADER, ...rows.map(csvLine)].join('\n') + '\n', { 'content-type': 'text/csv' });
    expect(r.status, JSON.stringify(r.body)).to.equal(202);
    return until(async () => {
      const done = (await ops.get(`/api/v1/imports/${r.body.id as string}`)).body as { id: string; status: string; updated: number };
      return done.status === 'done' ? done : undefined;
    }, 30_000, `import ${fileName} to finish`);
  };
  /** The sop.event jobs an import caused, once every one of them has run. */
  const finishedJobsOf = (importId: string) =>
    until(async () => {
      const { rows } = await sql<{ finished: boolean }>`SELECT last_finished_at IS NOT NULL AS finished FROM agenda_jobs
        WHERE name = ${SOP_JOBS.event} AND data->'cause'->>'id' = ${`import:${importId}`}`.execute(db());
      return rows.length && rows.every((r) => r.finished) ? rows.length : undefined;
    }, 30_000, `the journey jobs of import ${importId} to run`);

  it('enrols a customer whom an imported file moves into 财富 in the journey triggered by aum_tier changing to 财富, and no one else', async () => {
    const { templateId } = await publish(db(), {
      key: 'import-wealth-upgrade',
      name: '升入财富客户关怀',
      trigger: { type: 'event', event: 'attribute_changed', attribute: 'aum_tier', to: '财富' },
      steps: [{ id: 'mark', type: 'tag', add: ['升入财富'] }],
    });
    const aums = [480_000, 200_000, 10_000];
    const people = [...generateCustomers(3, { seed: 29 })].map((p, i) => ({ ...p, aum: aums[i]!, riskLevel: 'R3' as const }));
    await upload(people, 'day1.csv');
    const mover = await db().selectFrom('customers').select('id').where('cif_no', '=', people[0]!.cifNo).executeTakeFirstOrThrow();

    // The first moves from 潜力 into 财富; the second's AUM changes within 潜力; the third is unchanged.
    const day2 = await upload(people.map((p, i) => (i === 0 ? { ...p, aum: 520_000 } : i === 1 ? { ...p, aum: 210_000 } : p)), 'day2.csv');
    expect(day2.updated).to.equal(2);
    expect(await finishedJobsOf(day2.id), 'one journey job per changed customer').to.equal(2);
    const enrolled = await db().selectFrom('sop_enrollments').select(['customer_id', 'cause_type', 'cause_id']).where('template_id', '=', templateId).execute();
    expect(enrolled).to.deep.equal([{ customer_id: mover.id, cause_type: 'system', cause_id: `import:${day2.id}` }]);
  });

  it('enrols from an import run on the command line once the service follows it up, and queues the fact tags of that import', async () => {
    const { templateId } = await publish(db(), {
      key: 'import-risk-down',
      name: '风险等级下调提醒',
      trigger: { type: 'event', event: 'attribute_changed', attribute: 'risk_level', to: 'R1' },
      steps: [{ id: 'mark', type: 'tag', add: ['风险等级下调'] }],
    });
    const people = [...generateCustomers(2, { seed: 31 })].map((p) => ({ ...p, riskLevel: 'R3' as const }));
    await upload(people, 'cli-day1.csv');
    // What `npm run import` does: the importer on the database, with no event bus and no job runner.
    const deps = { db: db(), cipher: testCipher(), logger: createLogger({ level: 'silent' }) };
    const summary = await importCustomers(deps, { path: writeTemp('cli-day2.csv', [CSV_HEADER, ...people.map((p, i) => csvLine(i === 0 ? { ...p, riskLevel: 'R1' } : p))].join('\n') + '\n') });
    expect(summary).to.include({ updated: 1 });
    expect(await db().selectFrom('import_changes').select('customer_id').where('import_id', '=', summary.importId).execute()).to.have.length(1);
    // The service's every-minute run, started now rather than waited for.
    await app.jobs.enqueue(IMPORT_JOBS.followUp, {}, { key: `test:${summary.importId}`, cause: { type: 'system', id: 'test' } });
    expect(await finishedJobsOf(summary.importId)).to.equal(1);
    const mover = await db().selectFrom('customers').select('id').where('cif_no', '=', people[0]!.cifNo).executeTakeFirstOrThrow();
    const enrolled = await db().selectFrom('sop_enrollments').select(['customer_id', 'cause_id']).where('template_id', '=', templateId).execute();
    expect(enrolled).to.deep.equal([{ customer_id: mover.id, cause_id: `import:${summary.importId}` }]);
    const facts = await until(async () => {
      const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM agenda_jobs WHERE name = ${TAG_JOBS.facts} AND data->>'jobKey' = ${`import:${summary.importId}`}`.execute(db());
      return rows[0]!.n || undefined;
    }, 30_000, 'the fact tags of the import to be queued');
    expect(facts).to.equal(1);
    const row = await db().selectFrom('imports').select('followed_up_at').where('id', '=', summary.importId).executeTakeFirstOrThrow();
    expect(row.followed_up_at).to.be.instanceOf(Date);
  });
});
