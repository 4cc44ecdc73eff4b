import { z } from 'zod';
import type { Db } from '../platform/db/database.js';
import type { JobRunner } from '../platform/jobs.js';

/** Housekeeping: expired sessions and old login attempts are deleted nightly. */
export const CLEANUP_JOB = 'system.cleanup';

export function defineSystemJobs(jobs: JobRunner, db: Db): void {
  jobs.define({
    name: CLEANUP_JOB,
    payload: z.object({ keepDays: z.number().int().min(1).default(30) }),
    handler: async ({ keepDays }, { logger }) => {
      const cutoff = new Date(Date.now() - keepDays * 86_400_000);
      const sessions = await db.deleteFrom('sessions').where('expires_at', '<', cutoff).executeTakeFirst();
      const attempts = await db.deleteFrom('login_attempts').where('at', '<', cutoff).executeTakeFirst();
      logger.info({ sessions: Number(sessions.numDeletedRows), attempts: Number(attempts.numDeletedRows) }, 'cleanup done');
    },
  });
}

export async function scheduleSystemJobs(jobs: JobRunner): Promise<void> {
  await jobs.every(CLEANUP_JOB, '30 3 * * *', { keepDays: 30 }, { cause: { type: 'system', id: 'schedule' } });
}
