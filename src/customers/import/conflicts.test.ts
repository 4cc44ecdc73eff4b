import { expect } from 'chai';
import { sql } from 'kysely';
import { generateCustomers } from '../../demo/synthetic.js';
import { LogCapture } from '../../../test/harness.js';
import { createLogger } from '../../platform/logger.js';
import { importCustomers } from './index.js';
import { CSV_HEADER, csvLine } from './fixtures.js';
import { dumpCustomers, importFixture, writeTemp, type ImportFixture } from './testing.js';

describe('customer imports meeting other writers', () => {
  let f: ImportFixture;
  before(async () => {
    f = await importFixture();
  });
  after(() => f.handle.close());

  it('resumes from the last committed batch when PostgreSQL picks one of its batches as a deadlock’s victim, and finishes with every row', async function () {
    this.timeout(30_000);
    const people = [...generateCustomers(12, { seed: 41 })].sort((a, b) => a.cifNo.localeCompare(b.cifNo));
    const csv = (rows: typeof people) => [CSV_HEADER, ...rows.map(csvLine)].join('\n') + '\n';
    const day1 = await importCustomers(f.deps, { path: writeTemp('day1.csv', csv(people)) });
    const stored1 = new Set((await dumpCustomers(f.db, f.cipher)).map((c) => c.cif_no));
    // Day 2 changes every AUM. Batches of 4 rows, one connection: batch 1 commits, batch 2 (people 4–7) deadlocks.
    const day2 = people.map((p) => ({ ...p, aum: Math.round(p.aum) + 1_000 })); // whole yuan: no float noise in the file
    const [a, b] = [people[4]!.cifNo, people[5]!.cifNo];

    // Another writer holds B, waits until the import's batch has locked A (rows are written in CIF order) and is
    // waiting for B, then asks for A: a cycle. Its own deadlock check is delayed, so the import's fires first.
    const other = await f.handle.pool.connect();
    const logs = new LogCapture();
    try {
      await other.query('BEGIN');
      await other.query(`SET LOCAL deadlock_timeout = '20s'`);
      await other.query('SELECT 1 FROM customers WHERE cif_no = $1 FOR UPDATE', [b]);
      const running = importCustomers({ ...f.deps, logger: createLogger({ level: 'warn', destination: logs }) }, {
        path: writeTemp('day2.csv', csv(day2)), batchSize: 4, connections: 1,
      });
      for (let waited = 0; ; waited += 50) {
        const { rows } = await f.handle.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database() AND pid <> $1`, [(other as unknown as { processID: number }).processID]);
        if (rows[0]!.n > 0) break;
        if (waited > 10_000) throw new Error('the import never waited for the held row');
        await new Promise((r) => setTimeout(r, 50));
      }
      const mine = other.query('SELECT 1 FROM customers WHERE cif_no = $1 FOR UPDATE', [a]);
      // The import's batch is the victim; once it rolled back, this writer gets A and commits, and the import resumes.
      await mine;
      await other.query('COMMIT');
      const summary = await running;
      // Every row the first day accepted is updated once; a row the checks refuse is refused both days.
      expect(summary).to.include({ status: 'done', updated: day1.inserted, unchanged: 0, rejected: day1.rejected });
    } finally {
      other.release();
    }
    expect(logs.lines.some((l) => l.msg === 'customer import batch lost a lock conflict; resuming from the last committed batch' && l.attempt === 1)).to.equal(true);
    const stored = await dumpCustomers(f.db, f.cipher);
    expect(stored.map((c) => [c.cif_no, Number(c.aum)])).to.deep.equal(day2.filter((p) => stored1.has(p.cifNo)).map((p) => [p.cifNo, p.aum]));
    const imports = await sql<{ status: string }>`SELECT status FROM imports ORDER BY started_at`.execute(f.db);
    expect(imports.rows.map((r) => r.status)).to.deep.equal(['done', 'done']);
  });
});
