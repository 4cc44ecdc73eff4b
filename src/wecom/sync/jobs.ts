import { sql } from 'kysely';
import { z } from 'zod';
import type { JobRunner } from '../../platform/jobs.js';
import { EVENTS, type EventBus } from '../../platform/events.js';
import type { CorpRegistry } from '../corps.js';
import type { LiveSink } from '../live.js';
import { createReconcileRun, runReconcile, type ReconcileDeps, type ReconcileProgress } from './reconcile.js';

export const RECONCILE_JOB = 'wecom.reconcile';
export const RECONCILE_ALL_JOB = 'wecom.reconcile-all';
const RETRIES = 5;
/** Live progress inside a step is sent at most this often per run; every step change is sent. */
export const SYNC_PROGRESS_EVERY_MS = 1_000;

/** What the console hears of a run (src/realtime/README.md). */
export const SYNC_EVENTS = { progress: 'wecom.sync.progress', done: 'wecom.sync.done', failed: 'wecom.sync.failed' } as const;

/** Progress of one run, throttled: step changes always, the pages of a step at most every SYNC_PROGRESS_EVERY_MS. */
function throttledProgress(live: Pick<LiveSink, 'toConsole'> | undefined): ((p: ReconcileProgress) => void) | undefined {
  if (!live) return undefined;
  let lastAt = 0;
  let lastStep: string | undefined;
  return (p) => {
    const now = Date.now();
    if (p.step === lastStep && now - lastAt < SYNC_PROGRESS_EVERY_MS) return;
    lastStep = p.step;
    lastAt = now;
    live.toConsole(SYNC_EVENTS.progress, p);
  };
}

/** Starts a reconcile for a corp; the job resumes from its checkpoint after a crash or a failure. */
export async function startReconcile(deps: ReconcileDeps & { jobs: JobRunner }, corpId: string, cause: string): Promise<string> {
  const runId = await createReconcileRun(deps.db, corpId, cause);
  await enqueueRun(deps, runId, cause);
  return runId;
}

/** A run still `running` that started longer ago than this is taken as abandoned and does not block a new one. */
export const RUN_STALE_MS = 6 * 3_600_000;

/**
 * Starts a reconcile unless one of the corp is already running (started within RUN_STALE_MS), under
 * a lock per corp so two requests at once start one run. Returns the running run otherwise.
 */
export async function startReconcileUnlessRunning(
  deps: ReconcileDeps & { jobs: JobRunner },
  corpId: string,
  cause: string,
): Promise<{ runId: string; started: boolean }> {
  const claimed = await deps.db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext(${`wecom-sync:${corpId}`}))`.execute(trx);
    const running = await trx
      .selectFrom('wecom_sync_runs')
      .select('id')
      .where('corp_id', '=', corpId)
      .where('status', '=', 'running')
      .where('started_at', '>', new Date(Date.now() - RUN_STALE_MS))
      .orderBy('started_at', 'desc')
      .executeTakeFirst();
    if (running) return { runId: running.id, started: false };
    return { runId: await createReconcileRun(trx, corpId, cause), started: true };
  });
  if (claimed.started) await enqueueRun(deps, claimed.runId, cause);
  return claimed;
}

async function enqueueRun(deps: ReconcileDeps & { jobs: JobRunner }, runId: string, cause: string): Promise<void> {
  try {
    await deps.jobs.enqueue(RECONCILE_JOB, { runId }, { key: `wecom-reconcile:${runId}`, cause: { type: 'system', id: cause } });
  } catch (error) {
    // A run without its job would never end and would block the next one: it failed to start.
    await deps.db.updateTable('wecom_sync_runs').set({ status: 'failed', finished_at: new Date(), error: `not started: ${(error as Error).message}` }).where('id', '=', runId).execute();
    throw error;
  }
}

export function defineSyncJobs(jobs: JobRunner, deps: ReconcileDeps & { registry: CorpRegistry; events: EventBus; live?: Pick<LiveSink, 'toConsole'> }): void {
  jobs.define({
    name: RECONCILE_JOB,
    payload: z.object({ runId: z.uuid() }),
    maxRetries: RETRIES,
    retryDelayMs: 5_000,
    lockLifetimeMs: 30 * 60_000,
    handler: async ({ runId }, context) => {
      try {
        const report = await runReconcile(deps, runId, { onProgress: throttledProgress(deps.live) });
        const run = await deps.db.selectFrom('wecom_sync_runs').select(['corp_id', 'started_at', 'finished_at', 'cause']).where('id', '=', runId).executeTakeFirstOrThrow();
        deps.live?.toConsole(SYNC_EVENTS.done, { runId, corpId: run.corp_id, cause: run.cause, startedAt: run.started_at, finishedAt: run.finished_at, report });
        deps.events.publish(EVENTS.wecomSynced, { corpId: run.corp_id, runId }, { type: 'system', id: `wecom-sync:${runId}` });
      } catch (error) {
        const last = context.attempt > RETRIES;
        const message = (error as Error).message;
        const run = await deps.db
          .updateTable('wecom_sync_runs')
          .set({ error: message, ...(last ? { status: 'failed', finished_at: new Date() } : {}) })
          .where('id', '=', runId)
          .returning('corp_id')
          .executeTakeFirst();
        // Every failed attempt is told: the run carries on from its checkpoint unless this was the last one.
        deps.live?.toConsole(SYNC_EVENTS.failed, { runId, corpId: run?.corp_id ?? null, error: message, attempt: context.attempt, attempts: RETRIES + 1, willRetry: !last });
        throw error;
      }
    },
  });
  jobs.define({
    name: RECONCILE_ALL_JOB,
    payload: z.object({}),
    handler: async (_payload, context) => {
      for (const corpId of await deps.registry.list()) {
        const { runId, started } = await startReconcileUnlessRunning({ ...deps, jobs }, corpId, 'schedule');
        if (started) context.logger.info({ corpId, runId }, 'scheduled reconcile started');
      }
    },
  });
}

export async function scheduleSyncJobs(jobs: JobRunner, cron: string): Promise<void> {
  await jobs.every(RECONCILE_ALL_JOB, cron, {}, { cause: { type: 'system', id: 'schedule' } });
}
