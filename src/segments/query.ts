import { sql, type SqlBool } from 'kysely';
import { customerScope, maskedFor } from '../auth/index.js';
import type { FieldCipher } from '../platform/crypto.js';
import type { Db } from '../platform/db/database.js';
import type { Actor } from '../platform/http/context.js';
import { notFound } from '../platform/errors.js';
import { loadSegment, planPredicate, planSegment, storedDefinition, type MemberLists, type SegmentPlan } from './compile.js';
import { describeDefinition } from './definition.js';

/**
 * Reads of a segment's customers: count, masked preview, frozen snapshots. Every read for a member is scoped by
 * customerScope(actor) (an account manager counting a segment sees only the customers who follow them).
 */

/** A stored segment by id, or an unsaved definition (with its explicit members resolved to customer ids). */
export type SegmentSource = string | { definition: unknown; members?: MemberLists; path?: string };

export interface ReadOptions {
  now?: Date;
  timezone?: string;
}

/** Roles whose customerScope is the whole bank (see auth/policy customerScope). */
export const seesWholeBank = (actor: Actor) => actor.role === 'admin' || actor.role === 'ops' || actor.role === 'compliance';

export async function planSource(db: Db, source: SegmentSource): Promise<SegmentPlan> {
  if (typeof source !== 'string') return planSegment(db, source.definition, { members: source.members, path: source.path });
  const row = await loadSegment(db, source);
  return planSegment(db, storedDefinition(row), { segmentId: row.id });
}

const predicate = (plan: SegmentPlan, options: ReadOptions) => planPredicate(plan, { now: options.now, timezone: options.timezone, alias: 'customers' });

/** Customers of a plan in the whole bank, for the refresh job and stored member counts. */
export async function countPlan(db: Db, plan: SegmentPlan, options: ReadOptions = {}): Promise<number> {
  const row = await db.selectFrom('customers').select(sql<number>`count(*)::int`.as('n')).where(predicate(plan, options)).executeTakeFirstOrThrow();
  return row.n;
}

/** How many customers of the segment the actor may see. */
export async function countSegment(db: Db, source: SegmentSource, actor: Actor, options: ReadOptions = {}): Promise<number> {
  const plan = await planSource(db, source);
  const row = await db.selectFrom('customers').select(sql<number>`count(*)::int`.as('n'))
    .where(customerScope(actor)).where(predicate(plan, options)).executeTakeFirstOrThrow();
  return row.n;
}

export interface PreviewItem {
  id: string;
  cifNo: string;
  name: string;
  /** Always masked: a preview never shows a full mobile, whatever the role. */
  mobile: string | null;
  aum: string;
  riskLevel: string | null;
  branchId: string | null;
  branchName: string | null;
  tags: string[];
}

/** One page of the segment's customers in the actor's scope, by CIF number, with masked mobiles (not audited). */
export async function previewSegment(
  db: Db, cipher: FieldCipher, source: SegmentSource, actor: Actor, options: ReadOptions & { limit?: number; offset?: number } = {},
): Promise<{ total: number; items: PreviewItem[] }> {
  const plan = await planSource(db, source);
  const where = predicate(plan, options);
  const [rows, total] = await Promise.all([
    db.selectFrom('customers').leftJoin('branches', 'branches.id', 'customers.branch_id')
      .select(['customers.id', 'customers.cif_no', 'customers.name', 'customers.mobile_enc', 'customers.aum', 'customers.risk_level',
        'customers.branch_id', 'branches.name as branch_name'])
      .where(customerScope(actor)).where(where)
      .orderBy('customers.cif_no').limit(options.limit ?? 50).offset(options.offset ?? 0).execute(),
    db.selectFrom('customers').select(sql<number>`count(*)::int`.as('n')).where(customerScope(actor)).where(where).executeTakeFirstOrThrow(),
  ]);
  const ids = rows.map((r) => r.id);
  const tagRows = ids.length
    ? await db.selectFrom('customer_tags as ct').innerJoin('tags as t', 't.id', 'ct.tag_id')
      .select(['ct.customer_id', sql<string[]>`array_agg(t.name ORDER BY t.name)`.as('names')])
      .where(sql<SqlBool>`ct.customer_id = ANY(${ids}::uuid[])`).where('t.deleted_at', 'is', null)
      .groupBy('ct.customer_id').execute()
    : [];
  const tags = new Map(tagRows.map((r) => [r.customer_id, r.names]));
  const m = maskedFor(actor.role, false);
  return {
    total: total.n,
    items: rows.map((r) => ({
      id: r.id, cifNo: r.cif_no, name: r.name, mobile: m.mobile(r.mobile_enc ? cipher.decrypt(r.mobile_enc) : null),
      aum: r.aum, riskLevel: r.risk_level, branchId: r.branch_id, branchName: r.branch_name, tags: tags.get(r.id) ?? [],
    })),
  };
}

/**
 * Freezes the segment's current customers (in the actor's scope) with its definition, resolved down to the base
 * definitions of derived parts: one statement writes the snapshot row and, by INSERT ... SELECT, its members.
 * Campaigns and mass sends address the snapshot id, so later changes to data or definition do not move them.
 */
export async function snapshotSegment(db: Db, segmentId: string, actor: Actor, options: ReadOptions = {}): Promise<{ snapshotId: string; count: number }> {
  const row = await loadSegment(db, segmentId);
  const definition = storedDefinition(row);
  const plan = await planSegment(db, definition, { segmentId: row.id });
  const frozen = {
    name: row.name, method: row.method, definition, summary: describeDefinition(definition), resolved: plan,
    at: (options.now ?? new Date()).toISOString(),
  };
  const ids = db.selectFrom('customers').select('customers.id').where(customerScope(actor)).where(predicate(plan, options));
  const { rows } = await sql<{ id: string; member_count: number }>`
    WITH ids AS MATERIALIZED (${ids}),
    snap AS (
      INSERT INTO segment_snapshots (segment_id, definition, member_count, created_by)
      SELECT ${row.id}::uuid, ${JSON.stringify(frozen)}::jsonb, count(*), ${actor.id} FROM ids
      RETURNING id, member_count),
    written AS (
      INSERT INTO segment_snapshot_members (snapshot_id, customer_id) SELECT snap.id, ids.id FROM snap CROSS JOIN ids)
    SELECT id, member_count FROM snap`.execute(db);
  const snap = rows[0]!;
  return { snapshotId: snap.id, count: snap.member_count };
}

/** A snapshot's customer ids in pages (ascending id), for a campaign or mass send to walk without holding them all. */
export async function* snapshotMembers(db: Db, snapshotId: string, options: { pageSize?: number } = {}): AsyncGenerator<string[]> {
  const exists = await db.selectFrom('segment_snapshots').select('id').where('id', '=', snapshotId).executeTakeFirst();
  if (!exists) throw notFound('snapshot');
  const pageSize = options.pageSize ?? 1_000;
  let after: string | null = null;
  for (;;) {
    let q = db.selectFrom('segment_snapshot_members').select('customer_id').where('snapshot_id', '=', snapshotId);
    if (after) q = q.where('customer_id', '>', after);
    const page = (await q.orderBy('customer_id').limit(pageSize).execute()).map((r) => r.customer_id);
    if (!page.length) return;
    yield page;
    if (page.length < pageSize) return;
    after = page[page.length - 1]!;
  }
}

/** The segment's snapshots, newest first; a scoped member sees how many of each snapshot's customers are theirs. */
export async function listSnapshots(db: Db, segmentId: string, actor: Actor) {
  await loadSegment(db, segmentId);
  const rows = await db.selectFrom('segment_snapshots as s')
    .select(['s.id', 's.member_count', 's.created_by', 's.created_at'])
    .$if(!seesWholeBank(actor), (q) => q.select((eb) => eb.selectFrom('segment_snapshot_members as sm')
      .innerJoin('customers', 'customers.id', 'sm.customer_id')
      .select(sql<number>`count(*)::int`.as('n'))
      .whereRef('sm.snapshot_id', '=', 's.id').where(customerScope(actor)).as('visible')))
    .where('s.segment_id', '=', segmentId).orderBy('s.created_at', 'desc').limit(200).execute();
  return rows.map((r) => {
    const visible = (r as { visible?: number | null }).visible;
    return { id: r.id, memberCount: visible === undefined ? r.member_count : visible ?? 0, createdBy: r.created_by, createdAt: r.created_at };
  });
}
