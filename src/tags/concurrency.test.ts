import { expect } from 'chai';
import { sql } from 'kysely';
import { testCipher, testDatabase } from '../../test/harness.js';
import { BRANCHES } from '../demo/branches.js';
import { insertSyntheticCustomers } from '../demo/seed.js';
import { DEFAULT_AS_OF, generateCustomers } from '../demo/synthetic.js';
import type { DatabaseHandle, Db } from '../platform/db/database.js';
import { createLogger } from '../platform/logger.js';
import { runScoring } from '../scoring/job.js';
import { recomputeFactTags } from './facts.js';

const DAY_MS = 86_400_000;
const silent = createLogger({ level: 'silent' });

describe('bulk tag writers running at once', () => {
  let database: DatabaseHandle, db: Db;

  before(async function () {
    this.timeout(120_000);
    database = await testDatabase();
    db = database.db;
    await db.insertInto('branches').values(BRANCHES.map((b) => ({ ...b }))).execute();
    await insertSyntheticCustomers(db, testCipher(), generateCustomers(3000));
  });
  after(() => database?.close());

  it('lets the nightly fact tags, a customer batch of fact tags and two scoring runs overlap without a deadlock, each customer ending with its tags and band', async function () {
    this.timeout(300_000);
    const ids = (await db.selectFrom('customers').select('id').orderBy('cif_no').execute()).map((r) => r.id);
    for (let round = 0; round < 4; round++) {
      // Each round moves the day, so 新客 and 沉睡 flip for many customers and every writer has work.
      const now = new Date(DEFAULT_AS_OF.getTime() + (round % 2 ? 400 : 0) * DAY_MS);
      const batch = ids.filter((_, i) => i % 3 === round % 3).reverse();
      await Promise.all([
        recomputeFactTags(db, { now }),
        runScoring({ db, logger: silent }, { now, batchSize: 200 }),
        recomputeFactTags(db, { now, customerIds: batch }),
        runScoring({ db, logger: silent }, { now, batchSize: 300 }),
      ]);
    }
    const drift = await sql<{ n: number }>`SELECT count(*)::int AS n FROM customers c
      WHERE c.tag_nos IS DISTINCT FROM (SELECT coalesce(array_agg(t.tag_no ORDER BY t.tag_no), '{}') FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id WHERE ct.customer_id = c.id)
         OR c.churn_band IS DISTINCT FROM (SELECT s.churn_band FROM customer_scores s WHERE s.customer_id = c.id)`.execute(db);
    expect(drift.rows[0]!.n).to.equal(0);
  });
});
