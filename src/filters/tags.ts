import { sql } from 'kysely';
import type { Db } from '../platform/db/database.js';
import type { FilterNode } from './types.js';

/**
 * Tag references resolved before compiling. A filter names tags by name, 'group:name' or id; compiled alone it looks
 * them up inside the query (an InitPlan), which the planner cannot see into. Resolved beforehand, the numbers enter
 * the SQL as literals: the planner then estimates "标签含 X" from the tag_nos statistics and can answer it from a
 * partial index built for that tag (src/tags/indexes.ts). Only live (not deleted) tags are resolved, as the
 * lookup does.
 */
export type TagNumbers = ReadonlyMap<string, readonly number[]>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Every tag reference in the trees (tags leaves only), without duplicates. */
export function tagReferences(trees: readonly FilterNode[]): string[] {
  const refs = new Set<string>();
  const walk = (node: FilterNode): void => {
    if ('not' in node) return walk(node.not);
    if ('all' in node) return node.all.forEach(walk);
    if ('any' in node) return node.any.forEach(walk);
    if (node.field !== 'tags') return;
    for (const v of Array.isArray(node.value) ? node.value : [node.value]) if (typeof v === 'string') refs.add(v);
  };
  trees.forEach(walk);
  return [...refs];
}

/** Each reference → the numbers of the live tags it names (none for a reference that names no tag). */
export async function resolveTagNumbers(db: Db, refs: readonly string[]): Promise<TagNumbers> {
  const result = new Map<string, number[]>(refs.map((r) => [r, []]));
  if (!refs.length) return result;
  const ids = refs.filter((r) => UUID.test(r)).map((r) => r.toLowerCase());
  const { rows } = await sql<{ tag_no: number; id: string; name: string; grp: string }>`
    SELECT t.tag_no, t.id, t.name, g.name AS grp FROM tags t JOIN tag_groups g ON g.id = t.group_id
    WHERE t.deleted_at IS NULL AND (t.name = ANY(${[...refs]}::text[]) OR g.name || ':' || t.name = ANY(${[...refs]}::text[])
      ${ids.length ? sql`OR t.id = ANY(${ids}::uuid[])` : sql``})`.execute(db);
  for (const ref of refs) {
    const numbers = rows.filter((t) => t.name === ref || `${t.grp}:${t.name}` === ref || t.id === ref.toLowerCase()).map((t) => t.tag_no);
    result.set(ref, [...new Set(numbers)].sort((a, b) => a - b));
  }
  return result;
}
