import { z } from 'zod';
import type { Db } from '../platform/db/database.js';
import type { JobRunner } from '../platform/jobs.js';
import { purgeAudit } from './audit.js';

/**
 * Retention of the assistant's audit rows: nightly, rows older than ASSISTANT_AUDIT_RETENTION_DAYS
 * are deleted (appointments they led to stay, their audit reference cleared). The payload may
 * name other days for a one-off run; the schedule carries none, so a changed setting takes effect
 * at the next night without rescheduling.
 */
export const ASSISTANT_RETENTION_JOB = 'assistant.audit_retention';

export function defineAssistantJobs(jobs: JobRunner, deps: { db: Db; retentionDays: number }): void {
  jobs.define({
    name: ASSISTANT_RETENTION_JOB,
    payload: z.object({ keepDays: z.number().int().min(1).max(3650).optional() }),
    maxRetries: 3,
    handler: async ({ keepDays }, { logger }) => {
      const days = keepDays ?? deps.retentionDays;
      const deleted = await purgeAudit(deps.db, days);
      logger.info({ deleted, keepDays: days }, 'assistant audit retention done');
    },
  });
}

export async function scheduleAssistantJobs(jobs: JobRunner): Promise<void> {
  await jobs.every(ASSISTANT_RETENTION_JOB, '40 3 * * *', {}, { cause: { type: 'system', id: 'schedule' } });
}
