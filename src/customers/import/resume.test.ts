import { expect } from 'chai';
import pg from 'pg';
import { sql } from 'kysely';
import { generateCustomers } from '../../demo/synthetic.js';
import { AppError } from '../../platform/errors.js';
import { importCustomers, type ImportProgress } from './index.js';
import { CSV_HEADER, csvLine, faultyCsvLine } from './fixtures.js';
import { sha256File } from './source.js';
import { dumpCustomers, importFixture, rejections, writeTemp, type ImportFixture } from './testing.js';

/** 600 rows: every 50th faulty, and line 550 repeats the CIF number of line 12 (accepted long before). */
function bigCsv(): string {
  const people = [...generateCustomers(600, { seed: 7 })];
  const lines = people.map((p, i) => (i % 50 === 49 ? faultyCsvLine(p, Math.floor(i / 50)).line : csvLine(p)));
  lines[548] = csvLine({ ...people[548]!, cifNo: people[10]!.cifNo });
  return [CSV_HEADER, ...lines].join('\n') + '\n';
}

const failureOf = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as Error);

/** Stops an import after `n` committed batches, the way a user or a shutdown would. */
function abortAfter(n: number) {
  const controller = new AbortController();
  const seen: ImportProgress[] = [];
  return {
    signal: controller.signal,
    seen,
    onProgress: (p: ImportProgress) => {
      seen.push(p);
      if (seen.length === n) controller.abort();
    },
  };
}

describe('resuming customer imports', () => {
  let f: ImportFixture;
  let reference: ImportFixture;
  before(async () => {
    // The same file imported in one go, to compare resumed imports with.
    reference = await importFixture();
    await importCustomers(reference.deps, { path: writeTemp('big.csv', bigCsv()), batchSize: 100 });
  });
  after(async () => {
    await reference.handle.close();
  });
  beforeEach(async () => {
    f = await importFixture();
  });
  afterEach(async () => {
    await f.handle.close();
  });

  it('an aborted import resumes from its last batch and ends with the same data as an uninterrupted one', async () => {
    const file = writeTemp('big.csv', bigCsv());
    const stop = abortAfter(3);
    const failure = await failureOf(importCustomers(f.deps, { path: file, batchSize: 100, ...stop }));
    expect(failure?.name).to.equal('AbortError');
    // Batch 4 was already being written on the second connection when batch 3 committed: it commits too.
    expect(stop.seen.map((p) => p.processedRows)).to.deep.equal([100, 200, 300, 400]);
    const interrupted = await f.db.selectFrom('imports').selectAll().executeTakeFirstOrThrow();
    expect(interrupted).to.include({ status: 'failed', processed_rows: 400, line_number: 401, byte_offset: String(stop.seen[3]!.byteOffset) });
    expect(await f.db.selectFrom('customers').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).to.deep.equal({ n: 392 });

    const progress: ImportProgress[] = [];
    const resumed = await importCustomers(f.deps, { path: file, batchSize: 100, onProgress: (p) => progress.push(p) });
    expect(resumed).to.include({ importId: interrupted.id, resumed: true, status: 'done', processedRows: 600, inserted: 587, updated: 0, unchanged: 0, rejected: 13 });
    expect(progress.map((p) => p.processedRows)).to.deep.equal([500, 600]);
    expect(await dumpCustomers(f.db, f.cipher)).to.deep.equal(await dumpCustomers(reference.db, reference.cipher));
    const lines = async (x: ImportFixture, id: string) => (await rejections(x.db, id)).map((r) => [r.line_number, r.reasons]);
    const referenceId = (await reference.db.selectFrom('imports').select('id').executeTakeFirstOrThrow()).id;
    expect(await lines(f, resumed.importId)).to.deep.equal(await lines(reference, referenceId));
    // The repeated CIF number after the resume point was still caught as a repeat of line 12.
    expect((await rejections(f.db, resumed.importId)).find((r) => r.line_number === 550)?.reasons).to.deep.equal([
      { field: 'cif_no', message: 'appears again: already imported from line 12 of this file' },
    ]);
  });

  it('an import left running by a crashed process is resumed, and one still running elsewhere is refused', async () => {
    const file = writeTemp('big.csv', bigCsv());
    await failureOf(importCustomers(f.deps, { path: file, batchSize: 100, ...abortAfter(1) }));
    // What a process killed mid-import leaves behind: the row still says running, and nobody holds its lock.
    await f.db.updateTable('imports').set({ status: 'running', error: 'left as it was' }).execute();

    const other = new pg.Client({ connectionString: f.handle.url });
    await other.connect();
    try {
      const key = `customers.import:${await sha256File(file)}`;
      await other.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [key]);
      const refused = await failureOf(importCustomers(f.deps, { path: file, batchSize: 100 }));
      expect(refused).to.be.instanceOf(AppError);
      expect(refused).to.include({ kind: 'conflict' });
      expect(refused?.message).to.match(/^an import of this file is already running \([0-9a-f-]{36}\)$/);
      await other.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]);
    } finally {
      await other.end();
    }
    const resumed = await importCustomers(f.deps, { path: file, batchSize: 100 });
    expect(resumed).to.include({ resumed: true, processedRows: 600, inserted: 587, rejected: 13 });
    expect(await f.db.selectFrom('imports').select(['status', 'error']).execute()).to.deep.equal([{ status: 'done', error: null }]);
  });

  it('a batch that fails mid-way leaves none of its rows, and the import resumes once the cause is gone', async () => {
    const people = [...generateCustomers(30, { seed: 11 })];
    const lines = people.map(csvLine);
    lines[16] = faultyCsvLine(people[16]!, 0).line; // a rejected row in the failing batch: not recorded either
    const file = writeTemp('thirty.csv', [CSV_HEADER, ...lines].join('\n'));
    const victim = people[14]!.cifNo; // the 5th row of the second batch of 10
    await sql`CREATE FUNCTION refuse_victim() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.cif_no = ${sql.lit(victim)} THEN RAISE EXCEPTION 'simulated failure'; END IF; RETURN NEW; END $$`.execute(f.db);
    await sql`CREATE TRIGGER refuse_victim BEFORE INSERT ON customers FOR EACH ROW EXECUTE FUNCTION refuse_victim()`.execute(f.db);

    const failure = await failureOf(importCustomers(f.deps, { path: file, batchSize: 10 }));
    expect(failure?.message).to.equal('simulated failure');
    const stored = await f.db.selectFrom('customers').select('cif_no').orderBy('cif_no').execute();
    expect(stored.map((r) => r.cif_no)).to.deep.equal(people.slice(0, 10).map((p) => p.cifNo).sort());
    const state = await f.db.selectFrom('imports').select(['id', 'status', 'error', 'processed_rows', 'line_number']).executeTakeFirstOrThrow();
    expect(state).to.include({ status: 'failed', error: 'simulated failure', processed_rows: 10, line_number: 11 });
    expect(await rejections(f.db, state.id)).to.deep.equal([]);

    await sql`DROP TRIGGER refuse_victim ON customers`.execute(f.db);
    const resumed = await importCustomers(f.deps, { path: file, batchSize: 10 });
    expect(resumed).to.include({ importId: state.id, resumed: true, processedRows: 30, inserted: 29, rejected: 1 });
    expect((await rejections(f.db, state.id)).map((r) => r.line_number)).to.deep.equal([18]);
  });
});
