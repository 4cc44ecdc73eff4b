import { sql, type Expression, type RawBuilder, type SqlBool } from 'kysely';
import { compileFilter, validateFilter, type FilterLeaf, type FilterNode } from '../filters/index.js';

/**
 * A filter tree compiled for counting a whole segment. Every condition is the grammar's own SQL (compileFilter),
 * except `last_contact_at`: the grammar computes each candidate customer's last contact in a correlated
 * subquery, which is right for one customer (an SOP condition) but costs ~18 µs a row when a segment has 80,000
 * candidates. Here the same semantics are written over sets that PostgreSQL builds once and probes by hash.
 *
 * The grammar's value is v = the latest of the customer's follow relations being added (deleted ones too) and
 * message_in / message_out events, NULL when there are none; its conditions are v < start(D) (before),
 * v ≥ start(D+1) (after) and start(a) ≤ v < start(b+1) (between; within_last_days is between today−N and today),
 * FALSE when v is NULL, with start(d) the first instant of day d in the time zone. With E the customer's contact
 * instants: v ≥ x ⟺ some e ∈ E is ≥ x, and v < y ⟺ E is not empty and no e ∈ E is ≥ y. Both sides are tested
 * against the filter oracle (segments' methods tests, on the filter fixture's day-boundary cases).
 */
type Bool = RawBuilder<SqlBool>;

const DEFAULT_ZONE = 'Asia/Shanghai';

function localDay(now: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(now);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year').padStart(4, '0')}-${get('month')}-${get('day')}`;
}

const addDays = (day: string, n: number) => new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

interface Scope { alias: string; timeZone: string; today: string; options: { now?: Date; timezone?: string; alias: string } }

/** Customers with a contact at or after `from` (or with any contact when `from` is null); never NULL. */
function contactedSince(s: Scope, from: string | null): Bool {
  const start = from === null ? null : sql`(${from}::timestamp AT TIME ZONE ${s.timeZone}::text)`;
  return sql<SqlBool>`${sql.ref(`${s.alias}.id`)} IN (
    SELECT sec.customer_id FROM follow_relations sfr JOIN external_contacts sec ON sec.corp_id = sfr.corp_id AND sec.external_userid = sfr.external_userid
      WHERE sec.customer_id IS NOT NULL AND ${start === null ? sql`sfr.added_at IS NOT NULL` : sql`sfr.added_at >= ${start}`}
    UNION ALL
    SELECT ste.customer_id FROM timeline_events ste
      WHERE ste.customer_id IS NOT NULL AND ste.kind IN ('message_in', 'message_out')${start === null ? sql`` : sql` AND ste.at >= ${start}`})`;
}

const not = (b: Expression<SqlBool>): Bool => sql<SqlBool>`(NOT ${b})`;
const and = (a: Expression<SqlBool>, b: Expression<SqlBool>): Bool => sql<SqlBool>`(${a} AND ${b})`;

function lastContact(leaf: FilterLeaf, s: Scope): Bool {
  const span = (first: string, last: string) => and(contactedSince(s, first), not(contactedSince(s, addDays(last, 1))));
  switch (leaf.op) {
    case 'before': return and(contactedSince(s, null), not(contactedSince(s, leaf.value as string)));
    case 'after': return contactedSince(s, addDays(leaf.value as string, 1));
    case 'between': return span(...(leaf.value as [string, string]));
    case 'within_last_days': return span(addDays(s.today, -(leaf.value as number)), s.today);
    case 'not_within_last_days': return not(span(addDays(s.today, -(leaf.value as number)), s.today));
    default: throw new Error(`segments: last_contact_at ${leaf.op} has no set form`);
  }
}

function compileNode(node: FilterNode, s: Scope): Expression<SqlBool> {
  if ('not' in node) return not(compileNode(node.not, s));
  if ('all' in node || 'any' in node) {
    const parts = ('all' in node ? node.all : node.any).map((child) => compileNode(child, s));
    if (parts.length === 1) return parts[0]!;
    return sql<SqlBool>`(${sql.join(parts, 'all' in node ? sql` AND ` : sql` OR `)})`;
  }
  if (node.field === 'last_contact_at') return lastContact(node, s);
  return compileFilter(node, s.options);
}

/** Like compileFilter (same validation, options and two-valued result), with set-based last-contact conditions. */
export function compileRule(tree: FilterNode, options: { now?: Date; timezone?: string; alias?: string } = {}): Expression<SqlBool> {
  const node = validateFilter(tree);
  const opts = { ...options, now: options.now ?? new Date(), alias: options.alias ?? 'c' };
  compileFilter(node, opts); // the grammar's checks of the time zone, instant and alias
  const timeZone = options.timezone ?? DEFAULT_ZONE;
  return compileNode(node, { alias: opts.alias, timeZone, today: localDay(opts.now, timeZone), options: opts });
}
