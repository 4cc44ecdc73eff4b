import { expect } from 'chai';
import { sql } from 'kysely';
import type { z } from 'zod';
import { LogCapture, testCipher, testDatabase } from '../../test/harness.js';
import { BRANCHES } from '../demo/branches.js';
import { DEMO_CORP_ID, insertSyntheticCustomers } from '../demo/seed.js';
import { DEFAULT_AS_OF, generateCustomers } from '../demo/synthetic.js';
import type { DatabaseHandle, Db } from '../platform/db/database.js';
import type { JobRunner, JobSpec } from '../platform/jobs.js';
import { createLogger } from '../platform/logger.js';
import { loadFacts, rfmMetricsOf } from './data.js';
import { defineScoringJobs, runScoring, scheduleScoringJobs, SCORING_JOB, type ScoringSummary } from './job.js';
import { PRODUCTS, suitable, type Recommendation, type RiskLevel } from './propensity.js';
import { scoreRfmPopulation } from './rfm.js';
import { ensureModelTags, replaceModelTags } from './tags.js';

const now = DEFAULT_AS_OF; // 2026-11-23 00:00 China time, the synthetic customers' "today"
const DAY_MS = 86_400_000;
const daysAgo = (n: number) => new Date(now.getTime() - n * DAY_MS);
const A = 'p-loan-biz', B = 'p-dep-notice-7d', R4 = 'p-fund-eq-r4';
const nameOf = (id: string) => PRODUCTS.find((p) => p.id === id)!.name;
const silent = createLogger({ level: 'silent' });

interface ScoreRow {
  customer_id: string; recency_score: number; frequency_score: number; monetary_score: number; rfm_class: string;
  churn_probability: number; churn_band: string; churn_reasons: { text: string }[]; propensity: Recommendation[];
}

/** Marks the customers as having deleted their account manager in WeCom, adding a contact where they had none. */
async function deleteMember(db: Db, ids: string[]): Promise<void> {
  await sql`INSERT INTO external_contacts (corp_id, external_userid, name, customer_id)
    SELECT ${DEMO_CORP_ID}, 'wmtest' || replace(c.id::text, '-', ''), c.name, c.id FROM customers c
    WHERE c.id = ANY(${ids}::uuid[]) AND NOT EXISTS (SELECT 1 FROM external_contacts e WHERE e.customer_id = c.id)`.execute(db);
  await sql`INSERT INTO follow_relations (corp_id, userid, external_userid, added_at)
    SELECT corp_id, 'am-test', external_userid, ${daysAgo(330)} FROM external_contacts
    WHERE customer_id = ANY(${ids}::uuid[]) AND external_userid LIKE 'wmtest%'`.execute(db);
  await sql`UPDATE follow_relations fr SET deleted_by = 'customer', deleted_at = ${daysAgo(100)} FROM external_contacts e
    WHERE e.corp_id = fr.corp_id AND e.external_userid = fr.external_userid AND e.customer_id = ANY(${ids}::uuid[])`.execute(db);
}

async function setCustomer(db: Db, id: string, values: Record<string, unknown>): Promise<void> {
  await db.updateTable('customers').set(values).where('id', '=', id).execute();
}

describe('nightly scoring over the database', () => {
  let database: DatabaseHandle, db: Db;
  let first: ScoringSummary, second: ScoringSummary;
  let tagsAfterFirst: unknown[], tagsAfterSecond: unknown[];
  const special: Record<'X' | 'Y' | 'Z' | 'H' | 'L' | 'T' | 'O' | 'P', string> = {} as never;
  const modelTags = (d: Db) => sql`SELECT ct.customer_id, t.name, tg.name AS grp, ct.source, ct.cause FROM customer_tags ct
    JOIN tags t ON t.id = ct.tag_id JOIN tag_groups tg ON tg.id = t.group_id WHERE tg.layer = 'model'
    ORDER BY ct.customer_id, tg.name, t.name`.execute(d).then((r) => r.rows);
  const scoreOf = async (id: string) =>
    (await sql<ScoreRow>`SELECT * FROM customer_scores WHERE customer_id = ${id}`.execute(db)).rows[0]!;

  before(async function () {
    this.timeout(120_000);
    database = await testDatabase();
    db = database.db;
    await db.insertInto('branches').values(BRANCHES.map((b) => ({ ...b }))).execute();
    await insertSyntheticCustomers(db, testCipher(), generateCustomers(800));
    const ranked = (await sql<{ id: string; rn: number }>`
      SELECT id, (row_number() OVER (ORDER BY cif_no))::int AS rn FROM customers ORDER BY rn`.execute(db)).rows;
    const ids = (test: (rn: number) => boolean) => ranked.filter((r) => test(r.rn)).map((r) => r.id);
    const at = (rn: number) => ranked[rn - 1]!.id;
    Object.assign(special, { X: at(2), Y: at(10), Z: at(18), H: at(26), L: at(34), T: at(42), O: at(50), P: at(58) });

    // (a) 100 customers who hold 小微经营贷 also hold 七天通知存款, and half of them the R4 equity fund.
    const addProducts = (products: string[], who: string[]) => sql`UPDATE customers
      SET products = ARRAY(SELECT DISTINCT unnest(products || ${products}::text[])), risk_level = 'R5', risk_assessed_at = '2026-06-01'
      WHERE id = ANY(${who}::uuid[])`.execute(db);
    await addProducts([A, B], ids((rn) => rn % 8 === 1));
    await addProducts([R4], ids((rn) => rn % 16 === 1));
    await setCustomer(db, special.X, { products: [A], risk_level: 'R5', risk_assessed_at: '2026-06-01' });
    await setCustomer(db, special.Y, { products: [A], risk_level: 'R1', risk_assessed_at: '2026-06-01' });
    await setCustomer(db, special.Z, { products: [A], risk_level: 'R5', risk_assessed_at: '2025-10-01' });

    // (b) Everyone has a balance 90 days ago within 5% of today's; 100 labelled churners lost 40–90% and most
    // deleted their account manager; some loyal customers show one sign or the other.
    await sql`WITH r AS (SELECT id, row_number() OVER (ORDER BY cif_no)::int AS rn FROM customers)
      UPDATE customers c SET attrs = c.attrs || jsonb_build_object('aum90dAgo', round(c.aum * (CASE
        WHEN r.rn % 8 = 3 THEN 1 / (0.6 - (r.rn * 37 % 100) / 200.0)
        WHEN r.rn % 24 = 5 THEN 1 / 0.7
        ELSE 0.95 + (r.rn * 13 % 10) / 100.0 END), 2))
        || CASE WHEN r.rn % 8 = 3 THEN '{"churned": true}'::jsonb ELSE '{}'::jsonb END
      FROM r WHERE r.id = c.id`.execute(db);
    await deleteMember(db, ids((rn) => (rn % 8 === 3 && rn % 5 !== 0) || rn % 40 === 7));
    // Held out (unlabelled): one customer with every planted sign, one without any.
    await setCustomer(db, special.H, { aum: 55_000, attrs: JSON.stringify({ aum90dAgo: 137_500 }), last_txn_at: daysAgo(218) });
    await deleteMember(db, [special.H]);
    await setCustomer(db, special.L, { attrs: JSON.stringify({ aum90dAgo: 100_000 }), aum: 100_000, last_txn_at: daysAgo(3) });

    // (c) The best and the worst customer on every RFM axis.
    await setCustomer(db, special.T, {
      last_txn_at: new Date(now.getTime() - 3_600_000), aum: 900_000_000, risk_level: 'R5', risk_assessed_at: '2026-06-01',
      products: ['p-dep-lcd-3y', 'p-dep-fix-1y', 'p-wm-cash-r1', 'p-fund-bond-r2', 'p-cc-plat', 'p-pen-account', 'p-ins-ci', 'p-fx-gold-acc'],
    });
    await setCustomer(db, special.O, { last_txn_at: null, aum: 0, products: [], attrs: '{}' });
    await db.deleteFrom('external_contacts').where('customer_id', '=', special.O).execute();
    // Last contact: a member's message counts, a system event does not.
    await setCustomer(db, special.P, { last_txn_at: daysAgo(300) });
    await db.insertInto('timeline_events').values([
      { customer_id: special.P, at: daysAgo(2), kind: 'message', summary: '客户经理发送消息', detail: '{}', cause_type: 'member', cause_id: 'am-test' },
      { customer_id: special.P, at: daysAgo(1), kind: 'score', summary: '评分更新', detail: '{}', cause_type: 'system', cause_id: null },
    ]).execute();
    // A manual tag in a group of its own must survive every run.
    const group = await db.insertInto('tag_groups').values({ name: '客户经理标记', layer: 'manual', description: null }).returning('id').executeTakeFirstOrThrow();
    const tag = await db.insertInto('tags').values({ group_id: group.id, name: '重点维护', rule: null, description: null, wecom_corp_id: null, wecom_tag_id: null, created_by: null, deleted_at: null }).returning('id').executeTakeFirstOrThrow();
    await db.insertInto('customer_tags').values({ customer_id: special.T, tag_id: tag.id, source: 'member', cause: 'member:am-test' }).execute();

    first = await runScoring({ db, logger: silent }, { now, batchSize: 150 });
    tagsAfterFirst = await modelTags(db);
    second = await runScoring({ db, logger: silent }, { now, batchSize: 150 });
    tagsAfterSecond = await modelTags(db);
  });
  after(async () => database?.close());

  it('scores every customer in keyset-paged batches', async () => {
    expect(first.customers).to.equal(800);
    expect(first.batches).to.equal(6);
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM customer_scores WHERE computed_at = ${now}`.execute(db);
    expect(rows[0]!.n).to.equal(800);
    expect(Object.values(first.rfm).reduce((s, n) => s + n, 0)).to.equal(800);
  });

  it('puts the most recent, most engaged, richest customer in 重要价值客户 and the opposite in 一般挽留客户', async () => {
    expect(await scoreOf(special.T)).to.include({ recency_score: 5, frequency_score: 5, monetary_score: 5, rfm_class: '重要价值客户' });
    expect(await scoreOf(special.O)).to.include({ recency_score: 1, frequency_score: 1, monetary_score: 1, rfm_class: '一般挽留客户' });
  });

  it('gives the same RFM scores from SQL quintiles as an in-memory ntile over the same customers', async () => {
    const facts = await loadFacts(db, now, { after: null, limit: 10_000 });
    const expected = scoreRfmPopulation(facts.map(rfmMetricsOf)).map((s) => [s.id, s.r, s.f, s.m, s.rfmClass]);
    const { rows } = await sql<{ customer_id: string; r: number; f: number; m: number; c: string }>`SELECT customer_id,
      recency_score AS r, frequency_score AS f, monetary_score AS m, rfm_class AS c FROM customer_scores ORDER BY customer_id`.execute(db);
    expect(rows.map((r) => [r.customer_id, r.r, r.f, r.m, r.c])).to.deep.equal(expected);
  });

  it('takes the last contact from members’ and customers’ timeline events, not system ones', async () => {
    const [p] = (await loadFacts(db, now, { after: null, limit: 10_000 })).filter((f) => f.id === special.P);
    expect(p).to.include({ txnDays: 300, contactDays: 2 });
    expect((await scoreOf(special.P)).recency_score).to.be.at.least(4);
  });

  it('recommends 七天通知存款 first to a customer holding only 小微经营贷, with the share of co-holders as the reason', async () => {
    const recs = (await scoreOf(special.X)).propensity;
    expect(recs[0]).to.include({ productId: B, productName: nameOf(B), basisProductId: A });
    const { rows } = await sql<{ a: number; ab: number }>`SELECT count(*) FILTER (WHERE ${A} = ANY(products))::int AS a,
      count(*) FILTER (WHERE products @> ARRAY[${A}, ${B}]::text[])::int AS ab FROM customers`.execute(db);
    const share = Math.round((100 * rows[0]!.ab) / rows[0]!.a);
    expect(share).to.be.above(80);
    expect(recs[0]!.reason).to.equal(`持有「${nameOf(A)}」的客户中有${share}%也持有「${nameOf(B)}」`);
    expect(recs.map((r) => r.productId)).to.include(R4);
  });

  it('never recommends a product above a customer’s risk level, nor a rated one after an expired assessment', async () => {
    const cautious = (await scoreOf(special.Y)).propensity;
    expect(cautious[0]!.productId).to.equal(B);
    expect(cautious.every((r) => [null, 'R1'].includes(PRODUCTS.find((p) => p.id === r.productId)!.riskLevel))).to.equal(true);
    const expired = (await scoreOf(special.Z)).propensity;
    expect(expired[0]!.productId).to.equal(B);
    expect(expired.every((r) => PRODUCTS.find((p) => p.id === r.productId)!.riskLevel === null)).to.equal(true);
    const { rows } = await sql<{ risk_level: RiskLevel | null; risk_assessed_at: string | null; propensity: Recommendation[] }>`
      SELECT c.risk_level, c.risk_assessed_at, s.propensity FROM customer_scores s JOIN customers c ON c.id = s.customer_id`.execute(db);
    const unsuitable = rows.flatMap((row) => row.propensity.filter((r) => !suitable(PRODUCTS.find((p) => p.id === r.productId)!, {
      riskLevel: row.risk_level, riskAssessedAt: row.risk_assessed_at }, now)));
    expect(unsuitable).to.deep.equal([]);
    expect(rows.filter((r) => r.propensity.length).length).to.equal(first.propensity.customersWithRecommendations);
  });

  it('trains churn on the labelled history and ranks the held-out churner above the loyal customer', async () => {
    expect(first.churn).to.include({ trained: true, positives: 100, trainingRows: 800 });
    expect(first.churn.auc).to.be.above(0.8);
    const h = await scoreOf(special.H), l = await scoreOf(special.L);
    expect(h.churn_probability).to.be.above(l.churn_probability);
    expect(l.churn_band).to.equal('low');
    expect(h.churn_band).to.not.equal('low');
    expect(h.churn_reasons.map((r) => r.text)).to.include.members(['资产较90天前下降60%', '已删除客户经理好友']);
  });

  it('tags every customer once in each exclusive model group, with the run as the cause, and re-running adds nothing', async () => {
    const { rows: groups } = await sql<{ name: string; layer: string; exclusive: boolean }>`
      SELECT name, layer, exclusive FROM tag_groups WHERE layer = 'model' ORDER BY name`.execute(db);
    expect(groups).to.deep.equal([
      { name: 'RFM分类', layer: 'model', exclusive: true },
      { name: '产品偏好', layer: 'model', exclusive: false },
      { name: '流失风险', layer: 'model', exclusive: true },
    ]);
    const perGroup = new Map<string, Map<string, number>>();
    for (const row of tagsAfterSecond as { customer_id: string; grp: string; source: string; cause: string }[]) {
      expect(row).to.include({ source: 'model', cause: 'scoring:2026-11-23' });
      const counts = perGroup.get(row.grp) ?? new Map<string, number>();
      counts.set(row.customer_id, (counts.get(row.customer_id) ?? 0) + 1);
      perGroup.set(row.grp, counts);
    }
    for (const grp of ['RFM分类', '流失风险']) {
      expect(perGroup.get(grp)!.size, grp).to.equal(800);
      expect(Math.max(...perGroup.get(grp)!.values()), grp).to.equal(1);
    }
    expect(perGroup.get('产品偏好')!.size).to.equal(first.propensity.customersWithRecommendations);
    expect(tagsAfterSecond).to.deep.equal(tagsAfterFirst);
    expect(second.tagsAssigned).to.equal(first.tagsAssigned);
    const { rows: dupes } = await sql`SELECT group_id, name FROM tags WHERE deleted_at IS NULL GROUP BY 1, 2 HAVING count(*) > 1`.execute(db);
    expect(dupes).to.deep.equal([]);
  });

  it('tags the top recommendation by product name and leaves tags of other groups alone', async () => {
    const x = tagsAfterSecond.filter((r) => (r as { customer_id: string }).customer_id === special.X) as { grp: string; name: string }[];
    expect(x.filter((r) => r.grp === '产品偏好').map((r) => r.name)).to.deep.equal([nameOf(B)]);
    const { rows } = await sql<{ name: string; source: string }>`SELECT t.name, ct.source FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id
      WHERE ct.customer_id = ${special.T} AND ct.source = 'member'`.execute(db);
    expect(rows).to.deep.equal([{ name: '重点维护', source: 'member' }]);
  });

  it('on a later night writes only the model tags that changed, leaving the same tags as writing them all afresh', async () => {
    const next = new Date(now.getTime() + DAY_MS);
    type Row = { customer_id: string; tag_id: string; cause: string; version: string };
    const modelRows = async () => (await sql<Row>`SELECT ct.customer_id, ct.tag_id, ct.cause, ct.xmin::text AS version FROM customer_tags ct
      JOIN tags t ON t.id = ct.tag_id JOIN tag_groups g ON g.id = t.group_id WHERE g.layer = 'model'`.execute(db)).rows;
    const customerRows = async () => new Map((await sql<{ id: string; version: string; band: string | null }>`
      SELECT id, xmin::text AS version, churn_band AS band FROM customers`.execute(db)).rows.map((r) => [r.id, r]));
    const pairs = (rows: Row[]) => rows.map((r) => `${r.customer_id} ${r.tag_id}`).sort();
    // T, the best customer on every axis, becomes the worst: its RFM class (and so its model tag) must move.
    await setCustomer(db, special.T, { last_txn_at: null, aum: 0, products: [] });
    const tagsBefore = await modelRows(), customersBefore = await customerRows();

    await runScoring({ db, logger: silent }, { now: next, batchSize: 150 });
    const tagsAfter = await modelRows(), customersAfter = await customerRows();

    const before = new Map(tagsBefore.map((r) => [`${r.customer_id} ${r.tag_id}`, r]));
    const changed = new Set<string>();
    let kept = 0;
    for (const r of tagsAfter) {
      const b = before.get(`${r.customer_id} ${r.tag_id}`);
      if (b) {
        expect(r, 'a tag the customer kept is not rewritten').to.deep.equal(b);
        kept++;
      } else {
        expect(r.cause).to.equal('scoring:2026-11-24');
        changed.add(r.customer_id);
      }
    }
    const afterKeys = new Set(pairs(tagsAfter));
    for (const r of tagsBefore) if (!afterKeys.has(`${r.customer_id} ${r.tag_id}`)) changed.add(r.customer_id);
    expect(changed.has(special.T)).to.equal(true);
    expect(kept).to.be.above(tagsAfter.length * 0.8);
    // A customer whose model tags and churn band stayed is not rewritten by the tag or band triggers.
    let untouched = 0;
    for (const [id, c] of customersBefore) {
      if (changed.has(id) || c.band !== customersAfter.get(id)!.band) continue;
      expect(customersAfter.get(id)!.version, id).to.equal(c.version);
      untouched++;
    }
    expect(untouched).to.be.above(600);

    // The same night with every model tag written afresh (what the run did before it compared) gives the same tags.
    await sql`DELETE FROM customer_tags ct USING tags t, tag_groups g WHERE t.id = ct.tag_id AND g.id = t.group_id AND g.layer = 'model'`.execute(db);
    await runScoring({ db, logger: silent }, { now: next, batchSize: 150 });
    expect(pairs(await modelRows())).to.deep.equal(pairs(tagsAfter));
  });

  it('trains on a deterministic stratified sample above the cap, with the intercept corrected back to the base rate', async () => {
    const sampled = await runScoring({ db, logger: silent }, { now, trainingCap: 300 });
    const again = await runScoring({ db, logger: silent }, { now, trainingCap: 300 });
    expect(sampled.churn.positives).to.equal(100);
    expect(sampled.churn.trainingRows).to.be.within(250, 350);
    expect(again.churn).to.deep.equal(sampled.churn);
    expect(sampled.churn.auc).to.be.above(0.8);
    // Negatives were kept at about 2 in 7; uncorrected, the mean probability would be near 1/3 instead of 1/8.
    const { rows } = await sql<{ mean: number }>`SELECT avg(churn_probability)::float8 AS mean FROM customer_scores`.execute(db);
    expect(rows[0]!.mean).to.be.closeTo(100 / 800, 0.04);
  });

  it('defines scoring.nightly with an empty payload and schedules it at 01:30 every night', async () => {
    const specs: JobSpec<z.ZodType>[] = [];
    const every: unknown[][] = [];
    const runner = {
      define: (spec: JobSpec<z.ZodType>) => void specs.push(spec),
      every: async (...args: unknown[]) => void every.push(args),
    } as unknown as JobRunner;
    defineScoringJobs(runner, { db, logger: silent });
    await scheduleScoringJobs(runner);
    expect(specs.map((s) => s.name)).to.deep.equal([SCORING_JOB]);
    expect(specs[0]!.payload.safeParse({}).success).to.equal(true);
    expect(every).to.deep.equal([[SCORING_JOB, '30 1 * * *', {}, { cause: { type: 'system', id: 'schedule' } }]]);
    const logs = new LogCapture();
    const logger = createLogger({ level: 'info', destination: logs });
    await specs[0]!.handler({}, { jobId: '1', name: SCORING_JOB, attempt: 1, cause: { type: 'system', id: 'schedule' }, logger });
    expect(logs.lines.find((l) => l.msg === 'scoring run done')).to.include({ customers: 800 });
  });
  it('takes over a model tag a member assigned by hand, and removes a model tag the run no longer gives', async () => {
    const model = await ensureModelTags(db);
    const [high, low] = [model.churn.get('high')!, model.churn.get('low')!];
    await db.deleteFrom('customer_tags').where('customer_id', '=', special.Y).where('tag_id', 'in', [high, low]).execute();
    await db.insertInto('customer_tags').values([
      { customer_id: special.Y, tag_id: high, source: 'member', cause: 'member:am-test' },
      { customer_id: special.Y, tag_id: low, source: 'model', cause: 'scoring:2026-11-20' },
    ]).execute();
    const at = new Date('2026-11-25T01:30:00+08:00');
    await db.transaction().execute((trx) => replaceModelTags(trx, model, [special.Y], [{ customerId: special.Y, tagId: high }], 'scoring:2026-11-25', at));
    const { rows } = await sql<{ tag_id: string; source: string; cause: string; assigned_at: Date }>`SELECT tag_id, source, cause, assigned_at
      FROM customer_tags WHERE customer_id = ${special.Y} AND tag_id = ANY(${[high, low]}::uuid[])`.execute(db);
    expect(rows).to.deep.equal([{ tag_id: high, source: 'model', cause: 'scoring:2026-11-25', assigned_at: at }]);
    const { rows: customer } = await sql<{ has: boolean }>`SELECT c.tag_nos @> ARRAY[t.tag_no] AND NOT c.tag_nos @> ARRAY[l.tag_no] AS has
      FROM customers c, tags t, tags l WHERE c.id = ${special.Y} AND t.id = ${high} AND l.id = ${low}`.execute(db);
    expect(customer).to.deep.equal([{ has: true }]);
  });
});
