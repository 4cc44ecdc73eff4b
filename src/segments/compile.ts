import { sql, type Expression, type SqlBool } from 'kysely';
import { compileFilter, resolveTagNumbers, tagReferences, type CompileOptions, type TagNumbers } from '../filters/index.js';
import type { Db } from '../platform/db/database.js';
import { AppError, conflict, invalid, notFound } from '../platform/errors.js';
import { SEGMENT_LIMITS, segmentDefinitionSchema, type BaseDefinition, type SegmentDefinition } from './definition.js';

/**
 * A segment definition → one two-valued SQL condition on the customers table (any alias), or a subquery of
 * customer ids. Derived segments are resolved first (their parts loaded, missing ids and cycles rejected), so
 * building the condition itself needs no database. Values only ever enter the SQL as bound parameters.
 */
export interface MemberLists {
  include: readonly string[];
  exclude: readonly string[];
}

export interface SegmentSqlOptions {
  /** Relative dates in rules are measured from this instant; default the current time. */
  now?: Date;
  timezone?: string;
  /** The stored segment whose segment_members a fixed, imported or custom definition reads (and which a derived one must not reach). */
  segmentId?: string;
  /** For an unsaved definition: explicit members by customer id, in place of segment_members. */
  members?: MemberLists;
  /** Where the definition sits in the request (e.g. 'body.definition'): problems are then 400s naming it; else 409s. */
  path?: string;
}

export type SegmentPlan =
  | { kind: 'base'; definition: BaseDefinition; segmentId?: string; members?: MemberLists; tagNumbers?: TagNumbers }
  | { kind: 'derived'; op: 'union' | 'intersection' | 'difference'; parts: SegmentPlan[] };

interface Stored { id: string; name: string; definition: SegmentDefinition }

/** Parses a stored definition; a definition that no longer validates is a conflict, not a crash. */
export function storedDefinition(row: { id: string; name: string; definition: unknown }): SegmentDefinition {
  const parsed = segmentDefinitionSchema.safeParse(row.definition);
  if (!parsed.success) throw conflict(`segment '${row.name}' has a stored definition that is no longer valid: ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data;
}

function parseDefinition(definition: unknown, path: string | undefined): SegmentDefinition {
  const parsed = segmentDefinitionSchema.safeParse(definition);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ path: [path ?? 'definition', ...i.path.map(String)].join('.'), message: i.message }));
  throw new AppError('invalid', 'invalid segment definition', { issues });
}

/** Resolves derived segments down to base definitions, rejecting missing ids, deleted segments and cycles. */
export async function planSegment(db: Db, definition: unknown, options: SegmentSqlOptions = {}): Promise<SegmentPlan> {
  const root = parseDefinition(definition, options.path);
  const cache = new Map<string, Stored | null>();
  const stack: { id: string; name: string }[] = options.segmentId ? [{ id: options.segmentId.toLowerCase(), name: 'this segment' }] : [];
  let reached = 0;

  const problem = (index: number, message: string): AppError =>
    options.path ? invalid('invalid segment definition', [{ path: `${options.path}.segments.${index}`, message }]) : conflict(message);

  async function load(ids: string[]): Promise<void> {
    const wanted = ids.map((id) => id.toLowerCase()).filter((id) => !cache.has(id));
    if (!wanted.length) return;
    const rows = await db.selectFrom('segments').select(['id', 'name', 'definition'])
      .where(sql<SqlBool>`id = ANY(${wanted}::uuid[])`).where('deleted_at', 'is', null).execute();
    for (const id of wanted) cache.set(id, null);
    for (const row of rows) cache.set(row.id.toLowerCase(), { id: row.id, name: row.name, definition: storedDefinition(row) });
  }

  async function build(def: SegmentDefinition, top: number | null, segmentId?: string, members?: MemberLists): Promise<SegmentPlan> {
    if (def.method !== 'derived') {
      // Tags resolved now, so the condition carries their numbers as literals (see filters/tags.ts).
      const refs = 'filter' in def && def.filter ? tagReferences([def.filter]) : [];
      const tagNumbers = refs.length ? await resolveTagNumbers(db, refs) : undefined;
      return { kind: 'base', definition: def, ...(segmentId ? { segmentId } : {}), ...(members ? { members } : {}), ...(tagNumbers ? { tagNumbers } : {}) };
    }
    await load(def.segments);
    const parts: SegmentPlan[] = [];
    for (const [i, id] of def.segments.entries()) {
      const at = top ?? i;
      const part = cache.get(id.toLowerCase());
      const via = stack.slice(options.segmentId ? 1 : 0).map((s) => `'${s.name}' → `).join('');
      if (!part) throw problem(at, `segment ${via}${id} does not exist or was deleted`);
      const seen = stack.findIndex((s) => s.id === part.id.toLowerCase());
      if (seen >= 0) {
        const loop = [...stack.slice(seen), { name: part.name }].map((s) => `'${s.name}'`).join(' → ');
        throw problem(at, `segments would form a cycle: ${loop}`);
      }
      if (++reached > SEGMENT_LIMITS.reachable) throw problem(at, `a derived segment may reach at most ${SEGMENT_LIMITS.reachable} segments`);
      stack.push({ id: part.id.toLowerCase(), name: part.name });
      parts.push(await build(part.definition, at, part.id));
      stack.pop();
    }
    return { kind: 'derived', op: def.op, parts };
  }

  return build(root, null, options.segmentId, options.members);
}

const FALSE = sql<SqlBool>`false`;

function members(plan: Extract<SegmentPlan, { kind: 'base' }>, alias: string, include: boolean): Expression<SqlBool> {
  const id = sql.ref(`${alias}.id`);
  if (plan.segmentId) {
    return sql<SqlBool>`EXISTS (SELECT 1 FROM segment_members sgm
      WHERE sgm.segment_id = ${plan.segmentId}::uuid AND sgm.customer_id = ${id} AND sgm.include = ${include})`;
  }
  const list = plan.members ? (include ? plan.members.include : plan.members.exclude) : [];
  return list.length ? sql<SqlBool>`${id} = ANY(${[...list]}::uuid[])` : FALSE;
}

/** customer_scores.propensity is [{productId, score, ...}]; malformed entries are skipped, never a failed query. */
function propensity(alias: string, productId: string, minScore: number): Expression<SqlBool> {
  return sql<SqlBool>`EXISTS (SELECT 1 FROM customer_scores sps
    CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(sps.propensity) = 'array' THEN sps.propensity ELSE '[]'::jsonb END) spe(e)
    WHERE sps.customer_id = ${sql.ref(`${alias}.id`)} AND jsonb_typeof(spe.e) = 'object' AND spe.e->>'productId' = ${productId}
      AND jsonb_typeof(spe.e->'score') = 'number' AND (spe.e->>'score')::numeric >= ${minScore}::numeric)`;
}

const and = (parts: Expression<SqlBool>[]) => (parts.length === 1 ? parts[0]! : sql<SqlBool>`(${sql.join(parts, sql` AND `)})`);
const or = (parts: Expression<SqlBool>[]) => (parts.length === 1 ? parts[0]! : sql<SqlBool>`(${sql.join(parts, sql` OR `)})`);

/** The plan as a condition on `alias` (default 'customers', so it sits beside customerScope()). Always TRUE or FALSE. */
export function planPredicate(plan: SegmentPlan, options: { now?: Date; timezone?: string; alias?: string } = {}): Expression<SqlBool> {
  const alias = options.alias ?? 'customers';
  const filter: CompileOptions = { now: options.now, timezone: options.timezone, alias };
  if (plan.kind === 'derived') {
    const parts = plan.parts.map((p) => planPredicate(p, options));
    if (plan.op === 'union') return or(parts);
    if (plan.op === 'intersection') return and(parts);
    const [first, ...rest] = parts;
    return sql<SqlBool>`(${first!} AND NOT ${or(rest)})`;
  }
  const d = plan.definition;
  if (plan.tagNumbers) filter.tagNumbers = plan.tagNumbers;
  switch (d.method) {
    case 'fixed': case 'imported': return members(plan, alias, true);
    case 'rule': return compileFilter(d.filter, filter);
    case 'custom': return sql<SqlBool>`((${compileFilter(d.filter, filter)} OR ${members(plan, alias, true)}) AND NOT ${members(plan, alias, false)})`;
    case 'score': {
      const parts: Expression<SqlBool>[] = [];
      if (d.filter) parts.push(compileFilter(d.filter, filter));
      if (d.propensity) parts.push(propensity(alias, d.propensity.productId, d.propensity.minScore));
      return and(parts);
    }
  }
}

/**
 * The customer ids a definition selects, as a subquery: `where('c.id', 'in', await segmentSql(db, def, { now }))`.
 * Not scoped: callers acting for a member add customerScope(actor) themselves (countSegment and previewSegment do).
 */
export async function segmentSql(db: Db, definition: unknown, options: SegmentSqlOptions = {}) {
  const plan = await planSegment(db, definition, options);
  return db.selectFrom('customers').select('customers.id').where(planPredicate(plan, options));
}

/** A live (not deleted) segment row, or 404. */
export async function loadSegment(db: Db, id: string) {
  const row = await db.selectFrom('segments').selectAll().where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
  if (!row) throw notFound('segment');
  return row;
}

/** segmentSql for a stored segment, with its own members. */
export async function segmentSqlById(db: Db, segmentId: string, options: Omit<SegmentSqlOptions, 'segmentId' | 'members' | 'path'> = {}) {
  const row = await loadSegment(db, segmentId);
  return segmentSql(db, storedDefinition(row), { ...options, segmentId: row.id });
}
