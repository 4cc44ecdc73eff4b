import { expect } from 'chai';
import { sql } from 'kysely';
import { bootApp, type TestApp, type TestClient } from '../../../test/harness.js';
import { until } from '../../../test/wecom.js';
import { generateCustomers, type SyntheticCustomer } from '../../demo/synthetic.js';
import { publish } from '../../sop/testing.js';
import { SOP_JOBS } from '../../sop/triggers.js';
import { CSV_HEADER, csvLine } from './fixtures.js';

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
});
