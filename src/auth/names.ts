import type { Db } from '../platform/db/database.js';

/**
 * Display names of staff members by id, for pages that show who wrote, reviewed or changed
 * something. Names only: roles, branches and WeCom ids stay behind `staff.read`.
 */
export async function staffNames(db: Db, ids: readonly (string | null | undefined)[]): Promise<Map<string, string>> {
  const wanted = [...new Set(ids.filter((id): id is string => typeof id === 'string' && id.length > 0))];
  if (!wanted.length) return new Map();
  const rows = await db.selectFrom('staff').select(['id', 'display_name']).where('id', 'in', wanted).execute();
  return new Map(rows.map((r) => [r.id, r.display_name]));
}
