import { sql } from 'kysely';
import { z } from 'zod';
import type { Db } from '../platform/db/database.js';
import type { JobRunner } from '../platform/jobs.js';
import { retireIdleShareWays, type WayDeps } from './ways.js';

/**
 * Daily: CARDS_EVENT_RETENTION_DAYS of visitor events are kept (below), and the retirement of idle share QR codes: a share's own code not viewed for
 * CARDS_SHARE_WAY_IDLE_DAYS is deleted in WeCom, which frees room under the corp's limit and
 * CARDS_SHARE_WAYS_MAX; a later view of the link makes a new code with the same state.
 */
export const CARD_JOBS = { retireShareWays: 'cards.retire-share-ways', eventRetention: 'cards.event-retention' } as const;

/** Visitor events (view, share, scan, product_view): anonymous browsing, kept for the statistics' window only. */
const VISITOR_KINDS = ['view', 'share', 'scan', 'product_view'];
const PURGE_BATCH = 10_000;

/**
 * Deletes visitor events older than `keepDays` before `now`, in batches (short transactions, the BRIN index on
 * `at` finds them). `added` events stay: each is the record that a customer came through a card and who referred
 * them (GET /cards/referrals), a business record rather than browsing. Returns how many rows went.
 */
export async function purgeCardEvents(db: Db, keepDays: number, now = new Date()): Promise<number> {
  const before = new Date(now.getTime() - keepDays * 86_400_000);
  let deleted = 0;
  for (;;) {
    const result = await sql`DELETE FROM card_events WHERE id IN (
      SELECT id FROM card_events WHERE at < ${before} AND kind = ANY(${VISITOR_KINDS}::text[]) LIMIT ${PURGE_BATCH})`.execute(db);
    const n = Number(result.numAffectedRows ?? 0);
    deleted += n;
    if (n < PURGE_BATCH) return deleted;
  }
}

export function defineCardJobs(jobs: JobRunner, deps: WayDeps & { idleDays: number; eventRetentionDays: number }): void {
  jobs.define({
    name: CARD_JOBS.eventRetention,
    payload: z.object({}),
    maxRetries: 3,
    handler: async (_payload, { logger }) => {
      const deleted = await purgeCardEvents(deps.db, deps.eventRetentionDays);
      logger.info({ deleted, keepDays: deps.eventRetentionDays }, 'cards: visitor events past retention deleted');
    },
  });
  jobs.define({
    name: CARD_JOBS.retireShareWays,
    payload: z.object({}),
    handler: async (_payload, { logger }) => {
      const retired = await retireIdleShareWays(deps, deps.idleDays);
      logger.info({ retired, idleDays: deps.idleDays }, 'cards: idle share QR codes retired');
    },
  });
}

export async function scheduleCardJobs(jobs: JobRunner): Promise<void> {
  await jobs.every(CARD_JOBS.retireShareWays, '40 3 * * *', {}, { cause: { type: 'system', id: 'schedule' }, timezone: 'Asia/Shanghai' });
  await jobs.every(CARD_JOBS.eventRetention, '50 3 * * *', {}, { cause: { type: 'system', id: 'schedule' }, timezone: 'Asia/Shanghai' });
}
