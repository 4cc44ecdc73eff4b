import { z } from 'zod';
import type { Db } from '../platform/db/database.js';
import type { JobRunner } from '../platform/jobs.js';
import type { Logger } from '../platform/logger.js';
import { planSegment, storedDefinition } from './compile.js';
import { isDue } from './cron.js';
import { countPlan } from './query.js';

/**
 * Scheduled refresh: one repeating job every 15 minutes re-counts the segments whose refresh_cron selected a
 * minute since their last refresh (so a schedule finer than 15 minutes runs at most every 15 minutes), storing
 * the bank-wide member_count and refreshed_at. A payload with a segmentId refreshes that segment at once.
 */
export const REFRESH_JOB = 'segments.refresh';
export const REFRESH_EVERY = '*/15 * * * *';

export interface SegmentJobDeps {
  db: Db;
  /** The clock; tests pass a fixed one. */
  now?: () => Date;
}

export interface RefreshSummary {
  checked: number;
  refreshed: { id: string; name: string; count: number }[];
  failed: { id: string; name: string; error: string }[];
}

export async function refreshSegments(db: Db, options: { now: Date; segmentId?: string; logger?: Logger }): Promise<RefreshSummary> {
  let query = db.selectFrom('segments').select(['id', 'name', 'definition', 'refresh_cron', 'refreshed_at']).where('deleted_at', 'is', null);
  query = options.segmentId ? query.where('id', '=', options.segmentId) : query.where('refresh_cron', 'is not', null);
  const rows = await query.orderBy('refreshed_at', (ob) => ob.asc().nullsFirst()).execute();
  const summary: RefreshSummary = { checked: rows.length, refreshed: [], failed: [] };
  for (const row of rows) {
    try {
      if (!options.segmentId && !isDue(row.refresh_cron!, row.refreshed_at, options.now)) continue;
      const plan = await planSegment(db, storedDefinition(row), { segmentId: row.id });
      const count = await countPlan(db, plan, { now: options.now });
      // A segment deleted while it was being counted stays as it was.
      await db.updateTable('segments').set({ member_count: count, refreshed_at: options.now })
        .where('id', '=', row.id).where('deleted_at', 'is', null).execute();
      summary.refreshed.push({ id: row.id, name: row.name, count });
    } catch (error) {
      // One broken segment (an invalid stored cron or definition) must not stop the others.
      const message = error instanceof Error ? error.message : String(error);
      options.logger?.warn({ segmentId: row.id, err: error }, 'segment refresh failed');
      summary.failed.push({ id: row.id, name: row.name, error: message });
    }
  }
  return summary;
}

export function defineSegmentJobs(jobs: JobRunner, deps: SegmentJobDeps): void {
  jobs.define({
    name: REFRESH_JOB,
    payload: z.object({ segmentId: z.uuid().optional() }),
    concurrency: 1,
    maxRetries: 2,
    handler: async ({ segmentId }, { logger }) => {
      const summary = await refreshSegments(deps.db, { now: deps.now?.() ?? new Date(), segmentId, logger });
      logger.info({ checked: summary.checked, refreshed: summary.refreshed.length, failed: summary.failed.length }, 'segments refreshed');
    },
  });
}

export async function scheduleSegmentJobs(jobs: JobRunner): Promise<void> {
  await jobs.every(REFRESH_JOB, REFRESH_EVERY, {}, { cause: { type: 'system', id: 'schedule' } });
}
