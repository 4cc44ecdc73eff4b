import { z } from 'zod';
import type { Db } from '../platform/db/database.js';
import type { EventBus } from '../platform/events.js';
import type { JobRunner } from '../platform/jobs.js';
import { EVENT_TRIGGERS } from './definition.js';
import { advanceDueSteps, exitDeletedContact, type EngineDeps } from './engine.js';
import { handleSopEvent, runClock, SOP_JOBS, subscribeSopTriggers, type SopEvent } from './triggers.js';

/**
 * The SOP engine's jobs. Everything timed runs through agenda:
 * - `sop.advance` (key: the second it is due) runs every step run due by then; many step runs due
 *   in the same second share one job.
 * - `sop.sweep` (every minute) advances whatever is due, a backstop for a lost wake-up.
 * - `sop.clock` (every minute) fires date and schedule triggers.
 * - `sop.event` (key: the event) enrols the customer of a domain event.
 */
const eventPayload = z.object({
  kind: z.enum(EVENT_TRIGGERS),
  corpId: z.string().optional(),
  customerId: z.string().nullable().optional(),
  externalUserid: z.string().optional(),
  memberUserid: z.string().optional(),
  channel: z.string().optional(),
  tags: z.array(z.string()).optional(),
  changed: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })).optional(),
  text: z.string().optional(),
  intents: z.array(z.string()).optional(),
  key: z.string(),
});

export interface SopJobDeps extends EngineDeps {
  jobs: JobRunner;
  events: EventBus;
}

/** Asks for an advance at `at` (rounded up to the second); one job per second however many ask. */
export function wakeAtFor(jobs: JobRunner) {
  return async (at: Date) => {
    const second = Math.ceil(at.getTime() / 1000) * 1000;
    await jobs.enqueue(SOP_JOBS.advance, {}, { key: `at:${second}`, runAt: new Date(second), cause: { type: 'system', id: 'sop-engine' } });
  };
}

export function defineSopJobs(deps: SopJobDeps): void {
  const { jobs, db, logger, events } = deps;
  const engine: EngineDeps = { ...deps, wakeAt: wakeAtFor(jobs) };
  const wake = () => wakeAtFor(jobs)(new Date());
  const progress = deps.progress;
  jobs.define({
    name: SOP_JOBS.advance,
    payload: z.object({}),
    concurrency: 1,
    handler: async () => {
      await advanceDueSteps(engine);
    },
  });
  jobs.define({
    name: SOP_JOBS.sweep,
    payload: z.object({}),
    concurrency: 1,
    handler: async () => {
      await advanceDueSteps(engine);
    },
  });
  jobs.define({
    name: SOP_JOBS.clock,
    payload: z.object({}),
    concurrency: 1,
    handler: async () => {
      await runClock({ db, events, logger, wake, progress });
    },
  });
  jobs.define({
    name: SOP_JOBS.event,
    payload: eventPayload,
    concurrency: 4,
    handler: async (payload, context) => {
      await handleSopEvent({ db, events, logger, wake, progress }, payload as SopEvent, context.cause);
    },
  });
  subscribeSopTriggers(events, jobs, {
    db,
    logger,
    onDeleted: async (p) => {
      await exitDeletedContact(db, p.corpId, p.userid, p.externalUserid, new Date(), progress);
    },
    onMessage: async (p) => {
      await wakeBranchesOnReply(db, p.corpId, p.from);
      await wake();
    },
  });
}

/** A customer wrote: branches waiting for their reply are due now rather than at their deadline. */
export async function wakeBranchesOnReply(db: Db, corpId: string | undefined, externalUserid: string, now = new Date()): Promise<number> {
  const result = await db
    .updateTable('sop_step_runs')
    .set({ run_at: now })
    .where('status', '=', 'waiting')
    .where('kind', '=', 'branch')
    .where('enrollment_id', 'in', (eb) => {
      let q = eb.selectFrom('sop_enrollments').select('id').where('external_userid', '=', externalUserid).where('status', '=', 'active');
      if (corpId) q = q.where('corp_id', '=', corpId);
      return q;
    })
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export async function scheduleSopJobs(jobs: JobRunner): Promise<void> {
  const cause = { type: 'system', id: 'sop' } as const;
  await jobs.every(SOP_JOBS.sweep, '1 minute', {}, { cause });
  await jobs.every(SOP_JOBS.clock, '1 minute', {}, { cause });
}
