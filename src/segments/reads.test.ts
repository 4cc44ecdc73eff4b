import { expect } from 'chai';
import { sql } from 'kysely';
import { testCipher } from '../../test/harness.js';
import { BRANCHES } from '../demo/branches.js';
import { generateCustomers } from '../demo/synthetic.js';
import type { FilterNode } from '../filters/index.js';
import { mask } from '../platform/crypto.js';
import {
  countSegment, createSegment, listSnapshots, previewSegment, snapshotMembers, snapshotSegment, updateSegment, type SegmentDefinition,
} from './index.js';
import {
  ADMIN, LINA, NOW, OPS, XIHU_MANAGER, byOps, followsLive, intersection, segmentWorld, sorted, type SegmentWorld,
} from './testing.js';

/** Counting, previewing and snapshotting, each in the reader's scope. */
describe('segment reads: scope, masked previews and frozen snapshots', () => {
  let w: SegmentWorld;
  before(async function () {
    this.timeout(120_000);
    w = await segmentWorld();
  });
  after(() => w?.handle.close());

  const db = () => w.handle.db;
  const cipher = testCipher();
  const wealthy: FilterNode = { field: 'aum', op: 'gte', value: 50_000 };
  let n = 0;
  const create = async (definition: SegmentDefinition, extra: Record<string, unknown> = {}) =>
    (await createSegment(db(), { name: `读取${++n}`, definition, ...extra }, byOps())).segment;

  it('an account manager counts and previews only the customers who follow them, a branch manager only their branch', async () => {
    const segment = await create({ method: 'rule', filter: wealthy });
    const all = w.oracle(wealthy);
    const mine = w.oracle(wealthy, followsLive('LiNa'));
    const branch = w.oracle(wealthy, (c) => c.branchId === 'br-hz-xihu');
    expect(mine.size).to.be.within(1, all.size - 1);
    expect(branch.size).to.be.within(1, all.size - 1);
    expect(await countSegment(db(), segment.id, ADMIN, { now: NOW })).to.equal(all.size);
    expect(await countSegment(db(), segment.id, LINA, { now: NOW })).to.equal(mine.size);
    expect(await countSegment(db(), segment.id, XIHU_MANAGER, { now: NOW })).to.equal(branch.size);
    const page = await previewSegment(db(), cipher, segment.id, LINA, { limit: 200, now: NOW });
    expect(page.total).to.equal(mine.size);
    expect(sorted(page.items.map((i) => i.cifNo))).to.deep.equal(sorted(mine));
  });

  it('an account manager counting an unsaved fixed list counts only their own customers in it', async () => {
    const listed = w.world.customers.slice(0, 120);
    const ids = listed.map((c) => w.idOf(c.cifNo));
    const theirs = listed.filter(followsLive('LiNa')).length;
    expect(theirs).to.be.within(1, listed.length - 1);
    expect(await countSegment(db(), { definition: { method: 'fixed' }, members: { include: ids, exclude: [] } }, LINA)).to.equal(theirs);
  });

  it('a preview is a page by CIF number with masked mobiles for every role, never the full number', async () => {
    const segment = await create({ method: 'rule', filter: wealthy });
    const mobiles = new Map([...generateCustomers(300)].map((c) => [c.cifNo, c.mobile]));
    const expected = sorted(w.oracle(wealthy));
    for (const actor of [OPS, ADMIN]) {
      const first = await previewSegment(db(), cipher, segment.id, actor, { limit: 20, now: NOW });
      const second = await previewSegment(db(), cipher, segment.id, actor, { limit: 20, offset: 20, now: NOW });
      expect(first.total).to.equal(expected.length);
      expect([...first.items, ...second.items].map((i) => i.cifNo)).to.deep.equal(expected.slice(0, 40));
      for (const item of first.items) {
        const full = mobiles.get(item.cifNo);
        if (!full) {
          expect(item.mobile, item.cifNo).to.equal(null);
          continue;
        }
        expect(item.mobile).to.equal(mask.mobile(full));
        expect(item.mobile).to.match(/^1\d{2}\*{4}\d{4}$/);
        expect(JSON.stringify(first)).not.to.contain(full);
      }
    }
  });

  it('a preview shows each customer’s AUM, risk level, branch and live tags', async () => {
    const segment = await create({ method: 'rule', filter: wealthy });
    const page = await previewSegment(db(), cipher, segment.id, OPS, { limit: 200, now: NOW });
    expect(page.items.some((i) => i.tags.length > 0)).to.equal(true);
    for (const item of page.items) {
      const c = w.customer(item.cifNo);
      expect(Number(item.aum)).to.equal(c.aum);
      expect(item.riskLevel).to.equal(c.riskLevel);
      expect(item.branchId).to.equal(c.branchId);
      expect(item.branchName).to.equal(BRANCHES.find((b) => b.id === c.branchId)?.name ?? null);
      const live = w.world.tags.filter((t) => !t.deleted && c.tagIds.includes(t.id)).map((t) => t.name);
      expect(item.tags).to.deep.equal(live.sort());
    }
  });

  it('a snapshot is frozen: later changes to customers, members and the definition leave its members as they were', async () => {
    const fixedList = w.world.customers.slice(0, 30).map((c) => c.cifNo);
    const segment = await create({ method: 'custom', filter: wealthy }, { members: { add: fixedList.slice(0, 5) } });
    const before = await w.select(segment.id);
    const { snapshotId, count } = await snapshotSegment(db(), segment.id, OPS, { now: NOW });
    expect(count).to.equal(before.size);

    // Members lose their AUM, others gain it, hand-picked members leave, and the rule itself changes.
    const leaving = [...before].slice(0, 5), joining = w.world.customers.map((c) => c.cifNo).filter((c) => !before.has(c)).slice(0, 5);
    const restore = await db().selectFrom('customers').select(['cif_no', 'aum']).where('cif_no', 'in', [...leaving, ...joining]).execute();
    try {
      await sql`UPDATE customers SET aum = CASE WHEN cif_no = ANY(${leaving}::text[]) THEN 0 ELSE 9000000 END
        WHERE cif_no = ANY(${[...leaving, ...joining]}::text[])`.execute(db());
      await updateSegment(db(), segment.id, { members: { remove: fixedList.slice(0, 5) }, definition: { method: 'custom', filter: { field: 'aum', op: 'gte', value: 60_000 } } }, byOps());
      const live = await w.select(segment.id);
      expect(sorted(live)).not.to.deep.equal(sorted(before));

      const frozen: string[] = [];
      let pages = 0;
      for await (const page of snapshotMembers(db(), snapshotId, { pageSize: 7 })) {
        expect(page.length).to.be.within(1, 7);
        pages++;
        frozen.push(...page.map(w.cifOf));
      }
      expect(pages).to.equal(Math.ceil(before.size / 7));
      expect(sorted(frozen)).to.deep.equal(sorted(before));
      const [listed] = await listSnapshots(db(), segment.id, OPS);
      expect(listed).to.include({ id: snapshotId, memberCount: before.size });
      const stored = await db().selectFrom('segment_snapshots').select('definition').where('id', '=', snapshotId).executeTakeFirstOrThrow();
      expect((stored.definition as { definition: unknown }).definition).to.deep.equal({ method: 'custom', filter: wealthy });
      // A scoped reader sees how many of the frozen customers are theirs.
      const [scoped] = await listSnapshots(db(), segment.id, LINA);
      expect(scoped!.memberCount).to.equal(intersection(before, w.oracle({ field: 'aum', op: 'gte', value: 0 }, followsLive('LiNa'))).size);
    } finally {
      for (const r of restore) await db().updateTable('customers').set({ aum: r.aum }).where('cif_no', '=', r.cif_no).execute();
    }
  });
});
