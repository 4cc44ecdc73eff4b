import { EVENTS, type Cause, type EventBus, type EventPayloads } from '../../platform/events.js';
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
 * Publishes `customer.updated` for each changed customer of a committed batch. The bus never waits for
 * its handlers (the SOP subscriber only enqueues a job per event), so neither does the import.
 */
export function publishChanges(events: EventBus, watched: readonly WatchedChange[], thresholds: AumThresholds, cause: Cause): number {
  let published = 0;
  for (const w of watched) {
    const changed = attributeChanges(w, thresholds);
    if (!Object.keys(changed).length) continue;
    events.publish(EVENTS.customerUpdated, { customerId: w[0], changed }, cause);
    published++;
  }
  return published;
}
