import { sql, type Selectable, type SqlBool } from 'kysely';
import { recordAudit } from '../audit/index.js';
import type { Db } from '../platform/db/database.js';
import type { SegmentRow } from '../platform/db/schema.js';
import type { Actor } from '../platform/http/context.js';
import { conflict, invalid } from '../platform/errors.js';
import { loadSegment, planSegment, storedDefinition } from './compile.js';
import {
  describeDefinition, memberInputProblems, type CreateSegment, type SegmentDefinition, type SegmentMethod, type UpdateSegment,
} from './definition.js';
import { applyMemberChanges, emptyReport, replaceImportedMembers, type MemberReport } from './members.js';
import { countPlan, seesWholeBank } from './query.js';

/**
 * Creating, changing and (softly) deleting segments. Each write runs in one transaction that also records its
 * audit entry and the bank-wide member count; writes take one advisory lock so that two concurrent changes can
 * never together build a cycle of derived segments, or delete a segment another one is being built on.
 */
export interface WriteContext {
  actor: Actor;
  ip?: string | null;
  requestId?: string | null;
  now?: Date;
}

type Row = Selectable<SegmentRow>;

export interface SegmentView {
  id: string;
  name: string;
  method: SegmentMethod;
  description: string | null;
  definition: SegmentDefinition;
  summary: string;
  refreshCron: string | null;
  /** Bank-wide member count at refreshedAt; null for members whose scope is not the whole bank (they count instead). */
  memberCount: number | null;
  refreshedAt: Date | null;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

async function partNames(db: Db, definitions: SegmentDefinition[]): Promise<Map<string, string>> {
  const ids = [...new Set(definitions.flatMap((d) => (d.method === 'derived' ? d.segments : [])))];
  if (!ids.length) return new Map();
  const rows = await db.selectFrom('segments').select(['id', 'name']).where(sql<SqlBool>`id = ANY(${ids}::uuid[])`).execute();
  return new Map(rows.map((r) => [r.id, r.name]));
}

export async function viewsOf(db: Db, rows: Row[], actor: Actor): Promise<SegmentView[]> {
  const definitions = rows.map(storedDefinition);
  const names = await partNames(db, definitions);
  return rows.map((r, i) => ({
    id: r.id, name: r.name, method: r.method, description: r.description, definition: definitions[i]!,
    summary: describeDefinition(definitions[i]!, names), refreshCron: r.refresh_cron,
    memberCount: seesWholeBank(actor) ? r.member_count : null, refreshedAt: r.refreshed_at,
    createdBy: r.created_by, createdAt: r.created_at, updatedAt: r.updated_at,
  }));
}

export async function listSegments(db: Db, actor: Actor, q: { search?: string; method?: SegmentMethod; limit: number; offset: number }) {
  let query = db.selectFrom('segments').where('deleted_at', 'is', null);
  if (q.search) query = query.where('name', 'like', `%${q.search.replace(/[\\%_]/g, '\\$&')}%`);
  if (q.method) query = query.where('method', '=', q.method);
  const [rows, total] = await Promise.all([
    query.selectAll().orderBy('updated_at', 'desc').orderBy('id').limit(q.limit).offset(q.offset).execute(),
    query.select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow(),
  ]);
  return { total: total.n, items: await viewsOf(db, rows, actor) };
}

const lockGraph = (db: Db) => sql`SELECT pg_advisory_xact_lock(hashtext('segments.graph'))`.execute(db);

function rejectProblems(method: SegmentMethod, body: { members?: CreateSegment['members']; cifs?: string[] }, creating: boolean): void {
  const problems = memberInputProblems(method, body, creating);
  if (problems.length) throw invalid('invalid segment', problems);
}

async function saveMembers(db: Db, ctx: WriteContext, id: string, body: { members?: CreateSegment['members']; cifs?: string[] }): Promise<MemberReport> {
  if (body.cifs) return replaceImportedMembers(db, ctx.actor, id, body.cifs);
  return body.members ? applyMemberChanges(db, ctx.actor, id, body.members) : emptyReport();
}

/** Re-counts a segment bank-wide and stores it with the time. */
async function storeCount(db: Db, id: string, definition: SegmentDefinition, now: Date): Promise<number> {
  const count = await countPlan(db, await planSegment(db, definition, { segmentId: id }), { now });
  await db.updateTable('segments').set({ member_count: count, refreshed_at: now }).where('id', '=', id).execute();
  return count;
}

const isUniqueViolation = (error: unknown) => (error as { code?: string }).code === '23505';

async function audit(db: Db, ctx: WriteContext, action: string, targetId: string, detail: Record<string, unknown>): Promise<void> {
  await recordAudit(db, {
    actorType: 'staff', actorId: ctx.actor.id, action, targetType: 'segment', targetId, ip: ctx.ip, requestId: ctx.requestId, outcome: 'success', detail,
  });
}

const memberDetail = (r: MemberReport) => ({ added: r.added, removed: r.removed, excluded: r.excluded, unknownCount: r.unknownCount });

export async function createSegment(db: Db, body: CreateSegment, ctx: WriteContext): Promise<{ segment: SegmentView; members: MemberReport }> {
  rejectProblems(body.definition.method, body, true);
  const now = ctx.now ?? new Date();
  return db.transaction().execute(async (trx) => {
    await lockGraph(trx);
    await planSegment(trx, body.definition, { path: 'body.definition' });
    const row = await trx.insertInto('segments').values({
      name: body.name, method: body.definition.method, definition: JSON.stringify(body.definition), description: body.description ?? null,
      refresh_cron: body.refreshCron ?? null, member_count: null, refreshed_at: null, created_by: ctx.actor.id, deleted_at: null,
    }).returningAll().executeTakeFirstOrThrow().catch((error: unknown) => {
      throw isUniqueViolation(error) ? conflict(`a segment named '${body.name}' already exists`) : error;
    });
    const members = await saveMembers(trx, ctx, row.id, body);
    const count = await storeCount(trx, row.id, body.definition, now);
    await audit(trx, ctx, 'segments.create', row.id, {
      name: row.name, method: row.method, summary: describeDefinition(body.definition), definition: body.definition, count, members: memberDetail(members),
    });
    const [segment] = await viewsOf(trx, [await loadSegment(trx, row.id)], ctx.actor);
    return { segment: segment!, members };
  });
}

export async function updateSegment(db: Db, id: string, body: UpdateSegment, ctx: WriteContext): Promise<{ segment: SegmentView; members: MemberReport }> {
  const now = ctx.now ?? new Date();
  return db.transaction().execute(async (trx) => {
    await lockGraph(trx);
    const before = await loadSegment(trx, id);
    const definition = body.definition ?? storedDefinition(before);
    const methodChanged = definition.method !== before.method;
    rejectProblems(definition.method, body, methodChanged);
    if (body.definition) await planSegment(trx, body.definition, { path: 'body.definition', segmentId: id });
    // Members chosen for one method mean something else under another: a new method starts from none.
    if (methodChanged) await trx.deleteFrom('segment_members').where('segment_id', '=', id).execute();
    await trx.updateTable('segments').set({
      ...(body.name !== undefined ? { name: body.name } : {}),
      ...(body.description !== undefined ? { description: body.description } : {}),
      ...(body.refreshCron !== undefined ? { refresh_cron: body.refreshCron } : {}),
      ...(body.definition ? { definition: JSON.stringify(body.definition), method: body.definition.method } : {}),
      updated_at: now,
    }).where('id', '=', id).execute().catch((error: unknown) => {
      throw isUniqueViolation(error) ? conflict(`a segment named '${body.name}' already exists`) : error;
    });
    const members = await saveMembers(trx, ctx, id, body);
    const count = await storeCount(trx, id, definition, now);
    const changed = Object.keys(body).filter((k) => k !== 'members' && k !== 'cifs');
    await audit(trx, ctx, 'segments.update', id, {
      name: body.name ?? before.name, changed, ...(body.definition ? { before: before.definition, after: body.definition } : {}),
      methodChanged, count, members: memberDetail(members),
    });
    const [segment] = await viewsOf(trx, [await loadSegment(trx, id)], ctx.actor);
    return { segment: segment!, members };
  });
}

/** Soft delete; refused while a derived segment is built on it. Snapshots stay, as campaigns may still use them. */
export async function deleteSegment(db: Db, id: string, ctx: WriteContext): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await lockGraph(trx);
    const row = await loadSegment(trx, id);
    const users = await trx.selectFrom('segments').select('name').where('deleted_at', 'is', null).where('method', '=', 'derived')
      .where(sql<SqlBool>`definition->'segments' ? ${row.id}`).execute();
    if (users.length) throw conflict(`segment '${row.name}' is used by ${users.map((u) => `'${u.name}'`).join(', ')}; change those first`);
    await trx.updateTable('segments').set({ deleted_at: ctx.now ?? new Date() }).where('id', '=', id).execute();
    await audit(trx, ctx, 'segments.delete', id, { name: row.name, method: row.method });
  });
}
