import { sql } from 'kysely';
import { z } from 'zod';
import type { JobRunner } from '../platform/jobs.js';
import { settleCancelledSend } from './actions.js';
import { completeIfDone, fanOutMassSend, markFailed, type FanOutOptions } from './fanout.js';
import { publishProgress } from './progress.js';
import { scheduleFanOut } from './store.js';
import { FANOUT_JOB, WATCH_JOB, type MassSendDeps } from './types.js';

/**
 * Two jobs. `masssend.fanout` (one per send, keyed by its id, at its time) writes the rows.
 * `masssend.watch` (repeating) keeps every active send's progress live: it emits
 * `masssend.progress` when a send's rows changed since the last look (the dispatcher's result
 * sync, which learns that a member confirmed, moves them), completes sends that are done, settles
 * rows of cancelled sends that a dispatcher was sending at the moment of cancelling, and schedules
 * any due send whose fan-out job is missing. With no active send it is one small query.
 */
const FANOUT_RETRIES = 5;
/** How far back the watch looks for cancelled sends with stragglers (a dispatch in flight takes seconds). */
const CANCEL_SETTLE_MS = 86_400_000;

export interface WatchSummary {
  active: number;
  completed: string[];
  settled: string[];
  rescheduled: number;
}

export async function watchMassSends(deps: MassSendDeps): Promise<WatchSummary> {
  const { db } = deps;
  const now = deps.now?.() ?? new Date();
  const summary: WatchSummary = { active: 0, completed: [], settled: [], rescheduled: 0 };

  const due = await db.selectFrom('mass_sends').select(['id', 'scheduled_at', 'created_by']).where('status', '=', 'scheduled').where(sql<boolean>`scheduled_at < ${new Date(now.getTime() - 60_000)}`).execute();
  for (const row of due) if (await scheduleFanOut(deps, row)) summary.rescheduled++;

  const active = await db.selectFrom('mass_sends').select(['id', 'status']).where('status', 'in', ['queued', 'sending']).orderBy('created_at').execute();
  summary.active = active.length;
  for (const send of active) {
    if (send.status === 'sending' && (await completeIfDone(deps, send.id))) summary.completed.push(send.id);
    else if (send.status === 'queued') await publishProgress(deps, send.id);
  }

  const cancelled = await db
    .selectFrom('mass_sends as m')
    .select(['m.id', 'm.corp_id'])
    .where('m.status', '=', 'cancelled')
    .where('m.cancelled_at', '>', new Date(now.getTime() - CANCEL_SETTLE_MS))
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('outbox as o')
          .select(sql`1`.as('one'))
          .where('o.ref_type', '=', 'mass_send')
          .whereRef('o.ref_id', '=', sql`m.id::text`)
          .where((eb) => eb.or([eb('o.status', '=', 'pending'), eb.and([eb('o.status', '=', 'sent'), eb('o.delivery', '=', 'awaiting')])])),
      ),
    )
    .execute();
  for (const send of cancelled) {
    const settled = await settleCancelledSend(deps, send.id, send.corp_id);
    if (settled.failed.length) deps.logger.warn({ massSendId: send.id, failed: settled.failed }, 'cancelled mass send: WeCom refused to cancel a task');
    summary.settled.push(send.id);
    await publishProgress(deps, send.id);
  }
  return summary;
}

export interface MassSendJobOptions {
  /** How often the watch looks at active sends. Default 10 s. */
  watchEveryMs?: number;
  fanOut?: FanOutOptions;
}

export function defineMassSendJobs(jobs: JobRunner, deps: MassSendDeps, options: MassSendJobOptions = {}): void {
  jobs.define({
    name: FANOUT_JOB,
    payload: z.object({ massSendId: z.uuid() }),
    concurrency: 2,
    maxRetries: FANOUT_RETRIES,
    // A 100,000-customer send takes minutes; a crashed run is picked up again after the lock expires.
    lockLifetimeMs: 30 * 60_000,
    handler: async ({ massSendId }, context) => {
      try {
        const result = await fanOutMassSend(deps, massSendId, { ...options.fanOut, logger: context.logger });
        context.logger.info({ massSendId, ...result }, 'mass send fan-out finished');
      } catch (error) {
        if (context.attempt > FANOUT_RETRIES) {
          await markFailed(deps.db, massSendId, `生成发送任务失败：${(error as Error).message}`);
          await publishProgress(deps, massSendId, { force: true });
        }
        throw error;
      }
    },
  });
  jobs.define({
    name: WATCH_JOB,
    payload: z.object({}),
    concurrency: 1,
    maxRetries: 0,
    handler: async () => {
      await watchMassSends(deps);
    },
  });
}

export async function scheduleMassSendJobs(jobs: JobRunner, options: MassSendJobOptions = {}): Promise<void> {
  await jobs.every(WATCH_JOB, options.watchEveryMs ?? 10_000, {}, { cause: { type: 'system', id: 'schedule' } });
}
