import { sql } from 'kysely';
import type { Db } from '../../platform/db/database.js';
import type { Cause, EventPayloads } from '../../platform/events.js';
import { aumTier, type AumThresholds } from '../../tags/facts.js';
import type { WatchedChange } from './batch.js';

type Changed = EventPayloads['customer.updated']['changed'];

/**
 * What an import changed in a customer's watched attributes (sop/definition.ts WATCHED_ATTRIBUTES),
 * each with its value before and after: only the attributes that differ, and `aum_tier` (大众/潜力/财富/私行
 * by the thresholds given) only when the change of AUM moves the customer to another tier.
 */
export function attributeChanges(w: WatchedChange, thresholds: AumThresholds): Changed {
  const [, fromAum, toAum, fromRisk, toRisk, fromConsent, toConsent, fromBranch, toBranch] = w;
  const changed: Changed = {};
  if (Number(fromAum) !== Number(toAum)) {
    changed.aum = { from: Number(fromAum), to: Number(toAum) };
    const from = aumTier(Number(fromAum), thresholds);
    const to = aumTier(Number(toAum), thresholds);
    if (from !== to) changed.aum_tier = { from, to };
  }
  if (fromRisk !== toRisk) changed.risk_level = { from: fromRisk, to: toRisk };
  if (fromConsent !== toConsent) changed.marketing_consent = { from: fromConsent, to: toConsent };
  if (fromBranch !== toBranch) changed.branch_id = { from: fromBranch, to: toBranch };
  return changed;
}

/** The cause of everything an import does: the system, naming the import. */
export const importCause = (importId: string): Cause => ({ type: 'system', id: `import:${importId}` });

/**
 * Records, in the batch's transaction, the changes a committed batch made that a journey may watch (one
 * `import_changes` row per customer); the follow-up job publishes them as `customer.updated` (followup.ts).
 * Returns how many were recorded.
 */
export async function recordChanges(conn: Db, importId: string, watched: readonly WatchedChange[], thresholds: AumThresholds): Promise<number> {
  const rows = watched.map((w) => ({ customerId: w[0], changed: attributeChanges(w, thresholds) })).filter((r) => Object.keys(r.changed).length);
  if (!rows.length) return 0;
  await sql`INSERT INTO import_changes (import_id, customer_id, changed)
    SELECT ${importId}::uuid, c.id, c.changed FROM unnest(${rows.map((r) => r.customerId)}::uuid[], ${rows.map((r) => JSON.stringify(r.changed))}::jsonb[]) AS c(id, changed)`.execute(conn);
  return rows.length;
}
