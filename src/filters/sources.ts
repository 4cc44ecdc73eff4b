import { sql, type RawBuilder, type SqlBool } from 'kysely';
import { monthDay } from './dates.js';
import type { TagNumbers } from './tags.js';

/**
 * Where each field's value lives, as SQL on `customers` (alias `c` by default) and correlated subqueries, so a
 * compiled filter needs no joins and drops into any `selectFrom('customers as c')`.
 *
 * Every predicate built here is two-valued: it is TRUE or FALSE, never NULL. A customer without a value (no
 * risk level, no score row, no birth date) fails every positive comparison; `ne`, `not_in`, `has_none`,
 * `not_within_last_days` and `{not: ...}` are the exact complements of their positive forms, so they include
 * that customer. Without this, `{not: X}` would silently drop every row where X was NULL.
 */
export type Sql = RawBuilder<unknown>;
export type Bool = RawBuilder<SqlBool>;
export type Pred = (x: Sql) => Bool;

export interface Scope {
  /** Alias of the customers table in the surrounding query. */
  alias: string;
  timeZone: string;
  /** Today's calendar date in timeZone at `now`, 'YYYY-MM-DD'. */
  today: string;
  /** Tag references resolved beforehand (compile.ts hasTag). */
  tagNumbers?: TagNumbers;
}

export interface Source {
  /** Relative-date comparisons need to know whether the value is a date or an instant. */
  readonly time?: 'date' | 'timestamp';
  /** TRUE exactly when the customer has a value for which `pred` holds. */
  where(scope: Scope, pred: Pred): Bool;
}

/** Aliases used inside subqueries; the outer alias must differ from all of them or references would bind inward. */
export const INNER_ALIASES = ['fs', 'fec', 'ffr', 'ft', 'fg', 'fm', 'fv'];

export const col = (s: Scope, name: string): Sql => sql.ref(`${s.alias}.${name}`);
export const not = (b: Bool): Bool => sql<SqlBool>`(NOT ${b})`;

export function column(name: string, options: { nullable: boolean; time?: 'date' | 'timestamp' }): Source {
  return {
    time: options.time,
    where: (s, pred) => {
      const x = col(s, name);
      // `x IS NOT NULL AND ...` rather than COALESCE keeps the comparison indexable (customers_aum, ...).
      return options.nullable ? sql<SqlBool>`(${x} IS NOT NULL AND ${pred(x)})` : pred(x);
    },
  };
}

/**
 * A value computed per customer. A predicate may mention its value twice (a day span), so the value is computed
 * once in a subquery (OFFSET 0 stops the planner from inlining it back) and COALESCE turns NULL into FALSE.
 */
export function computed(expr: (s: Scope) => Sql): Source {
  return {
    where: (s, pred) => sql<SqlBool>`COALESCE((SELECT ${pred(sql.ref('fv.v'))} FROM (SELECT ${expr(s)} AS v OFFSET 0) fv), false)`,
  };
}

/** A column of customer_scores; a customer with no score row simply has no value. (The churn band is on the customer row.) */
export function score(name: string, options: { cast?: 'numeric' } = {}): Source {
  return {
    where: (s, pred) => {
      // churn_probability is real; comparing it as numeric makes `eq 0.3` mean the 0.3 that was stored.
      const x = options.cast ? sql`${sql.ref(`fs.${name}`)}::numeric` : sql.ref(`fs.${name}`);
      return sql<SqlBool>`EXISTS (SELECT 1 FROM customer_scores fs WHERE fs.customer_id = ${col(s, 'id')} AND ${pred(x)})`;
    },
  };
}

/** A WeCom follow relation of the customer (through external_contacts.customer_id) that is still live. */
export function liveRelation(s: Scope, condition: Bool): Bool {
  return sql<SqlBool>`EXISTS (SELECT 1 FROM external_contacts fec
    JOIN follow_relations ffr ON ffr.corp_id = fec.corp_id AND ffr.external_userid = fec.external_userid
    WHERE fec.customer_id = ${col(s, 'id')} AND ffr.deleted_at IS NULL AND ${condition})`;
}

export const relationAdded: Source = { time: 'timestamp', where: (s, pred) => liveRelation(s, pred(sql.ref('ffr.added_at'))) };

/** Month * 100 + day, written exactly as the customers_birth_md index is, so the planner can use it. */
export const birthMonthDay = (x: Sql): Sql => sql`((EXTRACT(MONTH FROM ${x}) * 100 + EXTRACT(DAY FROM ${x}))::int)`;

/** Whole years completed on `today`: a 29 February birthday completes its year on 1 March in common years. */
export const ageSource = computed((s) => {
  const birth = col(s, 'birth_date');
  return sql`(${Number(s.today.slice(0, 4))}::int - EXTRACT(YEAR FROM ${birth})::int
    - CASE WHEN ${birthMonthDay(birth)} > ${monthDay(s.today)}::int THEN 1 ELSE 0 END)`;
});

/**
 * "Last contact": the latest of the customer's WeCom follow relations being added (deleted relations too, the add
 * still happened) and message_in / message_out events on the customer's timeline. Kept on customers.last_contact_at
 * by triggers on timeline_events, follow_relations and external_contacts (migration 0009), so it is a plain column
 * here instead of two correlated aggregates per customer; the filter tests hold it to the oracle.
 */
export const lastContactSource = column('last_contact_at', { nullable: true, time: 'timestamp' });

/**
 * The churn band of the customer's customer_scores row, NULL without a row or a band: kept on customers.churn_band
 * by triggers on customer_scores (migration 0018), so "流失风险高" is a column of the row already being read, served
 * with the branch by the customers_band_branch covering index, instead of a semi-join with every score row.
 */
export const churnBandSource = column('churn_band', { nullable: true });
