import { sql, type SqlBool } from 'kysely';
import { customerScope } from '../auth/index.js';
import type { Db } from '../platform/db/database.js';
import type { Actor } from '../platform/http/context.js';
import type { MemberChanges } from './definition.js';
import type { MemberLists } from './compile.js';

/**
 * Customers named by id or CIF number, resolved within the actor's scope (a customer the actor may not see is
 * reported as unknown, so a list never reveals who exists), and the writes to segment_members. Lists of up to
 * 100,000 references travel as one array parameter each, never one parameter per item.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Unknown references echoed back in a response; the count is always complete. */
export const UNKNOWN_SHOWN = 1_000;

export interface Resolved {
  ids: string[];
  unknown: string[];
}

export async function resolveCustomers(db: Db, actor: Actor, refs: readonly string[]): Promise<Resolved> {
  const distinct = [...new Set(refs.map((r) => r.trim()).filter(Boolean))];
  const uuids = distinct.filter((r) => UUID.test(r));
  const cifs = distinct.filter((r) => !UUID.test(r));
  if (!distinct.length) return { ids: [], unknown: [] };
  const rows = await db.selectFrom('customers').select(['customers.id', 'customers.cif_no'])
    .where(customerScope(actor))
    .where((eb) => eb.or([
      ...(cifs.length ? [sql<SqlBool>`customers.cif_no = ANY(${cifs}::text[])`] : []),
      ...(uuids.length ? [sql<SqlBool>`customers.id = ANY(${uuids}::uuid[])`] : []),
    ]))
    .execute();
  const found = new Set<string>();
  for (const r of rows) found.add(r.cif_no).add(r.id.toLowerCase());
  return {
    ids: [...new Set(rows.map((r) => r.id))],
    unknown: distinct.filter((r) => !found.has(UUID.test(r) ? r.toLowerCase() : r)),
  };
}

export interface MemberReport {
  added: number;
  removed: number;
  excluded: number;
  unknownCount: number;
  /** The first UNKNOWN_SHOWN references that matched no customer in scope. */
  unknown: string[];
}

export const emptyReport = (): MemberReport => ({ added: 0, removed: 0, excluded: 0, unknownCount: 0, unknown: [] });

function noteUnknown(report: MemberReport, unknown: string[]): void {
  report.unknownCount += unknown.length;
  report.unknown.push(...unknown.slice(0, Math.max(0, UNKNOWN_SHOWN - report.unknown.length)));
}

async function upsert(db: Db, segmentId: string, ids: string[], include: boolean): Promise<number> {
  if (!ids.length) return 0;
  const { rows } = await sql<{ n: number }>`
    WITH w AS (
      INSERT INTO segment_members (segment_id, customer_id, include)
      SELECT ${segmentId}::uuid, u.id, ${include} FROM unnest(${ids}::uuid[]) AS u(id)
      ON CONFLICT (segment_id, customer_id) DO UPDATE SET include = excluded.include, added_at = now()
        WHERE segment_members.include IS DISTINCT FROM excluded.include
      RETURNING 1)
    SELECT count(*)::int AS n FROM w`.execute(db);
  return rows[0]?.n ?? 0;
}

/** Applies add / remove / exclude (by id or CIF) to a segment's explicit members; run it inside the write's transaction. */
export async function applyMemberChanges(db: Db, actor: Actor, segmentId: string, changes: MemberChanges, report = emptyReport()): Promise<MemberReport> {
  for (const [key, include] of [['add', true], ['exclude', false]] as const) {
    const refs = changes[key];
    if (!refs?.length) continue;
    const { ids, unknown } = await resolveCustomers(db, actor, refs);
    noteUnknown(report, unknown);
    const n = await upsert(db, segmentId, ids, include);
    if (include) report.added += n;
    else report.excluded += n;
  }
  if (changes.remove?.length) {
    const { ids, unknown } = await resolveCustomers(db, actor, changes.remove);
    noteUnknown(report, unknown);
    const result = await db.deleteFrom('segment_members').where('segment_id', '=', segmentId)
      .where(sql<SqlBool>`customer_id = ANY(${ids}::uuid[])`).executeTakeFirst();
    report.removed += Number(result.numDeletedRows);
  }
  return report;
}

/** An imported segment's list is the upload: members are replaced by the customers the CIF numbers resolve to. */
export async function replaceImportedMembers(db: Db, actor: Actor, segmentId: string, cifs: readonly string[]): Promise<MemberReport> {
  const report = emptyReport();
  const { ids, unknown } = await resolveCustomers(db, actor, cifs);
  noteUnknown(report, unknown);
  const removed = await db.deleteFrom('segment_members').where('segment_id', '=', segmentId).executeTakeFirst();
  report.removed = Number(removed.numDeletedRows);
  report.added = await upsert(db, segmentId, ids, true);
  return report;
}

/** For counting an unsaved definition: explicit lists resolved to ids, with what did not resolve. */
export async function unsavedMembers(db: Db, actor: Actor, input: { members?: MemberChanges; cifs?: string[] }): Promise<{ lists: MemberLists; report: MemberReport }> {
  const report = emptyReport();
  const resolve = async (refs: string[] | undefined) => {
    if (!refs?.length) return [];
    const { ids, unknown } = await resolveCustomers(db, actor, refs);
    noteUnknown(report, unknown);
    return ids;
  };
  const include = [...(await resolve(input.members?.add)), ...(await resolve(input.cifs))];
  const exclude = await resolve(input.members?.exclude);
  report.added = include.length;
  report.excluded = exclude.length;
  return { lists: { include, exclude }, report };
}
