import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../platform/db/database.js';
import type { ChurnRow } from './churn.js';
import { cooccurrenceFromRows, type Cooccurrence, type RiskLevel } from './propensity.js';
import type { QuintileBounds, RfmBounds, RfmMetrics } from './rfm.js';

/**
 * The scoring job's reads. Every per-customer fact is computed by one SQL expression, used both by the
 * population-wide quintile query and by the paged batch query, so the two cannot disagree.
 *
 * "Last contact" is the latest of: a timeline event about the customer caused by a member or by the
 * customer (cause_type 'member' | 'customer': messages, calls, visits as other modules record them), and
 * the moment one of the customer's WeCom contacts was added by an account manager (follow_relations.added_at).
 */

export interface CustomerFacts {
  id: string;
  aum: number;
  products: string[];
  riskLevel: RiskLevel | null;
  riskAssessedAt: string | null;
  marketingConsent: boolean;
  age: number | null;
  txnDays: number | null;
  contactDays: number | null;
  /** Distinct products held + attrs.txnCount90d (see rfm.ts). */
  frequency: number;
  aum90dAgo: number | null;
  churned: boolean;
  deletedByCustomer: boolean;
}

const CHURNED = sql`(c.attrs -> 'churned' = 'true'::jsonb)`;
const LAST_CONTACT = sql`greatest(
  (SELECT max(te.at) FROM timeline_events te WHERE te.customer_id = c.id AND te.cause_type IN ('member', 'customer')),
  (SELECT max(fr.added_at) FROM external_contacts ec
     JOIN follow_relations fr ON fr.corp_id = ec.corp_id AND fr.external_userid = ec.external_userid
   WHERE ec.customer_id = c.id))`;
const FREQUENCY = sql`((SELECT count(DISTINCT p) FROM unnest(c.products) p)::int
  + CASE WHEN jsonb_typeof(c.attrs -> 'txnCount90d') = 'number'
         THEN least(greatest(0, floor((c.attrs ->> 'txnCount90d')::numeric)), 1000000)::int ELSE 0 END)`;
const DELETED_BY_CUSTOMER = sql`EXISTS (SELECT 1 FROM external_contacts ec
  JOIN follow_relations fr ON fr.corp_id = ec.corp_id AND fr.external_userid = ec.external_userid
  WHERE ec.customer_id = c.id AND fr.deleted_by = 'customer')`;
/** Whole days from `at` (a column: it appears twice) to now, floored, never negative, null without `at` (rfm.ts daysSince). */
const days = (now: Date, at: RawBuilder<unknown>) =>
  sql`(CASE WHEN ${at} IS NOT NULL THEN greatest(0, floor(extract(epoch FROM (${now}::timestamptz - ${at})) / 86400))::int END)`;
/** The customers, each with its last contact computed once. */
const CUSTOMERS = sql`customers c CROSS JOIN LATERAL (SELECT ${LAST_CONTACT} AS at) lc`;
/** A stable pseudo-random number in [0, 1) per customer, for deterministic sampling. */
const HASH_FRACTION = sql`((hashtext(c.id::text) & 2147483647)::float8 / 2147483648)`;

interface FactRow {
  id: string; aum: number; products: string[]; risk_level: RiskLevel | null; risk_assessed_at: string | null;
  marketing_consent: boolean; age: number | null; txn_days: number | null; contact_days: number | null;
  frequency: number; aum90d_ago: number | null; churned: boolean; deleted_by_customer: boolean;
}

export interface FactsPage {
  /** Keyset paging: customers with an id above this one. */
  after: string | null;
  limit: number;
  /** Keep a churned customer when its hash fraction is below `positive`, any other below `negative`. */
  sample?: { positive: number; negative: number };
}

export async function loadFacts(db: Db, now: Date, page: FactsPage): Promise<CustomerFacts[]> {
  const after = page.after === null ? sql`true` : sql`c.id > ${page.after}::uuid`;
  const sample = page.sample
    ? sql`${HASH_FRACTION} < CASE WHEN ${CHURNED} THEN ${page.sample.positive}::float8 ELSE ${page.sample.negative}::float8 END`
    : sql`true`;
  const { rows } = await sql<FactRow>`
    SELECT c.id, c.aum::float8 AS aum, c.products, c.risk_level, c.risk_assessed_at, c.marketing_consent,
      date_part('year', age((${now}::timestamptz AT TIME ZONE 'Asia/Shanghai')::date, c.birth_date))::int AS age,
      ${days(now, sql`c.last_txn_at`)} AS txn_days,
      ${days(now, sql`lc.at`)} AS contact_days,
      ${FREQUENCY} AS frequency,
      CASE WHEN jsonb_typeof(c.attrs -> 'aum90dAgo') = 'number' THEN (c.attrs ->> 'aum90dAgo')::float8 END AS aum90d_ago,
      coalesce(${CHURNED}, false) AS churned,
      ${DELETED_BY_CUSTOMER} AS deleted_by_customer
    FROM ${CUSTOMERS}
    WHERE ${after} AND ${sample}
    ORDER BY c.id
    LIMIT ${page.limit}`.execute(db);
  return rows.map((r) => ({
    id: r.id, aum: r.aum, products: r.products, riskLevel: r.risk_level, riskAssessedAt: r.risk_assessed_at,
    marketingConsent: r.marketing_consent, age: r.age, txnDays: r.txn_days, contactDays: r.contact_days,
    frequency: r.frequency, aum90dAgo: r.aum90d_ago, churned: r.churned, deletedByCustomer: r.deleted_by_customer,
  }));
}

/** Quintile bounds of the whole population in one statement: ntile(5) per metric, the largest key per bucket. */
export async function loadRfmBounds(db: Db, now: Date): Promise<RfmBounds> {
  const { rows } = await sql<{ metric: 'r' | 'f' | 'm'; b: number; bound: number | null }>`
    WITH facts AS (
      SELECT c.id, ${days(now, sql`c.last_txn_at`)} AS txn_days, ${days(now, sql`lc.at`)} AS contact_days,
        ${FREQUENCY} AS f, c.aum::float8 AS m
      FROM ${CUSTOMERS}
    ), k AS (SELECT id, -least(txn_days, contact_days) AS r, f, m FROM facts)
    SELECT 'r' AS metric, b, max(r)::float8 AS bound FROM (SELECT r, ntile(5) OVER (ORDER BY r ASC NULLS FIRST, id) AS b FROM k) x GROUP BY b
    UNION ALL
    SELECT 'f', b, max(f)::float8 FROM (SELECT f, ntile(5) OVER (ORDER BY f, id) AS b FROM k) x GROUP BY b
    UNION ALL
    SELECT 'm', b, max(m) FROM (SELECT m, ntile(5) OVER (ORDER BY m, id) AS b FROM k) x GROUP BY b`.execute(db);
  const bounds = (metric: 'r' | 'f' | 'm'): QuintileBounds => {
    const out = [Infinity, Infinity, Infinity, Infinity];
    for (const row of rows) if (row.metric === metric && row.b <= 4) out[row.b - 1] = row.bound ?? -Infinity;
    return out as unknown as QuintileBounds;
  };
  return { r: bounds('r'), f: bounds('f'), m: bounds('m') };
}

/** Holder counts per product and per pair of products, over every customer. */
export async function loadCooccurrence(db: Db): Promise<Cooccurrence> {
  const { rows } = await sql<{ a: string; b: string; n: number }>`
    SELECT pa.p AS a, pb.p AS b, count(*)::int AS n
    FROM customers c
    CROSS JOIN LATERAL (SELECT DISTINCT unnest(c.products) AS p) pa
    CROSS JOIN LATERAL (SELECT DISTINCT unnest(c.products) AS p) pb
    GROUP BY 1, 2`.execute(db);
  return cooccurrenceFromRows(rows);
}

export async function countLabels(db: Db): Promise<{ positives: number; total: number }> {
  const { rows } = await sql<{ positives: number; total: number }>`
    SELECT (count(*) FILTER (WHERE ${CHURNED}))::int AS positives, count(*)::int AS total FROM customers c`.execute(db);
  return rows[0] ?? { positives: 0, total: 0 };
}

export const rfmMetricsOf = (f: CustomerFacts): RfmMetrics => ({
  id: f.id,
  recencyDays: f.txnDays === null ? f.contactDays : f.contactDays === null ? f.txnDays : Math.min(f.txnDays, f.contactDays),
  frequency: f.frequency,
  monetary: f.aum,
});

export const churnRowOf = (f: CustomerFacts): ChurnRow => ({
  aum: f.aum, aum90dAgo: f.aum90dAgo, daysSinceTxn: f.txnDays, daysSinceContact: f.contactDays,
  productCount: new Set(f.products).size, deletedByCustomer: f.deletedByCustomer, marketingConsent: f.marketingConsent,
  age: f.age, churned: f.churned,
});
