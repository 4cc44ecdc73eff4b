import { listTimeline } from '../customers/index.js';
import type { Db } from '../platform/db/database.js';
import { getSetting } from '../settings/index.js';
import { AUM_GROUP, customerTags } from '../tags/index.js';

/**
 * What the summary and the next best action read about a customer beyond CustomerContext: the
 * AUM tier label (never the balance), recent timeline entries and the nightly scores.
 */
export interface ScoreFacts {
  computedAt: Date;
  churnBand: 'low' | 'medium' | 'high' | null;
  churnReasons: string[];
  recommendations: { productId: string; productName: string; score: number; reason: string }[];
}

export interface TimelineFact {
  at: Date;
  summary: string;
}

/** The customer's AUM分层 tag; computed from the tier setting when the nightly tags have not run yet. */
export async function tierLabel(db: Db, customerId: string): Promise<string> {
  const tag = (await customerTags(db, customerId)).find((t) => t.group === AUM_GROUP);
  if (tag) return tag.name;
  const row = await db.selectFrom('customers').select('aum').where('id', '=', customerId).executeTakeFirstOrThrow();
  const t = await getSetting(db, 'customers.aumTiers');
  const aum = Number(row.aum);
  return aum >= t.private ? '私行' : aum >= t.wealth ? '财富' : aum >= t.potential ? '潜力' : '大众';
}

export async function recentTimeline(db: Db, customerId: string, limit = 8): Promise<TimelineFact[]> {
  const rows = await listTimeline(db, customerId, { limit });
  return rows.map((r) => ({ at: r.at, summary: r.summary }));
}

interface StoredRecommendation { productId?: unknown; productName?: unknown; score?: unknown; reason?: unknown }
interface StoredReason { text?: unknown }

export async function scoreFacts(db: Db, customerId: string): Promise<ScoreFacts | null> {
  const row = await db.selectFrom('customer_scores').selectAll().where('customer_id', '=', customerId).executeTakeFirst();
  if (!row) return null;
  const reasons = (row.churn_reasons as StoredReason[]).flatMap((r) => (typeof r.text === 'string' ? [r.text] : []));
  const recommendations = (row.propensity as StoredRecommendation[]).flatMap((r) =>
    typeof r.productId === 'string'
      ? [{ productId: r.productId, productName: String(r.productName ?? r.productId), score: Number(r.score ?? 0), reason: String(r.reason ?? '') }]
      : [],
  );
  return { computedAt: row.computed_at, churnBand: row.churn_band, churnReasons: reasons, recommendations };
}
