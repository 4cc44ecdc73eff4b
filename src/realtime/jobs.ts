import { z } from 'zod';
import type { Db } from '../platform/db/database.js';
import type { JobRunner } from '../platform/jobs.js';
import { deleteEventsBefore } from './log.js';

/**
 * Retention of `realtime_events`: an hourly job deletes events older than the retention, so a
 * client can resume after an absence of up to REALTIME_RETENTION_HOURS (a longer one is told to
 * reload). A job rather than a delete on each write: writes hold the cluster-wide ordering lock,
 * and a time-based window is what a returning client needs, whatever the traffic was.
 */
export const REALTIME_CLEANUP_JOB = 'realtime.cleanup';

export function defineRealtimeJobs(jobs: JobRunner, deps: { db: Db; retentionHours: number }): void {
  jobs.define({
    name: REALTIME_CLEANUP_JOB,
    payload: z.object({}),
    handler: async (_payload, { logger }) => {
      const before = new Date(Date.now() - deps.retentionHours * 3600_000);
      const deleted = await deleteEventsBefore(deps.db, before);
      logger.info({ deleted, before }, 'live updates: expired events deleted');
    },
  });
}

export async function scheduleRealtimeJobs(jobs: JobRunner): Promise<void> {
  await jobs.every(REALTIME_CLEANUP_JOB, '17 * * * *', {}, { cause: { type: 'system', id: 'schedule' } });
}
