import { z } from 'zod';
import type { JobRunner } from '../../platform/jobs.js';
import { EVENTS, type EventBus } from '../../platform/events.js';
import type { CorpRegistry } from '../corps.js';
import { createReconcileRun, runReconcile, type ReconcileDeps } from './reconcile.js';

export const RECONCILE_JOB = 'wecom.reconcile';
export const RECONCILE_ALL_JOB = 'wecom.reconcile-all';
const RETRIES = 5;

/** Starts a reconcile for a corp; the job resumes from its checkpoint after a crash or a failure. */
export async function startReconcile(deps: ReconcileDeps & { jobs: JobRunner }, corpId: string, cause: string): Promise<string> {
  const runId = await createReconcileRun(deps.db, corpId, cause);
  await deps.jobs.enqueue(RECONCILE_JOB, { runId }, { key: `wecom-reconcile:${runId}`, cause: { type: 'system', id: cause } });
  return runId;
}

export function defineSyncJobs(jobs: JobRunner, deps: ReconcileDeps & { registry: CorpRegistry; events: EventBus }): void {
  jobs.define({
    name: RECONCILE_JOB,
    payload: z.object({ runId: z.uuid() }),
    maxRetries: RETRIES,
    retryDelayMs: 5_000,
    lockLifetimeMs: 30 * 60_000,
    handler: async ({ runId }, context) => {
      try {
        await runReconcile(deps, runId);
        const run = await deps.db.selectFrom('wecom_sync_runs').select('corp_id').where('id', '=', runId).executeTakeFirstOrThrow();
        deps.events.publish(EVENTS.wecomSynced, { corpId: run.corp_id, runId }, { type: 'system', id: `wecom-sync:${runId}` });
      } catch (error) {
        const last = context.attempt > RETRIES;
        await deps.db
          .updateTable('wecom_sync_runs')
          .set({ error: (error as Error).message, ...(last ? { status: 'failed', finished_at: new Date() } : {}) })
          .where('id', '=', runId)
          .execute();
        throw error;
      }
    },
  });
  jobs.define({
    name: RECONCILE_ALL_JOB,
    payload: z.object({}),
    handler: async (_payload, context) => {
      for (const corpId of await deps.registry.list()) {
        const running = await deps.db
          .selectFrom('wecom_sync_runs')
          .select('id')
          .where('corp_id', '=', corpId)
          .where('status', '=', 'running')
          .where('started_at', '>', new Date(Date.now() - 6 * 3_600_000))
          .executeTakeFirst();
        if (running) continue;
        await startReconcile({ ...deps, jobs }, corpId, 'schedule');
        context.logger.info({ corpId }, 'scheduled reconcile started');
      }
    },
  });
}

export async function scheduleSyncJobs(jobs: JobRunner, cron: string): Promise<void> {
  await jobs.every(RECONCILE_ALL_JOB, cron, {}, { cause: { type: 'system', id: 'schedule' } });
}
