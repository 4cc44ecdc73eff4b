import { expect } from 'chai';
import { sql } from 'kysely';
import type pg from 'pg';
import { adoptContactTimeline } from '../customers/timeline.js';
import { DEMO_CORP_ID } from '../demo/seed.js';
import type { FilterNode } from '../filters/index.js';
import type { OracleCustomer } from '../filters/oracle.js';
import { NOW, segmentWorld, sorted, type SegmentWorld } from './testing.js';

/**
 * customers.tag_nos and customers.last_contact_at (migration 0009) and customers.churn_band (migration 0018) are kept
 * by triggers. After every kind of write to their sources, each customer's columns must equal an independent reading
 * of the sources, and the filters that use them must still select what the JavaScript oracle selects (the world is
 * changed in JavaScript alongside).
 */
describe('derived customer columns kept by the database', () => {
  let w: SegmentWorld;
  before(async function () {
    this.timeout(120_000);
    w = await segmentWorld();
  });
  after(() => w?.handle.close());

  const db = () => w.handle.db;
  const DAY = 86_400_000;
  const local = (day: string, time = '00:00:00') => new Date(`${day}T${time}+08:00`);
  const tagId = (ref: string) => w.world.tags.find((t) => `${t.group}:${t.name}` === ref)!.id;
  const contactLeaf = (op: string, value: unknown): FilterNode => ({ field: 'last_contact_at', op, value });
  const tagLeaf = (op: string, value: unknown): FilterNode => ({ field: 'tags', op, value });
  const bandLeaf = (op: string, value: unknown): FilterNode => ({ field: 'churn_band', op, value });

  /** What the columns must hold, read from the sources by a query of its own (not the triggers' functions). */
  async function expectInStep(): Promise<void> {
    const { rows } = await sql<{ cif_no: string; tag_nos: number[]; want_nos: number[]; last: Date | null; want_last: Date | null; band: string | null; want_band: string | null }>`
      SELECT c.cif_no, c.tag_nos, c.last_contact_at AS last, c.churn_band AS band,
        (SELECT s.churn_band FROM customer_scores s WHERE s.customer_id = c.id) AS want_band,
        coalesce((SELECT array_agg(t.tag_no ORDER BY t.tag_no) FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id WHERE ct.customer_id = c.id), '{}') AS want_nos,
        (SELECT max(x.at) FROM (
          SELECT fr.added_at AS at FROM external_contacts ec JOIN follow_relations fr ON fr.corp_id = ec.corp_id AND fr.external_userid = ec.external_userid
            WHERE ec.customer_id = c.id
          UNION ALL
          SELECT te.at FROM timeline_events te WHERE te.customer_id = c.id AND te.kind IN ('message_in', 'message_out')) x) AS want_last
      FROM customers c`.execute(db());
    const off = rows.filter((r) => JSON.stringify(r.tag_nos) !== JSON.stringify(r.want_nos) || r.last?.getTime() !== r.want_last?.getTime() || r.band !== r.want_band);
    expect(off.map((r) => `${r.cif_no}: ${JSON.stringify(r.tag_nos)} ${r.last?.toISOString()} ${r.band} want ${JSON.stringify(r.want_nos)} ${r.want_last?.toISOString()} ${r.want_band}`))
      .to.deep.equal([]);
    expect(rows.length).to.equal(w.world.customers.length);
  }

  /** The oracle's last contact (JavaScript world) against the column, customer by customer. */
  async function expectOracleLastContact(): Promise<void> {
    const rows = await db().selectFrom('customers').select(['cif_no', 'last_contact_at']).execute();
    const oracle = (c: OracleCustomer) => {
      const stamps = [...c.relations.map((r) => r.addedAt), ...c.messages.filter((m) => m.kind === 'message_in' || m.kind === 'message_out').map((m) => m.at)]
        .flatMap((s) => (s === null ? [] : [Date.parse(s)]));
      return stamps.length ? Math.max(...stamps) : null;
    };
    const off = rows.filter((r) => (r.last_contact_at?.getTime() ?? null) !== oracle(w.customer(r.cif_no))).map((r) => r.cif_no);
    expect(off).to.deep.equal([]);
  }

  /** The oracle's churn band (JavaScript world) against the column, customer by customer. */
  async function expectOracleBands(): Promise<void> {
    const rows = await db().selectFrom('customers').select(['cif_no', 'churn_band']).execute();
    const off = rows.filter((r) => r.churn_band !== (w.customer(r.cif_no).score?.churnBand ?? null)).map((r) => `${r.cif_no}: ${r.churn_band}`);
    expect(off).to.deep.equal([]);
  }

  async function expectFiltersAgree(trees: FilterNode[]): Promise<void> {
    for (const tree of trees) {
      expect(sorted(await w.select({ method: 'rule', filter: tree })), JSON.stringify(tree)).to.deep.equal(sorted(w.oracle(tree)));
    }
  }

  const CONTACT_TREES = [
    contactLeaf('within_last_days', 90), contactLeaf('not_within_last_days', 90), contactLeaf('within_last_days', 7),
    contactLeaf('before', '2026-08-25'), contactLeaf('after', '2026-11-22'), contactLeaf('between', ['2026-08-25', '2026-09-30']),
    { not: { any: [contactLeaf('within_last_days', 90), tagLeaf('has', 'VIP')] } },
  ];
  const TAG_TREES = [
    tagLeaf('has', 'VIP'), tagLeaf('has', '手工:a:b'), tagLeaf('has_any', ['VIP', '模型:高潜']), tagLeaf('has_all', ['代发', '高潜']),
    tagLeaf('has_none', ['代发', 'VIP']), { all: [tagLeaf('has', '代发'), contactLeaf('not_within_last_days', 90)] },
  ];

  const BAND_TREES: FilterNode[] = [
    bandLeaf('eq', 'high'), bandLeaf('ne', 'high'), bandLeaf('in', ['low', 'medium']), bandLeaf('not_in', ['low']),
    { all: [{ field: 'branch_id', op: 'in', value: ['br-hz-xihu', 'br-hz-binjiang'] }, bandLeaf('eq', 'high')] },
    { not: { any: [bandLeaf('eq', 'medium'), tagLeaf('has', 'VIP')] } },
  ];

  type Band = 'low' | 'medium' | 'high' | null;
  const bandOf = (p: number | null): Band => (p === null ? null : p < 0.3 ? 'low' : p < 0.6 ? 'medium' : 'high');
  /** A score row as the nightly run writes it, and the same score in the JavaScript world. */
  function score(cif: string, p: number | null) {
    w.customer(cif).score = { recency: 3, frequency: 3, monetary: 3, rfmClass: '一般保持', churnProbability: p, churnBand: bandOf(p) };
    return { customer_id: w.idOf(cif), recency_score: 3, frequency_score: 3, monetary_score: 3, rfm_class: '一般保持', churn_probability: p, churn_band: bandOf(p) };
  }
  /** The nightly run's statement: INSERT … ON CONFLICT (customer_id) DO UPDATE over a page of customers. */
  async function upsertScores(rows: ReturnType<typeof score>[]): Promise<void> {
    await db().insertInto('customer_scores').values(rows).onConflict((oc) => oc.column('customer_id').doUpdateSet((eb) => ({
      recency_score: eb.ref('excluded.recency_score'), rfm_class: eb.ref('excluded.rfm_class'),
      churn_probability: eb.ref('excluded.churn_probability'), churn_band: eb.ref('excluded.churn_band'),
    }))).execute();
  }
  const UPSERT = `INSERT INTO customer_scores (customer_id, churn_probability, churn_band) VALUES ($1, $2, $3)
    ON CONFLICT (customer_id) DO UPDATE SET churn_probability = excluded.churn_probability, churn_band = excluded.churn_band`;
  async function bandOfCustomer(cif: string): Promise<string | null> {
    return (await db().selectFrom('customers').select('churn_band').where('id', '=', w.idOf(cif)).executeTakeFirstOrThrow()).churn_band;
  }

  async function message(cif: string, at: Date, kind = 'message_in'): Promise<string> {
    w.customer(cif).messages.push({ at: at.toISOString(), kind });
    const row = await db().insertInto('timeline_events').values({ customer_id: w.idOf(cif), at, kind, summary: kind, cause_type: 'system' })
      .returning('id').executeTakeFirstOrThrow();
    return row.id;
  }

  function forgetMessage(cif: string, at: Date): void {
    const c = w.customer(cif);
    c.messages = c.messages.filter((m) => Date.parse(m.at) !== at.getTime());
  }

  it('hold what their sources hold once the fixture is written in bulk', async () => {
    await expectInStep();
    await expectOracleLastContact();
    await expectOracleBands();
    const bands = await sql<{ band: string | null; n: number }>`SELECT churn_band AS band, count(*)::int AS n FROM customers GROUP BY 1 ORDER BY 1`.execute(db());
    expect(bands.rows.map((r) => r.band)).to.deep.equal(['high', 'low', 'medium', null]);
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM customers WHERE tag_nos <> '{}'`.execute(db());
    expect(rows[0]!.n).to.be.within(1, w.world.customers.length - 1);
  });

  it('follow tag assignments added, upserted, moved and removed, one customer or many per statement', async () => {
    const hb04 = w.customer('HB04');
    const [vip, potential, ab] = [tagId('手工:VIP'), tagId('模型:高潜'), tagId('手工:a:b')];
    hb04.tagIds = hb04.tagIds.filter((id) => ![vip, potential, ab].includes(id));
    await db().deleteFrom('customer_tags').where('customer_id', '=', w.idOf('HB04')).where('tag_id', 'in', [vip, potential, ab]).execute();

    await db().insertInto('customer_tags').values([vip, potential].map((tag_id) => ({ customer_id: w.idOf('HB04'), tag_id, source: 'member' as const }))).execute();
    hb04.tagIds.push(vip, potential);
    await expectInStep();
    await expectFiltersAgree(TAG_TREES);

    // An upsert that changes only the cause is an UPDATE of the row: the numbers stay.
    await db().insertInto('customer_tags').values({ customer_id: w.idOf('HB04'), tag_id: vip, source: 'member', cause: 'again' })
      .onConflict((oc) => oc.columns(['customer_id', 'tag_id']).doUpdateSet({ cause: 'again' })).execute();
    await expectInStep();

    // Moving an assignment to another tag.
    await db().updateTable('customer_tags').set({ tag_id: ab }).where('customer_id', '=', w.idOf('HB04')).where('tag_id', '=', vip).execute();
    hb04.tagIds = hb04.tagIds.map((id) => (id === vip ? ab : id));
    await expectInStep();
    await expectFiltersAgree(TAG_TREES);

    await db().deleteFrom('customer_tags').where('customer_id', '=', w.idOf('HB04')).where('tag_id', '=', potential).execute();
    hb04.tagIds = hb04.tagIds.filter((id) => id !== potential);
    await expectInStep();

    // Whole-tag statements, as the fact and rule recomputes write them: one tag off everyone, then onto a set.
    const holders = w.world.customers.filter((c) => c.tagIds.includes(vip));
    expect(holders.length).to.be.above(2);
    await db().deleteFrom('customer_tags').where('tag_id', '=', vip).execute();
    for (const c of holders) c.tagIds = c.tagIds.filter((id) => id !== vip);
    await expectInStep();
    await expectFiltersAgree(TAG_TREES);
    const chosen = w.world.customers.filter((_, i) => i % 9 === 4);
    await sql`INSERT INTO customer_tags (customer_id, tag_id, source) SELECT id, ${vip}::uuid, 'rule' FROM unnest(${chosen.map((c) => w.idOf(c.cifNo))}::uuid[]) AS u(id)`.execute(db());
    for (const c of chosen) c.tagIds.push(vip);
    await expectInStep();
    await expectFiltersAgree(TAG_TREES);
  });

  it('follow tag deletions: a soft-deleted tag stops matching, a hard-deleted one leaves no number behind', async () => {
    const ab = w.world.tags.find((t) => t.name === 'a:b')!;
    await db().updateTable('tags').set({ deleted_at: NOW }).where('id', '=', ab.id).execute();
    ab.deleted = true;
    await expectFiltersAgree(TAG_TREES);
    expect(w.oracle(tagLeaf('has', '手工:a:b')).size).to.equal(0);

    const { tag_no } = await db().selectFrom('tags').select('tag_no').where('id', '=', ab.id).executeTakeFirstOrThrow();
    const before = await sql<{ n: number }>`SELECT count(*)::int AS n FROM customers WHERE tag_nos @> ARRAY[${tag_no}::int]`.execute(db());
    expect(before.rows[0]!.n).to.be.above(0);
    await db().deleteFrom('tags').where('id', '=', ab.id).execute(); // customer_tags rows go by ON DELETE CASCADE
    w.world.tags = w.world.tags.filter((t) => t.id !== ab.id);
    for (const c of w.world.customers) c.tagIds = c.tagIds.filter((id) => id !== ab.id);
    const after = await sql<{ n: number }>`SELECT count(*)::int AS n FROM customers WHERE tag_nos @> ARRAY[${tag_no}::int]`.execute(db());
    expect(after.rows[0]!.n).to.equal(0);
    await expectInStep();
    await expectFiltersAgree(TAG_TREES.filter((t) => !JSON.stringify(t).includes('a:b')));
  });

  it('follow scores inserted, rewritten by a nightly upsert, changed, re-keyed, merged and deleted', async () => {
    // HB01 and HB04 have no score row, HB05 one without a band, HB02 and HB03 'medium', HB06 'low'.
    expect([await bandOfCustomer('HB01'), await bandOfCustomer('HB05'), await bandOfCustomer('HB06')]).to.deep.equal([null, null, 'low']);
    await db().insertInto('customer_scores').values([score('HB01', 0.9), score('HB04', null)]).execute();
    expect(await bandOfCustomer('HB01')).to.equal('high');
    await expectInStep();
    await expectFiltersAgree(BAND_TREES);

    // One page as the nightly run writes it: new rows, bands that move (to and from NULL), and most bands unchanged.
    const page = w.world.customers.filter((c, i) => i % 4 === 1 && !c.cifNo.startsWith('HB')).map((c, i) => score(c.cifNo, [0.05, 0.3, 0.55, 0.8, null, c.score?.churnProbability ?? 0.2][i % 6]!));
    page.push(score('HB05', 0.61), score('HB06', 0.1), score('HB02', null));
    await upsertScores(page);
    await expectInStep();
    await expectOracleBands();
    await expectFiltersAgree(BAND_TREES);

    // A probability that stays within its band, then one that crosses into the next.
    await db().updateTable('customer_scores').set({ churn_probability: 0.58 }).where('customer_id', '=', w.idOf('HB03')).execute();
    w.customer('HB03').score = { ...w.customer('HB03').score!, churnProbability: 0.58 };
    await db().updateTable('customer_scores').set({ churn_probability: 0.62, churn_band: 'high' }).where('customer_id', '=', w.idOf('HB03')).execute();
    w.customer('HB03').score = { ...w.customer('HB03').score!, churnProbability: 0.62, churnBand: 'high' };
    expect(await bandOfCustomer('HB03')).to.equal('high');
    await expectInStep();

    // A score row moved to another customer (HB07 had none): the band leaves HB03 with it.
    await db().updateTable('customer_scores').set({ customer_id: w.idOf('HB07') }).where('customer_id', '=', w.idOf('HB03')).execute();
    [w.customer('HB07').score, w.customer('HB03').score] = [w.customer('HB03').score, null];
    expect([await bandOfCustomer('HB03'), await bandOfCustomer('HB07')]).to.deep.equal([null, 'high']);
    await expectInStep();
    await expectFiltersAgree(BAND_TREES);

    // One MERGE that inserts, updates and deletes: each kind of trigger fires in the one statement.
    const [gone, changed, added] = ['HB06', 'HB08', 'HB03'];
    w.customer(gone).score = null;
    const merged = [score(changed, 0.95), score(added, 0.4)];
    await sql`MERGE INTO customer_scores s
      USING unnest(${[w.idOf(gone), ...merged.map((m) => m.customer_id)]}::uuid[], ${[null, ...merged.map((m) => m.churn_probability)]}::real[],
        ${[null, ...merged.map((m) => m.churn_band)]}::text[], ${[true, false, false]}::boolean[]) AS u(id, p, band, gone) ON s.customer_id = u.id
      WHEN MATCHED AND u.gone THEN DELETE
      WHEN MATCHED THEN UPDATE SET churn_probability = u.p, churn_band = u.band
      WHEN NOT MATCHED THEN INSERT (customer_id, churn_probability, churn_band) VALUES (u.id, u.p, u.band)`.execute(db());
    expect([await bandOfCustomer(gone), await bandOfCustomer(changed), await bandOfCustomer(added)]).to.deep.equal([null, 'high', 'medium']);
    await expectInStep();
    await expectOracleBands();

    // Deleting many scores in one statement, and a whole band.
    const dropped = w.world.customers.filter((c, i) => c.score && i % 7 === 2);
    expect(dropped.length).to.be.above(5);
    await db().deleteFrom('customer_scores').where('customer_id', 'in', dropped.map((c) => w.idOf(c.cifNo))).execute();
    for (const c of dropped) c.score = null;
    await db().deleteFrom('customer_scores').where('churn_band', '=', 'low').execute();
    for (const c of w.world.customers) if (c.score?.churnBand === 'low') c.score = null;
    await expectInStep();
    await expectOracleBands();
    await expectFiltersAgree(BAND_TREES);
  });

  it('follow messages added, dated in the future, moved across the day boundary, changed in kind and deleted', async () => {
    // HB01 (no relations) keeps one contact: a message at the start of the day exactly 90 days ago, within the last 90 days.
    const edge = local('2026-08-25');
    await db().deleteFrom('timeline_events').where('customer_id', '=', w.idOf('HB01')).where('at', '<>', edge).execute();
    w.customer('HB01').messages = w.customer('HB01').messages.filter((m) => Date.parse(m.at) === edge.getTime());
    expect(w.customer('HB01').messages).to.have.length(1);
    expect(w.customer('HB01').relations).to.have.length(0);
    await expectInStep();
    expect(w.oracle(contactLeaf('within_last_days', 90)).has('HB01')).to.equal(true);
    const future = new Date(NOW.getTime() + 2 * DAY);
    await message('HB01', future, 'message_out');
    expect(w.oracle(contactLeaf('within_last_days', 90)).has('HB01')).to.equal(false); // a last contact after today
    expect(w.oracle(contactLeaf('after', '2026-11-22')).has('HB01')).to.equal(true);
    await expectInStep();
    await expectFiltersAgree(CONTACT_TREES);

    await db().deleteFrom('timeline_events').where('customer_id', '=', w.idOf('HB01')).where('at', '=', future).execute();
    forgetMessage('HB01', future);
    await expectInStep();
    await expectFiltersAgree(CONTACT_TREES);

    // One second before the boundary: the day 91 days ago.
    const before = new Date(edge.getTime() - 1000);
    await db().updateTable('timeline_events').set({ at: before }).where('customer_id', '=', w.idOf('HB01')).where('at', '=', edge).execute();
    forgetMessage('HB01', edge);
    w.customer('HB01').messages.push({ at: before.toISOString(), kind: 'message_in' });
    expect(w.oracle(contactLeaf('not_within_last_days', 90)).has('HB01')).to.equal(true);
    await expectInStep();
    await expectFiltersAgree(CONTACT_TREES);

    // A message that becomes a note is no contact: HB01 has none left.
    await db().updateTable('timeline_events').set({ kind: 'note' }).where('customer_id', '=', w.idOf('HB01')).where('at', '=', before).execute();
    w.customer('HB01').messages = w.customer('HB01').messages.map((m) => (Date.parse(m.at) === before.getTime() ? { ...m, kind: 'note' } : m));
    expect((await db().selectFrom('customers').select('last_contact_at').where('id', '=', w.idOf('HB01')).executeTakeFirstOrThrow()).last_contact_at).to.equal(null);
    await expectInStep();

    // Other kinds never count; several customers in one statement.
    await message('HB06', local('2026-11-20', '09:00:00'), 'contact_added');
    const batch = ['HB06', 'HB07', 'HB08'].map((cif, i) => ({ cif, at: local('2026-11-1' + i, '23:59:59'), kind: i % 2 ? 'message_out' : 'message_in' }));
    await db().insertInto('timeline_events').values(batch.map((b) => ({ customer_id: w.idOf(b.cif), at: b.at, kind: b.kind, summary: '-', cause_type: 'system' }))).execute();
    for (const b of batch) w.customer(b.cif).messages.push({ at: b.at.toISOString(), kind: b.kind });
    await expectInStep();
    await expectOracleLastContact();
    await expectFiltersAgree(CONTACT_TREES);

    // Deleting every message of several customers at once.
    await db().deleteFrom('timeline_events').where('customer_id', 'in', ['HB05', 'HB07'].map(w.idOf)).execute();
    for (const cif of ['HB05', 'HB07']) w.customer(cif).messages = [];
    await expectInStep();
    await expectOracleLastContact();
    await expectFiltersAgree(CONTACT_TREES);
  });

  it('follow a contact linked later: its earlier messages join the customer', async () => {
    await db().insertInto('external_contacts').values({ corp_id: DEMO_CORP_ID, external_userid: 'wmLATE', name: '迟到', gender: null, unionid: null, avatar: null, customer_id: null }).execute();
    const at = local('2026-11-21', '10:00:00');
    await db().insertInto('timeline_events').values({ corp_id: DEMO_CORP_ID, external_userid: 'wmLATE', customer_id: null, at, kind: 'message_in', summary: '-', cause_type: 'customer' }).execute();
    await expectInStep();
    await db().updateTable('external_contacts').set({ customer_id: w.idOf('HB04') }).where('external_userid', '=', 'wmLATE').execute();
    await adoptContactTimeline(db(), DEMO_CORP_ID, 'wmLATE', w.idOf('HB04'));
    w.customer('HB04').messages.push({ at: at.toISOString(), kind: 'message_in' });
    await expectInStep();
    await expectOracleLastContact();
    await expectFiltersAgree(CONTACT_TREES);
  });

  it('follow relations added, re-dated and deleted, and contacts unlinked, relinked and deleted', async () => {
    // HB02: a deleted relation added 3 days ago (its last contact) and a live one added on 13 November.
    const hb02 = w.customer('HB02');
    const older = local('2026-10-01', '08:00:00');
    await db().updateTable('follow_relations').set({ added_at: older }).where('external_userid', '=', 'wmHB020').execute();
    hb02.relations[0] = { ...hb02.relations[0]!, addedAt: older.toISOString() };
    await expectInStep();
    await expectOracleLastContact();

    // A relation update that leaves the add time alone (a sync) changes nothing.
    await db().updateTable('follow_relations').set({ remark: '同步', synced_at: NOW }).where('external_userid', 'in', ['wmHB020', 'wmHB021']).execute();
    await expectInStep();

    await db().insertInto('follow_relations').values({ corp_id: DEMO_CORP_ID, userid: 'ZhaoMin', external_userid: 'wmHB021', add_way: 1, state: null, added_at: local('2026-11-22', '23:00:00') }).execute();
    hb02.relations.push({ userid: 'ZhaoMin', addedAt: local('2026-11-22', '23:00:00').toISOString(), state: null, contactWayId: null, deleted: false });
    await expectInStep();
    await expectOracleLastContact();
    await expectFiltersAgree(CONTACT_TREES);

    await db().deleteFrom('follow_relations').where('userid', '=', 'ZhaoMin').where('external_userid', '=', 'wmHB021').execute();
    hb02.relations.pop();
    await expectInStep();
    await expectOracleLastContact();

    // Unlink HB02's second contact (its relation's add time leaves with it), relink it to HB06.
    const moved = hb02.relations.splice(1, 1);
    await db().updateTable('external_contacts').set({ customer_id: null }).where('external_userid', '=', 'wmHB021').execute();
    await expectInStep();
    await expectOracleLastContact();
    await db().updateTable('external_contacts').set({ customer_id: w.idOf('HB06') }).where('external_userid', '=', 'wmHB021').execute();
    w.customer('HB06').relations.push(...moved);
    await expectInStep();
    await expectOracleLastContact();
    await expectFiltersAgree(CONTACT_TREES);

    // Deleting the contact deletes its relations (ON DELETE CASCADE).
    await db().deleteFrom('external_contacts').where('external_userid', '=', 'wmHB020').execute();
    hb02.relations = [];
    expect((await db().selectFrom('customers').select('last_contact_at').where('id', '=', w.idOf('HB02')).executeTakeFirstOrThrow()).last_contact_at).to.equal(null);
    await expectInStep();
    await expectOracleLastContact();
    await expectFiltersAgree(CONTACT_TREES);
  });

  it('refuse direct writes of the derived columns and let every other customer write through', async () => {
    const id = w.idOf('HB03');
    for (const statement of [
      sql`UPDATE customers SET last_contact_at = now() WHERE id = ${id}::uuid`,
      sql`UPDATE customers SET tag_nos = '{1}' WHERE id = ${id}::uuid`,
      sql`INSERT INTO customers (cif_no, name, tag_nos) VALUES ('X-GUARD', 'x', '{1}')`,
      sql`INSERT INTO customers (cif_no, name, last_contact_at) VALUES ('X-GUARD', 'x', now())`,
      sql`UPDATE customers SET churn_band = 'high' WHERE id = ${id}::uuid`,
      sql`UPDATE customers SET churn_band = NULL WHERE churn_band IS NOT NULL`,
      sql`INSERT INTO customers (cif_no, name, churn_band) VALUES ('X-GUARD', 'x', 'low')`,
    ]) {
      const error = await statement.execute(db()).then(() => null, (e: unknown) => e as { code?: string });
      expect(error?.code, statement.compile(db()).sql).to.equal('23514');
    }
    await db().updateTable('customers').set({ name: '王\\五' }).where('id', '=', id).execute();
    await expectInStep();
  });

  describe('under concurrent writers', () => {
    let a: pg.PoolClient;
    let b: pg.PoolClient;
    const pids = new Map<pg.PoolClient, number>();
    beforeEach(async () => {
      [a, b] = [await w.handle.pool.connect(), await w.handle.pool.connect()];
      for (const client of [a, b]) pids.set(client, (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
    });
    afterEach(async () => {
      // A failed case may leave a transaction open; it must not hold locks over the next one.
      for (const client of [a, b]) {
        await client.query('ROLLBACK');
        client.release();
      }
    });

    /** Resolves once the client's backend waits for a lock: the race below is then certain, not timing luck. */
    async function waitingForLock(client: pg.PoolClient): Promise<void> {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const { rows } = await sql<{ waiting: boolean }>`SELECT coalesce(bool_or(wait_event_type = 'Lock'), false) AS waiting
          FROM pg_stat_activity WHERE pid = ${pids.get(client)!}`.execute(db());
        if (rows[0]!.waiting) return;
        if (Date.now() > deadline) throw new Error('the second writer never waited for the first');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }

    async function lastContactOf(cif: string): Promise<number | null> {
      return (await db().selectFrom('customers').select('last_contact_at').where('id', '=', w.idOf(cif)).executeTakeFirstOrThrow()).last_contact_at?.getTime() ?? null;
    }

    it('a message that does not raise the value still counts when a concurrent delete recomputes it', async () => {
      const cif = 'HB03';
      const latest = local('2026-11-22', '12:00:00'), earlier = local('2026-11-20', '12:00:00');
      await message(cif, latest);
      await b.query('BEGIN');
      await b.query(`INSERT INTO timeline_events (customer_id, at, kind, summary, cause_type) VALUES ($1, $2, 'message_out', '-', 'system')`, [w.idOf(cif), earlier]);
      const deleting = a.query('DELETE FROM timeline_events WHERE customer_id = $1 AND at = $2', [w.idOf(cif), latest]);
      await waitingForLock(a);
      await b.query('COMMIT');
      await deleting;
      forgetMessage(cif, latest);
      w.customer(cif).messages.push({ at: earlier.toISOString(), kind: 'message_out' });
      expect(await lastContactOf(cif)).to.equal(earlier.getTime());
      await expectInStep();
    });

    it('a message added while a delete recomputes is raised onto the recomputed value', async () => {
      const cif = 'HB03';
      const latest = local('2026-11-22', '18:00:00'), middle = local('2026-11-21', '18:00:00');
      await message(cif, latest);
      await a.query('BEGIN');
      await a.query('DELETE FROM timeline_events WHERE customer_id = $1 AND at = $2', [w.idOf(cif), latest]);
      const inserting = b.query(`INSERT INTO timeline_events (customer_id, at, kind, summary, cause_type) VALUES ($1, $2, 'message_in', '-', 'system')`, [w.idOf(cif), middle]);
      await waitingForLock(b);
      await a.query('COMMIT');
      await inserting;
      forgetMessage(cif, latest);
      w.customer(cif).messages.push({ at: middle.toISOString(), kind: 'message_in' });
      expect(await lastContactOf(cif)).to.equal(middle.getTime());
      await expectInStep();
      await expectOracleLastContact();
    });

    it('two transactions scoring one customer leave the band of the one that commits last', async () => {
      const cif = 'HB04';
      await upsertScores([score(cif, 0.1)]);
      // A nightly page holding the customer, and a single re-score of it that must wait for the page.
      const page = [cif, 'HB01', 'HB02', 'HB08'].map((c, i) => score(c, [0.7, 0.2, 0.45, 0.05][i]!));
      await a.query('BEGIN');
      await a.query(`INSERT INTO customer_scores (customer_id, churn_probability, churn_band)
        SELECT * FROM unnest($1::uuid[], $2::real[], $3::text[])
        ON CONFLICT (customer_id) DO UPDATE SET churn_probability = excluded.churn_probability, churn_band = excluded.churn_band`,
      [page.map((r) => r.customer_id), page.map((r) => r.churn_probability), page.map((r) => r.churn_band)]);
      const rescoring = b.query(UPSERT, [w.idOf(cif), 0.4, 'medium']);
      await waitingForLock(b);
      await a.query('COMMIT');
      await rescoring;
      score(cif, 0.4);
      expect(await bandOfCustomer(cif)).to.equal('medium');
      await expectInStep();
      await expectOracleBands();
    });

    it('a score deleted while another transaction writes it again ends with the written band', async () => {
      const cif = 'HB07';
      await upsertScores([score(cif, 0.2)]);
      await a.query('BEGIN');
      await a.query('DELETE FROM customer_scores WHERE customer_id = $1', [w.idOf(cif)]);
      const writing = b.query(UPSERT, [w.idOf(cif), 0.75, 'high']);
      await waitingForLock(b);
      await a.query('COMMIT');
      await writing;
      score(cif, 0.75);
      expect(await bandOfCustomer(cif)).to.equal('high');
      await expectInStep();

      // And the other way round: the delete waits for the write and removes the band with the row.
      await a.query('BEGIN');
      await a.query(UPSERT, [w.idOf(cif), 0.1, 'low']);
      const deleting = b.query('DELETE FROM customer_scores WHERE customer_id = $1', [w.idOf(cif)]);
      await waitingForLock(b);
      await a.query('COMMIT');
      await deleting;
      w.customer(cif).score = null;
      expect(await bandOfCustomer(cif)).to.equal(null);
      await expectInStep();
      await expectOracleBands();
    });

    it('two transactions adding different tags to one customer both stay', async () => {
      const hb03 = w.customer('HB03');
      const [vip, potential] = [tagId('手工:VIP'), tagId('模型:高潜')];
      await db().deleteFrom('customer_tags').where('customer_id', '=', w.idOf('HB03')).where('tag_id', 'in', [vip, potential]).execute();
      await a.query('BEGIN');
      await a.query(`INSERT INTO customer_tags (customer_id, tag_id, source) VALUES ($1, $2, 'member')`, [w.idOf('HB03'), vip]);
      const adding = b.query(`INSERT INTO customer_tags (customer_id, tag_id, source) VALUES ($1, $2, 'member')`, [w.idOf('HB03'), potential]);
      await waitingForLock(b);
      await a.query('COMMIT');
      await adding;
      hb03.tagIds = [...hb03.tagIds.filter((id) => id !== vip && id !== potential), vip, potential];
      await expectInStep();
      await expectFiltersAgree(TAG_TREES.filter((t) => !JSON.stringify(t).includes('a:b')));
    });
  });

  // Last (mocha runs nested suites in order, after the cases above): it empties the sources the other cases use.
  describe('when the sources are emptied', () => {
    it('follow TRUNCATE of customer_tags, timeline_events and customer_scores', async () => {
      expect(await sql<{ n: number }>`SELECT count(*)::int AS n FROM customers WHERE churn_band IS NOT NULL`.execute(db()).then((r) => r.rows[0]!.n)).to.be.above(0);
      await sql`TRUNCATE customer_tags`.execute(db());
      await sql`TRUNCATE timeline_events`.execute(db());
      await sql`TRUNCATE customer_scores`.execute(db());
      for (const c of w.world.customers) {
        c.tagIds = [];
        c.messages = [];
        c.score = null;
      }
      await expectInStep();
      await expectOracleLastContact();
      await expectOracleBands();
      await expectFiltersAgree([...CONTACT_TREES, tagLeaf('has_none', ['代发']), tagLeaf('has', 'VIP'), bandLeaf('ne', 'high'), bandLeaf('eq', 'low')]);
    });
  });
});
