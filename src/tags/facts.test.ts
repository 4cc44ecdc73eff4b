import { expect } from 'chai';
import { sql } from 'kysely';
import { testCipher, testDatabase } from '../../test/harness.js';
import { BRANCHES } from '../demo/branches.js';
import { DEMO_CORP_ID, insertSyntheticCustomers } from '../demo/seed.js';
import { generateCustomers } from '../demo/synthetic.js';
import type { DatabaseHandle, Db } from '../platform/db/database.js';
import { updateSetting } from '../settings/index.js';
import { ATTRIBUTE_GROUP, AUM_GROUP, recomputeFactTags } from './facts.js';

const now = new Date('2026-11-23T10:00:00+08:00');
const dayStart = (daysAgo: number) => new Date(Date.parse('2026-11-23T00:00:00+08:00') - daysAgo * 86_400_000);
const OLD = '2024-01-01T00:00:00+08:00';
const RECENT_TXN = '2026-11-20T09:00:00+08:00';

interface Hand { cif: string; aum?: number; gender?: 'M' | 'F'; birth?: string; segments?: string[]; created?: Date | string; txn?: Date | string | null; relations?: { added: Date | string; deleted?: boolean }[] }
const HAND: Hand[] = [
  { cif: 'T-MASS', aum: 1_000 },
  { cif: 'T-POT-EDGE', aum: 50_000 },
  { cif: 'T-POT-TOP', aum: 499_999.99 },
  { cif: 'T-WEALTH', aum: 500_000 },
  { cif: 'T-PRIVATE', aum: 6_000_000 },
  { cif: 'T-PAYROLL', segments: ['代发', '社保'] },
  { cif: 'T-MAN-56', gender: 'M', birth: '1969-11-24' },
  { cif: 'T-MAN-60', gender: 'M', birth: '1966-11-23' },
  { cif: 'T-WOMAN-50', gender: 'F', birth: '1976-11-23' },
  { cif: 'T-WOMAN-49', gender: 'F', birth: '1976-11-24' },
  { cif: 'T-SEG-RETIRE', gender: 'M', birth: '1996-01-01', segments: ['临近退休'] },
  { cif: 'T-NEW-EDGE', created: dayStart(90) },
  { cif: 'T-NOT-NEW', created: new Date(dayStart(90).getTime() - 60_000) },
  { cif: 'T-NEW-RELATION', relations: [{ added: dayStart(10) }] },
  { cif: 'T-OLD-RELATION', relations: [{ added: '2025-01-01T10:00:00+08:00', deleted: true }, { added: dayStart(10) }] },
  { cif: 'T-ASLEEP', txn: new Date(dayStart(180).getTime() - 1) },
  { cif: 'T-AWAKE-EDGE', txn: dayStart(180) },
  { cif: 'T-NEVER-OLD', txn: null },
  { cif: 'T-NEVER-NEW', txn: null, created: dayStart(20) },
];

async function insertHandBuilt(db: Db): Promise<Map<string, string>> {
  const rows = await db
    .insertInto('customers')
    .values(HAND.map((h) => ({
      cif_no: h.cif, name: h.cif, aum: h.aum ?? 10_000, gender: h.gender ?? null, birth_date: h.birth ?? null, segments: h.segments ?? [],
      created_at: new Date(h.created ?? OLD), last_txn_at: h.txn === undefined ? RECENT_TXN : h.txn,
    })))
    .returning(['id', 'cif_no'])
    .execute();
  const ids = new Map(rows.map((r) => [r.cif_no, r.id]));
  for (const h of HAND.filter((x) => x.relations)) {
    const ext = `wm-${h.cif}`;
    await db.insertInto('external_contacts').values({ corp_id: DEMO_CORP_ID, external_userid: ext, name: h.cif, customer_id: ids.get(h.cif)!, gender: null, unionid: null, avatar: null }).execute();
    for (const [i, r] of h.relations!.entries()) {
      await db.insertInto('follow_relations').values({
        corp_id: DEMO_CORP_ID, userid: `member${i}`, external_userid: ext, remark: null, description: null, add_way: 1, state: null,
        added_at: r.added, deleted_at: r.deleted ? '2025-06-01T00:00:00+08:00' : null, deleted_by: r.deleted ? 'customer' : null,
      }).execute();
    }
  }
  return ids;
}

describe('fact tags', function () {
  this.timeout(120_000);
  let database: DatabaseHandle, db: Db, ids: Map<string, string>, staffId: string;
  const tagsOf = async (cif: string, group: string) =>
    (await sql<{ name: string }>`SELECT t.name FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id JOIN tag_groups g ON g.id = t.group_id
      WHERE ct.customer_id = ${ids.get(cif)} AND g.name = ${group} ORDER BY t.name`.execute(db)).rows.map((r) => r.name);
  const tier = async (cif: string) => (await tagsOf(cif, AUM_GROUP)).join(',');
  const holders = async (name: string) =>
    (await sql<{ cif_no: string }>`SELECT c.cif_no FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id JOIN tag_groups g ON g.id = t.group_id
      JOIN customers c ON c.id = ct.customer_id WHERE g.name = ${ATTRIBUTE_GROUP} AND t.name = ${name} AND c.cif_no LIKE 'T-%' ORDER BY c.cif_no`.execute(db)).rows.map((r) => r.cif_no);

  before(async () => {
    database = await testDatabase();
    db = database.db;
    await db.insertInto('branches').values(BRANCHES.map((b) => ({ ...b }))).execute();
    await insertSyntheticCustomers(db, testCipher(), generateCustomers(1000));
    ids = await insertHandBuilt(db);
    staffId = (await db.insertInto('staff').values({ username: 'admin', display_name: 'admin', role: 'admin', branch_id: null, corp_id: null, wecom_userid: null, title: null, password_hash: null }).returning('id').executeTakeFirstOrThrow()).id;
  });
  after(() => database.close());

  it('puts every customer in exactly one AUM tier by the default thresholds, with source fact and the rule as cause', async () => {
    const first = await recomputeFactTags(db, { now });
    expect(first.added).to.be.greaterThan(1019);
    expect(first.removed).to.equal(0);
    expect([await tier('T-MASS'), await tier('T-POT-EDGE'), await tier('T-POT-TOP'), await tier('T-WEALTH'), await tier('T-PRIVATE')]).to.deep.equal(['大众', '潜力', '潜力', '财富', '私行']);
    const perCustomer = await sql<{ n: number; customers: number }>`SELECT n, count(*)::int AS customers FROM (
      SELECT c.id, count(ct.tag_id)::int AS n FROM customers c
      LEFT JOIN customer_tags ct ON ct.customer_id = c.id AND ct.tag_id IN (SELECT t.id FROM tags t JOIN tag_groups g ON g.id = t.group_id WHERE g.name = ${AUM_GROUP})
      GROUP BY c.id) x GROUP BY n`.execute(db);
    expect(perCustomer.rows).to.deep.equal([{ n: 1, customers: 1000 + HAND.length }]);
    const row = await sql<{ source: string; cause: string; assigned_at: Date }>`SELECT ct.source, ct.cause, ct.assigned_at FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id
      WHERE ct.customer_id = ${ids.get('T-WEALTH')} AND t.name = '财富'`.execute(db);
    expect(row.rows[0]).to.deep.include({ source: 'fact', cause: '财富：50万 ≤ AUM < 600万' });
    expect(row.rows[0]!.assigned_at.getTime()).to.equal(now.getTime());
  });

  it('agrees with the thresholds for every synthetic customer', async () => {
    const rows = (await sql<{ aum: string; tier: string }>`SELECT c.aum, t.name AS tier FROM customers c JOIN customer_tags ct ON ct.customer_id = c.id
      JOIN tags t ON t.id = ct.tag_id JOIN tag_groups g ON g.id = t.group_id WHERE g.name = ${AUM_GROUP}`.execute(db)).rows;
    const expected = (aum: number) => (aum >= 6_000_000 ? '私行' : aum >= 500_000 ? '财富' : aum >= 50_000 ? '潜力' : '大众');
    expect(rows.filter((r) => expected(Number(r.aum)) !== r.tier)).to.deep.equal([]);
    expect(new Set(rows.map((r) => r.tier)).size).to.equal(4);
  });

  it('derives 代发, 社保, 临近退休, 新客 and 沉睡 from segments, age, record and relation dates', async () => {
    expect(await holders('代发')).to.deep.equal(['T-PAYROLL']);
    expect(await holders('社保')).to.deep.equal(['T-PAYROLL']);
    expect(await holders('临近退休')).to.deep.equal(['T-MAN-56', 'T-SEG-RETIRE', 'T-WOMAN-50']);
    expect(await holders('新客')).to.deep.equal(['T-NEVER-NEW', 'T-NEW-EDGE', 'T-NEW-RELATION']);
    expect(await holders('沉睡')).to.deep.equal(['T-ASLEEP', 'T-NEVER-OLD']);
  });

  it('changes nothing when run again on unchanged data', async () => {
    const before = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM customer_tags`.execute(db)).rows[0]!.n;
    expect(await recomputeFactTags(db, { now })).to.deep.equal({ added: 0, removed: 0 });
    expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM customer_tags`.execute(db)).rows[0]!.n).to.equal(before);
  });

  it('moves customers between tiers when the thresholds setting changes', async () => {
    await updateSetting(db, 'customers.aumTiers', { potential: 1_000, wealth: 50_001, private: 500_000 }, staffId);
    const moved = await recomputeFactTags(db, { now });
    expect(moved.added).to.equal(moved.removed);
    expect(moved.added).to.be.greaterThan(5);
    expect([await tier('T-MASS'), await tier('T-POT-EDGE'), await tier('T-POT-TOP'), await tier('T-WEALTH'), await tier('T-PRIVATE')]).to.deep.equal(['潜力', '潜力', '财富', '私行', '私行']);
    const cause = await sql<{ cause: string }>`SELECT ct.cause FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id WHERE ct.customer_id = ${ids.get('T-MASS')} AND t.name = '潜力'`.execute(db);
    expect(cause.rows[0]!.cause).to.equal('潜力：0.1万 ≤ AUM < 5.0001万');
  });

  it('recomputes only the customers it is given, as after an import', async () => {
    await db.updateTable('customers').set({ aum: 10_000_000, segments: ['代发'] }).where('cif_no', 'in', ['T-MASS', 'T-POT-EDGE']).execute();
    const result = await recomputeFactTags(db, { now, customerIds: [ids.get('T-MASS')!] });
    expect(result).to.deep.equal({ added: 2, removed: 1 });
    expect(await tier('T-MASS')).to.equal('私行');
    expect(await tagsOf('T-MASS', ATTRIBUTE_GROUP)).to.deep.equal(['代发']);
    expect(await tier('T-POT-EDGE')).to.equal('潜力');
    expect(await recomputeFactTags(db, { now, customerIds: [] })).to.deep.equal({ added: 0, removed: 0 });
  });
});
