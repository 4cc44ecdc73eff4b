import { sql, type Expression, type SqlBool } from 'kysely';
import { invalid } from '../platform/errors.js';
import { addDays, isLeapYear, isTimeZone, localDate, monthDay } from './dates.js';
import type { FieldName, Operator } from './fields.js';
import {
  INNER_ALIASES, ageSource, birthMonthDay, churnBandSource, col, column, lastContactSource, liveRelation, not, relationAdded, score,
  type Bool, type Scope, type Source, type Sql,
} from './sources.js';
import type { TagNumbers } from './tags.js';
import type { FilterNode } from './types.js';
import { validateFilter } from './validate.js';

/**
 * Filter tree → one boolean SQL expression over `customers` (alias `c`). Values only ever enter the SQL as
 * bound parameters (the `sql` tag binds every interpolated value); identifiers come from this file.
 */
export interface CompileOptions {
  /** The instant relative dates are measured from; default the current time. */
  now?: Date;
  /** Calendar days are counted in this zone; default Asia/Shanghai. */
  timezone?: string;
  /** Alias of customers in the query, default 'c'; 'customers' lets a filter sit beside customerScope(). */
  alias?: string;
  /** Tag references resolved beforehand (resolveTagNumbers): their numbers become literals the planner can use. */
  tagNumbers?: TagNumbers;
}

type Compiler = (op: Operator, value: unknown, s: Scope) => Bool;

const TRUE = sql<SqlBool>`true`;
const FALSE = sql<SqlBool>`false`;
const list = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : [String(value)]);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const likeEscape = (text: string) => text.replace(/[\\%_]/g, (ch) => `\\${ch}`);

function numberField(src: Source): Compiler {
  return (op, value, s) => {
    // Only these fixed symbols reach sql.raw; the compared value is a parameter.
    const cmp = (symbol: '=' | '>' | '>=' | '<' | '<=') => src.where(s, (x) => sql<SqlBool>`${x} ${sql.raw(symbol)} ${value}::numeric`);
    switch (op) {
      case 'eq': return cmp('=');
      case 'ne': return not(cmp('='));
      case 'gt': return cmp('>');
      case 'gte': return cmp('>=');
      case 'lt': return cmp('<');
      case 'lte': return cmp('<=');
      case 'between': {
        const [min, max] = value as [number, number];
        return src.where(s, (x) => sql<SqlBool>`${x} BETWEEN ${min}::numeric AND ${max}::numeric`);
      }
      case 'is_null': return not(src.where(s, (x) => sql<SqlBool>`${x} IS NOT NULL`));
      case 'not_null': return src.where(s, (x) => sql<SqlBool>`${x} IS NOT NULL`);
      default: throw unsupported(op);
    }
  };
}

function enumField(src: Source): Compiler {
  return (op, value, s) => {
    const isAny = src.where(s, (x) => sql<SqlBool>`${x} = ANY(${list(value)}::text[])`);
    return op === 'ne' || op === 'not_in' ? not(isAny) : isAny;
  };
}

function textField(src: Source): Compiler {
  return (op, value, s) => {
    const text = String(value);
    if (op === 'eq') return src.where(s, (x) => sql<SqlBool>`${x} = ${text}`);
    // The user's text is a literal: %, _ and \ are escaped, and the pattern is still a bound parameter.
    const pattern = op === 'contains' ? `%${likeEscape(text)}%` : `${likeEscape(text)}%`;
    return src.where(s, (x) => sql<SqlBool>`${x} LIKE ${pattern} ESCAPE ${'\\'}`);
  };
}

/** text[] columns; @> and && are the operators the GIN indexes on segments and products serve. */
function arrayField(name: 'segments' | 'products'): Compiler {
  const src = column(name, { nullable: false });
  return (op, value, s) => {
    if (op === 'matures_within_days') return maturesWithin(s, value as number);
    const values = list(value);
    switch (op) {
      case 'has': case 'has_all': return src.where(s, (x) => sql<SqlBool>`${x} @> ${values}::text[]`);
      case 'has_any': return src.where(s, (x) => sql<SqlBool>`${x} && ${values}::text[]`);
      case 'has_none': return not(src.where(s, (x) => sql<SqlBool>`${x} && ${values}::text[]`));
      default: throw unsupported(op);
    }
  };
}

/**
 * Maturities are `attrs.maturities = [{"productId": "p-...", "date": "YYYY-MM-DD"}, ...]`, one entry per holding
 * that matures. Dates compare as text (ISO dates sort as text), so a malformed entry is skipped, not a failed query.
 */
function maturesWithin(s: Scope, days: number): Bool {
  const m = sql`${col(s, 'attrs')}->'maturities'`;
  const day = sql`left(fm.entry->>'date', 10) COLLATE "C"`;
  return sql<SqlBool>`EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(${m}) = 'array' THEN ${m} ELSE '[]'::jsonb END) AS fm(entry)
    WHERE jsonb_typeof(fm.entry) = 'object' AND ${day} ~ ${'^[0-9]{4}-[0-9]{2}-[0-9]{2}$'}
      AND ${day} BETWEEN ${s.today} AND ${addDays(s.today, days)})`;
}

/**
 * A reference names a tag by name (any group), 'group:name', or id; deleted tags never match. customers.tag_nos
 * holds the number of every tag the customer carries (kept by triggers on customer_tags, migration 0009), so the
 * customer side is an array condition the customers_tag_nos GIN index serves. tag_nos is never NULL, so the
 * condition is TRUE or FALSE.
 *
 * With the references resolved beforehand (options.tagNumbers) the numbers are literals: one tag is
 * `tag_nos @> ARRAY[n]`, the predicate of that tag's partial index (src/tags/indexes.ts), several an overlap, none
 * FALSE. Otherwise they are looked up once inside the query (an InitPlan) and an empty lookup overlaps nothing.
 */
function hasTag(s: Scope, refs: string[]): Bool {
  const resolved = s.tagNumbers && refs.every((r) => s.tagNumbers!.has(r)) ? [...new Set(refs.flatMap((r) => s.tagNumbers!.get(r)!))] : null;
  if (resolved) {
    if (!resolved.length) return FALSE;
    // Numbers from the tags table, checked to be integers before they become SQL text.
    if (!resolved.every((n) => Number.isSafeInteger(n) && n > 0)) throw new Error('filters: a resolved tag number is not a positive integer');
    const array = sql.raw(`ARRAY[${[...resolved].sort((a, b) => a - b).join(',')}]::integer[]`);
    return resolved.length === 1 ? sql<SqlBool>`${col(s, 'tag_nos')} @> ${array}` : sql<SqlBool>`${col(s, 'tag_nos')} && ${array}`;
  }
  const ids = refs.filter((r) => UUID.test(r));
  return sql<SqlBool>`${col(s, 'tag_nos')} && ARRAY(SELECT ft.tag_no FROM tags ft JOIN tag_groups fg ON fg.id = ft.group_id WHERE ft.deleted_at IS NULL
      AND (ft.name = ANY(${refs}::text[]) OR fg.name || ':' || ft.name = ANY(${refs}::text[])${ids.length ? sql` OR ft.id = ANY(${ids}::uuid[])` : sql``}))`;
}

const tagsField: Compiler = (op, value, s) => {
  const refs = list(value);
  switch (op) {
    case 'has': case 'has_any': return hasTag(s, refs);
    case 'has_all': return sql<SqlBool>`(${sql.join(refs.map((r) => hasTag(s, [r])), sql` AND `)})`;
    case 'has_none': return not(hasTag(s, refs));
    default: throw unsupported(op);
  }
};

/**
 * Absolute dates are calendar days in the zone; relative ones count days back from today: within_last_days N
 * holds for a value whose day is today or up to N days earlier. Timestamps compare with the start of a local
 * day, which keeps the comparison on the bare column (indexable).
 */
function dateField(src: Source): Compiler {
  return (op, value, s) => {
    const dayStart = (day: string): Sql =>
      src.time === 'date' ? sql`${day}::date` : sql`(${day}::timestamp AT TIME ZONE ${s.timeZone}::text)`;
    const from = (day: string) => src.where(s, (x) => sql<SqlBool>`${x} >= ${dayStart(day)}`);
    const span = (first: string, last: string) =>
      src.where(s, (x) => sql<SqlBool>`(${x} >= ${dayStart(first)} AND ${x} < ${dayStart(addDays(last, 1))})`);
    switch (op) {
      case 'before': return src.where(s, (x) => sql<SqlBool>`${x} < ${dayStart(value as string)}`);
      case 'after': return from(addDays(value as string, 1));
      case 'between': return span(...(value as [string, string]));
      case 'within_last_days': return span(addDays(s.today, -(value as number)), s.today);
      case 'not_within_last_days': return not(span(addDays(s.today, -(value as number)), s.today));
      case 'birthday_within_next_days': return src.where(s, (x) => birthdayWithin(x, value as number, s));
      default: throw unsupported(op);
    }
  };
}

/**
 * The next birthday falls within [today, today + N]. Written on month*100+day so the customers_birth_md index
 * serves it, wrapping from December into January. A 29 February birthday is kept on 28 February in common years.
 */
function birthdayWithin(birth: Sql, days: number, s: Scope): Bool {
  if (days >= 365) return TRUE; // 366 consecutive days hold everyone's birthday
  const end = addDays(s.today, days);
  const first = monthDay(s.today), last = monthDay(end);
  const md = birthMonthDay(birth);
  const window = first <= last
    ? sql<SqlBool>`${md} BETWEEN ${first}::int AND ${last}::int`
    : sql<SqlBool>`(${md} >= ${first}::int OR ${md} <= ${last}::int)`;
  return last === 228 && !isLeapYear(Number(end.slice(0, 4))) ? sql<SqlBool>`(${window} OR ${md} = 229)` : window;
}

function booleanField(holds: (s: Scope) => Bool): Compiler {
  return (op, _value, s) => (op === 'is_false' ? not(holds(s)) : holds(s));
}

/** Contact-way ids are uuids; anything else is matched as the relation's `state` (the channel code). */
function followChannel(values: string[]): Bool {
  const ids = values.filter((v) => UUID.test(v));
  return sql<SqlBool>`(ffr.state = ANY(${values}::text[])${ids.length ? sql` OR ffr.contact_way_id = ANY(${ids}::uuid[])` : sql``})`;
}

const riskAssessedAt = column('risk_assessed_at', { nullable: true, time: 'date' });

const COMPILERS: Record<FieldName, Compiler> = {
  aum: numberField(column('aum', { nullable: false })),
  age: numberField(ageSource),
  churn_probability: numberField(score('churn_probability', { cast: 'numeric' })),
  recency_score: numberField(score('recency_score')),
  frequency_score: numberField(score('frequency_score')),
  monetary_score: numberField(score('monetary_score')),
  risk_level: enumField(column('risk_level', { nullable: true })),
  gender: enumField(column('gender', { nullable: true })),
  branch_id: enumField(column('branch_id', { nullable: true })),
  rfm_class: enumField(score('rfm_class')),
  churn_band: enumField(churnBandSource),
  marketing_consent: booleanField((s) => sql<SqlBool>`${col(s, 'marketing_consent')}`),
  is_wecom_contact: booleanField((s) => liveRelation(s, TRUE)),
  // A risk assessment is valid for 365 days: assessed today or up to 365 days ago.
  risk_assessment_valid: booleanField((s) => dateField(riskAssessedAt)('within_last_days', 365, s)),
  name: textField(column('name', { nullable: false })),
  cif_no: textField(column('cif_no', { nullable: false })),
  segments: arrayField('segments'),
  products: arrayField('products'),
  tags: tagsField,
  last_txn_at: dateField(column('last_txn_at', { nullable: true, time: 'timestamp' })),
  created_at: dateField(column('created_at', { nullable: false, time: 'timestamp' })),
  risk_assessed_at: dateField(riskAssessedAt),
  birth_date: dateField(column('birth_date', { nullable: true, time: 'date' })),
  last_contact_at: dateField(lastContactSource),
  follow_member: (_op, value, s) => liveRelation(s, sql<SqlBool>`ffr.userid = ANY(${list(value)}::text[])`),
  follow_channel: (_op, value, s) => liveRelation(s, followChannel(list(value))),
  follow_added: dateField(relationAdded),
};

function unsupported(op: string): Error {
  return new Error(`filters: operator ${op} has no SQL (registry and compiler disagree)`);
}

function compileNode(node: FilterNode, s: Scope): Bool {
  if ('not' in node) return not(compileNode(node.not, s));
  if ('all' in node || 'any' in node) {
    const children = 'all' in node ? node.all : node.any;
    const parts = children.map((child) => compileNode(child, s));
    if (parts.length === 1) return parts[0]!;
    return sql<SqlBool>`(${sql.join(parts, 'all' in node ? sql` AND ` : sql` OR `)})`;
  }
  return COMPILERS[node.field as FieldName](node.op as Operator, node.value, s);
}

/**
 * Validates the tree (stored definitions may predate a registry change) and compiles it:
 * `db.selectFrom('customers as c').where(compileFilter(tree, { now }))`.
 */
export function compileFilter(tree: FilterNode, options: CompileOptions = {}): Expression<SqlBool> {
  const node = validateFilter(tree);
  const timeZone = options.timezone ?? 'Asia/Shanghai';
  if (!isTimeZone(timeZone)) throw invalid('invalid filter options', [{ path: 'timezone', message: `unknown time zone '${timeZone}'` }]);
  const now = options.now ?? new Date();
  if (Number.isNaN(now.getTime())) throw invalid('invalid filter options', [{ path: 'now', message: 'expected a valid date' }]);
  const alias = options.alias ?? 'c';
  // The alias is the caller's code, not user input; still, it is checked before it becomes an identifier.
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(alias) || INNER_ALIASES.includes(alias)) throw new Error(`filters: unusable alias '${alias}'`);
  return compileNode(node, { alias, timeZone, today: localDate(now, timeZone), ...(options.tagNumbers ? { tagNumbers: options.tagNumbers } : {}) });
}
