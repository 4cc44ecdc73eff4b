import { expect } from 'chai';
import { sql } from 'kysely';
import { AppError } from '../platform/errors.js';
import type { FilterNode } from '../filters/index.js';
import { countSegment, createSegment, planSegment, segmentSql, updateSegment, type SegmentDefinition } from './index.js';
import { ADMIN, NOW, byOps, difference, intersection, segmentWorld, sorted, union, type SegmentWorld } from './testing.js';

/** Each selection method against plain set logic over the oracle's answers on the same customers. */
describe('segment selection methods', () => {
  let w: SegmentWorld;
  before(async function () {
    this.timeout(120_000);
    w = await segmentWorld();
  });
  after(() => w?.handle.close());

  const db = () => w.handle.db;
  let n = 0;
  const create = async (definition: SegmentDefinition, extra: Record<string, unknown> = {}) =>
    createSegment(db(), { name: `客群${++n}`, definition, ...extra }, byOps());
  const rule: FilterNode = { all: [{ field: 'aum', op: 'gte', value: 50_000 }, { any: [{ field: 'tags', op: 'has', value: '代发' }, { field: 'segments', op: 'has', value: '社保' }] }] };

  async function issuesOf(promise: Promise<unknown>): Promise<{ path: string; message: string }[]> {
    try {
      await promise;
    } catch (error) {
      expect(error).to.be.instanceOf(AppError);
      expect((error as AppError).kind).to.equal('invalid');
      return (error as AppError).details.issues ?? [];
    }
    throw new Error('expected the write to be rejected');
  }

  it('a fixed list holds exactly the customers added by id or CIF number, less those removed', async () => {
    const picked = w.world.customers.slice(10, 20).map((c) => c.cifNo);
    const refs = picked.map((cif, i) => (i % 2 ? w.idOf(cif) : cif));
    const { segment, members } = await create({ method: 'fixed' }, { members: { add: refs } });
    expect(members.added).to.equal(10);
    expect(sorted(await w.select(segment.id))).to.deep.equal(sorted(picked));
    await updateSegment(db(), segment.id, { members: { remove: [picked[0]!, w.idOf(picked[1]!)] } }, byOps());
    expect(sorted(await w.select(segment.id))).to.deep.equal(sorted(picked.slice(2)));
    expect(await countSegment(db(), segment.id, ADMIN)).to.equal(8);
  });

  it('a rule segment selects exactly the customers the filter oracle selects', async () => {
    const expected = w.oracle(rule);
    expect(expected.size).to.be.within(5, w.world.customers.length - 5);
    const { segment } = await create({ method: 'rule', filter: rule });
    expect(sorted(await w.select(segment.id))).to.deep.equal(sorted(expected));
    expect(segment.memberCount).to.equal(expected.size);
  });

  it('last-contact conditions select what the filter oracle selects, on day boundaries, with future contacts and under not', async () => {
    // One customer also has a message dated after today: their last contact is then not "within the last N days".
    const future = w.world.customers.find((c) => c.messages.some((m) => m.kind === 'message_in'))!;
    future.messages.push({ at: new Date(NOW.getTime() + 2 * 86_400_000).toISOString(), kind: 'message_out' });
    await db().insertInto('timeline_events').values({ customer_id: w.idOf(future.cifNo), at: new Date(future.messages.at(-1)!.at), kind: 'message_out', summary: '-', cause_type: 'system' }).execute();
    const leaf = (op: string, value: unknown): FilterNode => ({ field: 'last_contact_at', op, value });
    const trees: FilterNode[] = [
      leaf('within_last_days', 90), leaf('not_within_last_days', 90), leaf('within_last_days', 7), leaf('before', '2026-01-01'),
      leaf('before', '2026-08-25'), leaf('after', '2026-08-24'), leaf('after', '2026-11-22'), leaf('between', ['2026-08-25', '2026-09-30']),
      { not: { any: [leaf('within_last_days', 90), { field: 'segments', op: 'has', value: '代发' }] } },
      { all: [{ field: 'aum', op: 'gte', value: 50_000 }, leaf('not_within_last_days', 30)] },
    ];
    for (const tree of trees) {
      const expected = w.oracle(tree);
      expect(expected.size, JSON.stringify(tree)).to.be.within(1, w.world.customers.length - 1);
      expect(sorted(await w.select({ method: 'rule', filter: tree })), JSON.stringify(tree)).to.deep.equal(sorted(expected));
    }
    expect(w.oracle(leaf('within_last_days', 90)).has(future.cifNo)).to.equal(false);
    expect(w.oracle(leaf('after', '2026-11-22')).has(future.cifNo)).to.equal(true);
  });

  it('a derived segment is the union, intersection or difference of its parts, nested derived parts included', async () => {
    const a = (await create({ method: 'rule', filter: rule })).segment;
    const fixed = w.world.customers.filter((_, i) => i % 4 === 0).map((c) => c.cifNo);
    const b = (await create({ method: 'fixed' }, { members: { add: fixed } })).segment;
    const scoreTree: FilterNode = { field: 'churn_band', op: 'eq', value: 'high' };
    const c = (await create({ method: 'score', filter: scoreTree })).segment;
    const [A, B, C] = [w.oracle(rule), new Set(fixed), w.oracle(scoreTree)];
    // Parts that overlap without containing each other, so each operation has a distinct answer.
    for (const [p, q] of [[A, B], [A, C], [B, C]] as const) expect(intersection(p, q).size).to.be.within(1, Math.min(p.size, q.size) - 1);
    const both = (await create({ method: 'derived', op: 'intersection', segments: [a.id, b.id] })).segment;
    expect(sorted(await w.select(both.id))).to.deep.equal(sorted(intersection(A, B)));
    const any = (await create({ method: 'derived', op: 'union', segments: [a.id, b.id, c.id] })).segment;
    expect(sorted(await w.select(any.id))).to.deep.equal(sorted(union(A, B, C)));
    const minus = (await create({ method: 'derived', op: 'difference', segments: [any.id, both.id, c.id] })).segment;
    expect(sorted(await w.select(minus.id))).to.deep.equal(sorted(difference(union(A, B, C), union(intersection(A, B), C))));
    expect(minus.summary).to.equal(`「${any.name}」 排除 「${both.name}」、「${c.name}」`);
  });

  it('a derived segment that would reach itself is rejected, naming the entry that closes the cycle', async () => {
    const x = (await create({ method: 'rule', filter: rule })).segment;
    const y = (await create({ method: 'fixed' }, { members: { add: [w.world.customers[0]!.cifNo] } })).segment;
    const top = (await create({ method: 'derived', op: 'union', segments: [x.id, y.id] })).segment;
    const issues = await issuesOf(updateSegment(db(), x.id, { definition: { method: 'derived', op: 'union', segments: [y.id, top.id] } }, byOps()));
    expect(issues).to.have.length(1);
    expect(issues[0]!.path).to.equal('body.definition.segments.1');
    expect(issues[0]!.message).to.equal(`segments would form a cycle: 'this segment' → '${top.name}' → '${x.name}'`);
    const self = await issuesOf(updateSegment(db(), y.id, { definition: { method: 'derived', op: 'intersection', segments: [x.id, y.id] } }, byOps()));
    expect(self.map((i) => i.path)).to.deep.equal(['body.definition.segments.1']);
    // Nothing changed: x is still the rule it was.
    expect(sorted(await w.select(x.id))).to.deep.equal(sorted(w.oracle(rule)));
  });

  it('a derived segment naming a missing or deleted segment is rejected at that entry', async () => {
    const x = (await create({ method: 'rule', filter: rule })).segment;
    await sql`UPDATE segments SET deleted_at = now() WHERE id = ${x.id}`.execute(db());
    const missing = '3f0c9a52-7d1e-4b8a-9c2f-1a2b3c4d5e6f';
    const live = (await create({ method: 'fixed' })).segment;
    const issues = await issuesOf(planSegment(db(), { method: 'derived', op: 'union', segments: [live.id, missing] }, { path: 'body.definition' }));
    expect(issues).to.deep.equal([{ path: 'body.definition.segments.1', message: `segment ${missing} does not exist or was deleted` }]);
    const gone = await issuesOf(planSegment(db(), { method: 'derived', op: 'union', segments: [x.id, live.id] }, { path: 'body.definition' }));
    expect(gone.map((i) => i.path)).to.deep.equal(['body.definition.segments.0']);
  });

  it('a model score segment selects by churn probability, RFM class and product propensity', async () => {
    // Propensities decided here: a score per product, plus entries the condition must skip (text score, no object).
    const scored = w.world.customers.filter((c) => c.score);
    const propensity = new Map(scored.map((c, i) => [c.cifNo, i % 5 === 4 ? ['junk', { productId: 'p-fund', score: '0.9' }]
      : [{ productId: 'p-fund', score: (i % 10) / 10 }, { productId: 'p-dep', score: 0.95 }]]));
    await sql`UPDATE customer_scores s SET propensity = v.p FROM unnest(${[...propensity.keys()].map(w.idOf)}::uuid[],
      ${[...propensity.values()].map((p) => JSON.stringify(p))}::jsonb[]) v(id, p) WHERE s.customer_id = v.id`.execute(db());
    const likely = new Set([...propensity].filter(([, p]) => p.some((e) => typeof e === 'object' && e.productId === 'p-fund' && typeof e.score === 'number' && e.score >= 0.6)).map(([cif]) => cif));
    expect(likely.size).to.be.greaterThan(10);

    const churn: FilterNode = { field: 'churn_probability', op: 'gte', value: 0.55 };
    const rfm: FilterNode = { field: 'rfm_class', op: 'in', value: ['重要价值', '流失预警'] };
    expect(sorted(await w.select((await create({ method: 'score', filter: churn })).segment.id))).to.deep.equal(sorted(w.oracle(churn)));
    expect(sorted(await w.select((await create({ method: 'score', filter: rfm })).segment.id))).to.deep.equal(sorted(w.oracle(rfm)));
    const fund = (await create({ method: 'score', propensity: { productId: 'p-fund', minScore: 0.6 } })).segment;
    expect(sorted(await w.select(fund.id))).to.deep.equal(sorted(likely));
    const both = await w.select({ method: 'score', filter: rfm, propensity: { productId: 'p-fund', minScore: 0.6 } });
    expect(sorted(both)).to.deep.equal(sorted(intersection(w.oracle(rfm), likely)));
  });

  it('a model score segment refuses a condition on a field that is not a score, naming it', async () => {
    const issues = await issuesOf(planSegment(db(), {
      method: 'score', filter: { all: [{ field: 'churn_band', op: 'eq', value: 'high' }, { field: 'aum', op: 'gte', value: 1 }] },
    }, { path: 'body.definition' }));
    expect(issues).to.have.length(1);
    expect(issues[0]!.path).to.equal('body.definition.filter.all.1.field');
    expect(issues[0]!.message).to.contain("not 'aum'");
  });

  it('an imported list resolves CIF numbers to customers, reports the unknown ones and is replaced by a new upload', async () => {
    const known = w.world.customers.slice(0, 60).map((c) => c.cifNo);
    const cifs = [...known, 'CIF0000000001', known[3]!, 'NOPE-2', ' ', 'CIF0000000001'].filter((c) => c.trim());
    const { segment, members } = await create({ method: 'imported', source: '网点名单.xlsx' }, { cifs });
    expect(members.unknownCount).to.equal(2);
    expect(sorted(members.unknown)).to.deep.equal(['CIF0000000001', 'NOPE-2']);
    expect(sorted(await w.select(segment.id))).to.deep.equal(sorted(known));
    const next = w.world.customers.slice(100, 110).map((c) => c.cifNo);
    const updated = await updateSegment(db(), segment.id, { cifs: next }, byOps());
    expect(updated.members.unknownCount).to.equal(0);
    expect(sorted(await w.select(segment.id))).to.deep.equal(sorted(next));
  });

  it('an imported list of 100,000 CIF numbers resolves in one pass, every unknown one counted', async function () {
    this.timeout(60_000);
    const known = w.world.customers.map((c) => c.cifNo);
    const unknown = Array.from({ length: 100_000 - known.length }, (_, i) => `X${String(i).padStart(9, '0')}`);
    const { segment, members } = await create({ method: 'imported' }, { cifs: [...unknown, ...known] });
    expect(members.added).to.equal(known.length);
    expect(members.unknownCount).to.equal(unknown.length);
    expect(members.unknown).to.have.length(1_000);
    expect(members.unknown[0]).to.equal('X000000000');
    expect(await countSegment(db(), segment.id, ADMIN)).to.equal(known.length);
  });

  it('a custom segment is its rule plus additions, and its exclusions win over both', async () => {
    const base = w.oracle(rule);
    const outside = w.world.customers.map((c) => c.cifNo).filter((cif) => !base.has(cif)).slice(0, 4);
    const inside = [...base].slice(0, 3);
    // outside[3] is added, then excluded: the exclusion wins.
    const { segment } = await create({ method: 'custom', filter: rule }, { members: { add: outside, exclude: [...inside, outside[3]!] } });
    const expected = difference(union(base, new Set(outside)), new Set([...inside, outside[3]!]));
    expect(sorted(await w.select(segment.id))).to.deep.equal(sorted(expected));
    // Removing an exclusion hands the customer back to the rule.
    await updateSegment(db(), segment.id, { members: { remove: [inside[0]!] } }, byOps());
    expect((await w.select(segment.id)).has(inside[0]!)).to.equal(true);
    expect((await w.select(segment.id)).has(inside[1]!)).to.equal(false);
  });

  it('an unsaved custom definition counts with explicit member lists and no stored members', async () => {
    const base = w.oracle(rule);
    const extra = w.world.customers.map((c) => c.cifNo).find((cif) => !base.has(cif))!;
    const drop = [...base][0]!;
    const members = { include: [w.idOf(extra)], exclude: [w.idOf(drop)] };
    const query = await segmentSql(db(), { method: 'custom', filter: rule }, { now: NOW, members });
    const selected = new Set((await query.execute()).map((r) => w.cifOf(r.id)));
    expect(sorted(selected)).to.deep.equal(sorted(difference(union(base, new Set([extra])), new Set([drop]))));
    expect(await countSegment(db(), { definition: { method: 'custom', filter: rule }, members }, ADMIN, { now: NOW })).to.equal(selected.size);
    expect(await countSegment(db(), { definition: { method: 'fixed' } }, ADMIN)).to.equal(0);
  });
});
