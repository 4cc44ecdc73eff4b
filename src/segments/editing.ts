import { sql } from 'kysely';
import { customerScope, maskedFor } from '../auth/index.js';
import type { FieldCipher } from '../platform/crypto.js';
import type { Db } from '../platform/db/database.js';
import type { Actor } from '../platform/http/context.js';
import { loadSegment, type MemberLists } from './compile.js';
import type { MemberChanges, SegmentMethod } from './definition.js';
import { emptyReport, resolveCustomers, UNKNOWN_SHOWN, type MemberReport } from './members.js';

/**
 * What the console's segment editor counts and previews before saving: a stored segment's explicit members with
 * the pending changes applied exactly as a save would apply them (add, then exclude, then remove; an upload
 * replaces an imported list; a new method starts from none), and the explicit members as they stand.
 */
export async function editedMembers(
  db: Db, actor: Actor, segmentId: string, method: SegmentMethod, input: { members?: MemberChanges; cifs?: string[] },
): Promise<{ lists: MemberLists; report: MemberReport }> {
  const row = await loadSegment(db, segmentId);
  const report = emptyReport();
  const resolve = async (refs: string[] | undefined) => {
    if (!refs?.length) return [];
    const { ids, unknown } = await resolveCustomers(db, actor, refs);
    report.unknownCount += unknown.length;
    report.unknown.push(...unknown.slice(0, Math.max(0, UNKNOWN_SHOWN - report.unknown.length)));
    return ids;
  };
  const state = new Map<string, boolean>();
  if (method === row.method && !input.cifs) {
    const stored = await db.selectFrom('segment_members').select(['customer_id', 'include']).where('segment_id', '=', segmentId).execute();
    for (const m of stored) state.set(m.customer_id, m.include);
  }
  for (const id of await resolve(input.cifs)) state.set(id, true);
  for (const id of await resolve(input.members?.add)) state.set(id, true);
  for (const id of await resolve(input.members?.exclude)) state.set(id, false);
  for (const id of await resolve(input.members?.remove)) state.delete(id);
  const include: string[] = [];
  const exclude: string[] = [];
  for (const [id, yes] of state) (yes ? include : exclude).push(id);
  report.added = include.length;
  report.excluded = exclude.length;
  return { lists: { include, exclude }, report };
}

export interface ExplicitMember {
  id: string;
  cifNo: string;
  name: string;
  /** Always masked, as in previews. */
  mobile: string | null;
  branchName: string | null;
  addedAt: Date;
}

/** A page of a segment's hand-picked members (include) or exclusions (custom), in the caller's scope, by CIF number. */
export async function explicitMembers(
  db: Db, cipher: FieldCipher, segmentId: string, actor: Actor, q: { include: boolean; limit: number; offset: number },
): Promise<{ total: number; items: ExplicitMember[] }> {
  await loadSegment(db, segmentId);
  const base = db.selectFrom('segment_members as sm').innerJoin('customers', 'customers.id', 'sm.customer_id')
    .where('sm.segment_id', '=', segmentId).where('sm.include', '=', q.include).where(customerScope(actor));
  const [rows, total] = await Promise.all([
    base.leftJoin('branches', 'branches.id', 'customers.branch_id')
      .select(['customers.id', 'customers.cif_no', 'customers.name', 'customers.mobile_enc', 'branches.name as branch_name', 'sm.added_at'])
      .orderBy('customers.cif_no').limit(q.limit).offset(q.offset).execute(),
    base.select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow(),
  ]);
  const m = maskedFor(actor.role, false);
  return {
    total: total.n,
    items: rows.map((r) => ({
      id: r.id, cifNo: r.cif_no, name: r.name, mobile: m.mobile(r.mobile_enc ? cipher.decrypt(r.mobile_enc) : null),
      branchName: r.branch_name, addedAt: r.added_at,
    })),
  };
}
