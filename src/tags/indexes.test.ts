import { expect } from 'chai';
import { sql } from 'kysely';
import { testCipher, testDatabase } from '../../test/harness.js';
import { BRANCHES } from '../demo/branches.js';
import { insertSyntheticCustomers } from '../demo/seed.js';
import { DEFAULT_AS_OF, generateCustomers } from '../demo/synthetic.js';
import type { DatabaseHandle, Db } from '../platform/db/database.js';
import type { Actor } from '../platform/http/context.js';
import { countSegment, planPredicate, planSegment } from '../segments/index.js';
import { recomputeFactTags } from './facts.js';
import { syncTagIndexes, tagIndexName } from './indexes.js';

const ADMIN: Actor = { id: 'test', username: 'test', displayName: 'test', role: 'admin', branchId: null, corpId: null, wecomUserid: null, sessionId: 'test' };
const RULE = { method: 'rule', filter: { all: [{ field: 'tags', op: 'has', value: '临近退休' }, { field: 'last_contact_at', op: 'not_within_last_days', value: 90 }] } };

describe('partial indexes of the fact tags', () => {
  let database: DatabaseHandle, db: Db;
  const factTags = async () => (await sql<{ tag_no: number; name: string }>`SELECT t.tag_no, t.name FROM tags t JOIN tag_groups g ON g.id = t.group_id
    WHERE g.layer = 'fact' AND t.deleted_at IS NULL ORDER BY t.tag_no`.execute(db)).rows;
  const tagIndexes = async () => (await sql<{ name: string; valid: boolean; def: string }>`SELECT c.relname AS name, i.indisvalid AS valid, pg_get_indexdef(i.indexrelid) AS def
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'customers'::regclass AND c.relname ~ '^customers_tag_[0-9]+_v' ORDER BY 1`.execute(db)).rows;

  before(async function () {
    this.timeout(120_000);
    database = await testDatabase();
    db = database.db;
    await db.insertInto('branches').values(BRANCHES.map((b) => ({ ...b }))).execute();
    await insertSyntheticCustomers(db, testCipher(), generateCustomers(600));
    await recomputeFactTags(db, { now: DEFAULT_AS_OF });
  });
  after(() => database?.close());

  it('builds one valid index per live fact tag, keyed by the tag’s number, and a second run changes nothing', async () => {
    const tags = await factTags();
    expect(tags.length).to.be.greaterThan(5);
    const first = await syncTagIndexes(db);
    expect(first.created.sort()).to.deep.equal(tags.map((t) => tagIndexName(t.tag_no)).sort());
    expect(first.dropped).to.deep.equal([]);
    // The other indexes of customers are not this job's: the GIN index on tag_nos shares the name's beginning.
    const gin = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = 'customers' AND indexname = 'customers_tag_nos'`.execute(db);
    expect(gin.rows[0]!.n).to.equal(1);
    const indexes = await tagIndexes();
    expect(indexes.map((i) => i.name).sort()).to.deep.equal(first.created.sort());
    expect(indexes.every((i) => i.valid)).to.equal(true);
    const retire = tags.find((t) => t.name === '临近退休')!;
    expect(indexes.find((i) => i.name === tagIndexName(retire.tag_no))!.def).to.match(new RegExp(`\\(id\\) INCLUDE \\(aum, .*, tag_nos\\) WHERE \\(tag_nos @> ARRAY\\[${retire.tag_no}\\]\\)$`));
    expect(await syncTagIndexes(db)).to.deep.equal({ created: [], dropped: [] });
  });

  it('lets a segment whose selective condition is a fact tag be counted from that tag’s index alone, with the same count', async () => {
    await syncTagIndexes(db);
    await sql`VACUUM ANALYZE customers`.execute(db);
    const retire = (await factTags()).find((t) => t.name === '临近退休')!;
    const where = planPredicate(await planSegment(db, RULE), { now: DEFAULT_AS_OF });
    const plan = await db.transaction().execute(async (trx) => {
      // A few hundred customers fit in a page or two, where a sequential scan is cheapest; the plan must still be possible.
      await sql`SET LOCAL enable_seqscan = off`.execute(trx);
      await sql`SET LOCAL enable_bitmapscan = off`.execute(trx);
      return (await trx.selectFrom('customers').select(sql`count(*)`.as('n')).where(where).explain()).map((r) => String(r['QUERY PLAN'])).join('\n');
    });
    expect(plan).to.contain(`Index Only Scan using ${tagIndexName(retire.tag_no)}`);
    const expected = await sql<{ n: number }>`SELECT count(*)::int AS n FROM customers c JOIN customer_tags ct ON ct.customer_id = c.id JOIN tags t ON t.id = ct.tag_id
      WHERE t.name = '临近退休' AND (c.last_contact_at IS NULL OR c.last_contact_at < ${new Date(DEFAULT_AS_OF.getTime() - 90 * 86_400_000)})`.execute(db);
    const count = await countSegment(db, { definition: RULE }, ADMIN, { now: DEFAULT_AS_OF });
    expect(count).to.be.greaterThan(0);
    // The rule counts whole calendar days; the check above counts 90 × 24 hours back from midnight, the same boundary.
    expect(count).to.equal(expected.rows[0]!.n);
  });

  it('drops the index of a tag that is gone and of a superseded version, and rebuilds one left invalid', async () => {
    await syncTagIndexes(db);
    const [gone, broken] = await factTags();
    await db.updateTable('tags').set({ deleted_at: new Date() }).where('tag_no', '=', gone!.tag_no).execute();
    await sql`CREATE INDEX customers_tag_${sql.raw(String(broken!.tag_no))}_v0 ON customers (id) WHERE tag_nos @> ARRAY[${sql.raw(String(broken!.tag_no))}]`.execute(db);
    await sql`UPDATE pg_index SET indisvalid = false WHERE indexrelid = ${tagIndexName(broken!.tag_no)}::regclass`.execute(db);
    const result = await syncTagIndexes(db);
    expect(result.dropped.sort()).to.deep.equal([tagIndexName(gone!.tag_no), tagIndexName(broken!.tag_no), `customers_tag_${broken!.tag_no}_v0`].sort());
    expect(result.created).to.deep.equal([tagIndexName(broken!.tag_no)]);
    const indexes = await tagIndexes();
    expect(indexes.every((i) => i.valid)).to.equal(true);
    expect(indexes.map((i) => i.name)).to.not.include(tagIndexName(gone!.tag_no));
    expect(indexes.map((i) => i.name)).to.include(tagIndexName(broken!.tag_no));
  });

  it('leaves the work to the process that holds the lock: a caller that cannot take it builds nothing', async () => {
    await db.updateTable('tags').set({ deleted_at: null }).where('deleted_at', 'is not', null).execute();
    const missing = (await factTags()).map((t) => tagIndexName(t.tag_no));
    await syncTagIndexes(db);
    await sql`DROP INDEX ${sql.id(missing[0]!)}`.execute(db);
    // Another process in the middle of a run: it holds the session lock on its own connection.
    const other = await database.pool.connect();
    try {
      await other.query(`SELECT pg_advisory_lock(hashtext('tags.indexes'))`);
      expect(await syncTagIndexes(db)).to.deep.equal({ created: [], dropped: [] });
      expect((await tagIndexes()).map((i) => i.name)).to.not.include(missing[0]);
      await other.query(`SELECT pg_advisory_unlock(hashtext('tags.indexes'))`);
    } finally {
      other.release();
    }
    expect((await syncTagIndexes(db)).created).to.deep.equal([missing[0]]);
    expect((await tagIndexes()).every((i) => i.valid)).to.equal(true);
  });
});
