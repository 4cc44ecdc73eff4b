import { sql } from 'kysely';
import { compileFilter } from '../filters/index.js';
import type { Db } from '../platform/db/database.js';
import { notFound } from '../platform/errors.js';
import { getSetting } from '../settings/index.js';
import { nextStepId, type SopTemplate } from './definition.js';
import { bulkSendable, runSendStepsInBulk, runStep, type StepContext, type StepDeps, type StepOutcome } from './steps.js';
import { loadSubjects, type Subject } from './subjects.js';
import { versionById } from './store.js';
import type { QuietHours, WorkingCalendar } from './schedule.js';
import type { SopProgressSink } from './progress.js';

/**
 * The engine: step runs that are due are claimed (FOR UPDATE SKIP LOCKED, so any number of workers
 * share them), checked against the journey's exit conditions, run, and finished in one transaction
 * with the step run that follows. A step run left `running` by a dead worker is picked up again
 * after `staleRunningMs`; its effects are keyed, so running it twice does nothing twice.
 */
export interface EngineDeps extends StepDeps {
  timezone?: string;
  /** Asks for an advance at a future moment (a wait's end, a branch's deadline). */
  wakeAt?: (at: Date) => Promise<void>;
  /** Told of every step run finished and enrolment ended, for the console's live monitor (progress.ts). */
  progress?: SopProgressSink;
}

export interface AdvanceOptions {
  now?: Date;
  /** Step runs claimed per round. */
  batch?: number;
  /** Step runs of a round run this many at a time. */
  concurrency?: number;
  /** Rounds before returning (a long journey of instant steps still ends the call). */
  maxRounds?: number;
  staleRunningMs?: number;
}

interface ClaimedRun {
  id: string;
  enrollment_id: string;
  step_id: string;
  /** When the step became due (before a wait moved it on). */
  run_at: Date;
  result: Record<string, unknown> | null;
}

/** A step's start: when it first became due, kept across waiting so deadlines never drift. */
const readyAt = (run: ClaimedRun) => (typeof run.result?.readyAt === 'string' ? new Date(run.result.readyAt) : new Date(run.run_at));

export interface AdvanceResult {
  processed: number;
  /** Counts by what happened: done, skipped, waiting, failed, exited, completed. */
  outcomes: Record<string, number>;
}

async function claim(db: Db, now: Date, batch: number, staleRunningMs: number): Promise<ClaimedRun[]> {
  const { rows } = await sql<ClaimedRun>`
    UPDATE sop_step_runs s SET status = 'running', started_at = ${now}, attempts = s.attempts + 1
     WHERE s.id IN (
       SELECT r.id FROM sop_step_runs r
         JOIN sop_enrollments e ON e.id = r.enrollment_id AND e.status = 'active'
         JOIN sop_templates t ON t.id = e.template_id AND t.status = 'active'
        WHERE (r.status IN ('pending', 'waiting') AND r.run_at <= ${now})
           OR (r.status = 'running' AND r.started_at < ${new Date(now.getTime() - staleRunningMs)})
        ORDER BY r.run_at
        LIMIT ${batch}
        FOR UPDATE OF r SKIP LOCKED)
    RETURNING s.id, s.enrollment_id, s.step_id, s.run_at, s.result`.execute(db);
  return rows;
}

async function runtimeSettings(db: Db): Promise<{ quietHours: QuietHours; calendar: WorkingCalendar }> {
  const [quietHours, calendar] = await Promise.all([getSetting(db, 'outbound.quietHours'), getSetting(db, 'sop.workingCalendar')]);
  return { quietHours, calendar };
}

type ExitReason = { status: 'exited' | 'completed'; reason: string };

/** Exit conditions, checked before every step. */
async function exitsFor(db: Db, template: SopTemplate, subjects: Subject[], now: Date, timezone: string): Promise<Map<string, ExitReason>> {
  const exits = new Map<string, ExitReason>();
  for (const s of subjects) {
    if (template.exit.deleted && s.externalUserid && s.memberUserid && !s.relationAlive) exits.set(s.enrollmentId, { status: 'exited', reason: '客户与客户经理已不是好友' });
    else if (template.exit.unsubscribed && s.customerId && s.marketingConsent === false) exits.set(s.enrollmentId, { status: 'exited', reason: '客户已退订营销信息' });
  }
  if (template.exit.converted) {
    const ids = subjects.filter((s) => s.customerId && !exits.has(s.enrollmentId)).map((s) => s.customerId!);
    if (ids.length) {
      const converted = await db.selectFrom('customers as c').select('c.id').where('c.id', 'in', ids).where(compileFilter(template.exit.converted, { now, timezone })).execute();
      const set = new Set(converted.map((r) => r.id));
      for (const s of subjects) if (s.customerId && set.has(s.customerId) && !exits.has(s.enrollmentId)) exits.set(s.enrollmentId, { status: 'completed', reason: '已达成旅程目标（转化）' });
    }
  }
  return exits;
}

/**
 * A contact enrolled before it was linked to a bank customer carries on as that customer: the link is
 * made by another handler of the same add event (which may finish after the enrolment) or later by the
 * member, and from then on the journey has the customer's record (tags, branch, conditions).
 */
async function adoptLinkedCustomers(db: Db, enrollmentIds: readonly string[]): Promise<void> {
  await sql`
    UPDATE sop_enrollments e SET customer_id = ec.customer_id
      FROM external_contacts ec
     WHERE e.id = ANY(${[...enrollmentIds]}::uuid[]) AND e.customer_id IS NULL
       AND ec.corp_id = e.corp_id AND ec.external_userid = e.external_userid AND ec.customer_id IS NOT NULL`.execute(db);
}

async function endEnrollment(db: Db, enrollmentId: string, status: 'completed' | 'exited' | 'failed' | 'cancelled', reason: string | null, now: Date): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('sop_enrollments').set({ status, exit_reason: reason, ended_at: now, updated_at: now }).where('id', '=', enrollmentId).where('status', 'in', ['active', 'paused']).execute();
    await trx.updateTable('sop_step_runs').set({ status: 'cancelled', finished_at: now, error: reason }).where('enrollment_id', '=', enrollmentId).where('status', 'in', ['pending', 'waiting', 'running']).execute();
  });
}

/**
 * Writes a step's outcome and the step run that follows, in one transaction. Returns when to wake
 * for what follows, and how the enrolment ended if it did.
 */
async function finish(db: Db, run: ClaimedRun, template: SopTemplate, subject: Subject, outcome: StepOutcome, now: Date): Promise<{ wake?: Date; ended?: 'completed' | 'failed' }> {
  return db.transaction().execute(async (trx) => {
    if (outcome.status === 'waiting') {
      const result = { ...outcome.result, readyAt: readyAt(run).toISOString() };
      await trx.updateTable('sop_step_runs').set({ status: 'waiting', run_at: outcome.until, result: JSON.stringify(result) }).where('id', '=', run.id).execute();
      return { wake: outcome.until };
    }
    const status = outcome.status === 'end' ? 'done' : outcome.status;
    await trx
      .updateTable('sop_step_runs')
      .set({
        status,
        finished_at: now,
        error: outcome.status === 'failed' ? outcome.error : outcome.status === 'skipped' ? outcome.reason : null,
        result: outcome.status === 'done' && outcome.result ? JSON.stringify(outcome.result) : outcome.status === 'end' ? JSON.stringify({ outcome: outcome.outcome }) : null,
        delivery: outcome.status === 'done' ? (outcome.delivery ?? null) : null,
        outbox_id: outcome.status === 'done' ? (outcome.outboxId ?? null) : null,
      })
      .where('id', '=', run.id)
      .execute();
    const ending = (s: 'completed' | 'failed', reason: string | null) =>
      trx.updateTable('sop_enrollments').set({ status: s, exit_reason: reason, ended_at: now, updated_at: now }).where('id', '=', subject.enrollmentId).where('status', '=', 'active').execute();
    if (outcome.status === 'failed') {
      await ending('failed', `${run.step_id}：${outcome.error}`);
      return { ended: 'failed' };
    }
    if (outcome.status === 'end') {
      await ending('completed', outcome.outcome === 'converted' ? '已达成旅程目标（转化）' : null);
      return { ended: 'completed' };
    }
    const nextId = (outcome.status === 'done' ? outcome.next : undefined) ?? nextStepId(template, run.step_id);
    const next = nextId ? template.steps.find((s) => s.id === nextId) : undefined;
    if (!next) {
      await ending('completed', null);
      return { ended: 'completed' };
    }
    await trx
      .insertInto('sop_step_runs')
      .values({ enrollment_id: subject.enrollmentId, step_id: next.id, kind: next.type, status: 'pending', parent_id: run.id, cause_type: 'sop', cause_id: subject.templateId, run_at: now, started_at: null, finished_at: null, delivery: null, outbox_id: null, result: null, error: null })
      .onConflict((oc) => oc.columns(['enrollment_id', 'step_id']).doNothing())
      .execute();
    await trx.updateTable('sop_enrollments').set({ updated_at: now }).where('id', '=', subject.enrollmentId).execute();
    return { wake: now };
  });
}

async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(workers);
}

/**
 * Runs every step run due at `now`, and the instant steps that follow them, until nothing is due
 * (or `maxRounds`). Returns what happened; future wake-ups go to `deps.wakeAt`.
 */
export async function advanceDueSteps(deps: EngineDeps, options: AdvanceOptions = {}): Promise<AdvanceResult> {
  const { db } = deps;
  const now = options.now ?? new Date();
  const timezone = deps.timezone ?? 'Asia/Shanghai';
  const batch = options.batch ?? 200;
  const outcomes: Record<string, number> = {};
  const count = (k: string) => (outcomes[k] = (outcomes[k] ?? 0) + 1);
  const { quietHours, calendar } = await runtimeSettings(db);
  const wakeups = new Set<number>();
  let processed = 0;
  for (let round = 0; round < (options.maxRounds ?? 1000); round++) {
    const runs = await claim(db, now, batch, options.staleRunningMs ?? 10 * 60_000);
    if (!runs.length) break;
    processed += runs.length;
    const enrollmentIds = [...new Set(runs.map((r) => r.enrollment_id))];
    await adoptLinkedCustomers(db, enrollmentIds);
    const subjects = await loadSubjects(db, enrollmentIds);
    const byVersion = new Map<string, Subject[]>();
    for (const s of subjects.values()) byVersion.set(s.versionId, [...(byVersion.get(s.versionId) ?? []), s]);
    const exits = new Map<string, ExitReason>();
    const templates = new Map<string, SopTemplate>();
    for (const [versionId, list] of byVersion) {
      const template = (await versionById(db, versionId)).definition;
      templates.set(versionId, template);
      for (const [id, reason] of await exitsFor(db, template, list, now, timezone)) exits.set(id, reason);
    }
    // Member-confirmed sends of the round go to the outbox together; anything the batch could not do
    // (a database error) is left to the one-by-one path below, whose outbox keys make it safe.
    const contextOf = (run: ClaimedRun, subject: Subject, template: SopTemplate): StepContext => ({
      stepRunId: run.id, createdAt: readyAt(run), result: run.result, template, versionId: subject.versionId, subject, now, timezone, quietHours, calendar,
    });
    const bulk = runs.flatMap((run) => {
      const subject = subjects.get(run.enrollment_id)!;
      const template = templates.get(subject.versionId)!;
      const step = template.steps.find((s) => s.id === run.step_id);
      return !exits.has(subject.enrollmentId) && step && bulkSendable(step) ? [{ run, step, ctx: contextOf(run, subject, template) }] : [];
    });
    const ready = new Map<string, StepOutcome>();
    if (bulk.length > 1) {
      try {
        (await runSendStepsInBulk(deps, bulk)).forEach((outcome, i) => ready.set(bulk[i]!.run.id, outcome));
      } catch (error) {
        deps.logger.warn({ err: error, steps: bulk.length }, 'SOP sends in bulk failed; running them one by one');
      }
    }
    await inParallel(runs, options.concurrency ?? 8, async (run) => {
      const subject = subjects.get(run.enrollment_id)!;
      const exit = exits.get(subject.enrollmentId);
      if (exit) {
        await endEnrollment(db, subject.enrollmentId, exit.status, exit.reason, now);
        count(exit.status === 'completed' ? 'converted' : 'exited');
        deps.progress?.touch(subject.templateId, { enrollments: { [exit.status]: 1 } });
        return;
      }
      const template = templates.get(subject.versionId)!;
      const step = template.steps.find((s) => s.id === run.step_id);
      let outcome: StepOutcome;
      if (!step) outcome = { status: 'failed', error: `模板版本中没有步骤 ${run.step_id}` };
      else {
        try {
          outcome = ready.get(run.id) ?? (await runStep(deps, step, contextOf(run, subject, template)));
        } catch (error) {
          // Unexpected (the database, WeCom for tags): the step is tried again on the next advance.
          deps.logger.warn({ err: error, stepRunId: run.id, step: run.step_id }, 'SOP step failed unexpectedly; will retry');
          await db.updateTable('sop_step_runs').set({ status: 'pending', run_at: new Date(now.getTime() + 60_000), error: (error as Error).message }).where('id', '=', run.id).execute();
          wakeups.add(now.getTime() + 60_000);
          count('retry');
          deps.progress?.touch(subject.templateId, { steps: { [run.step_id]: { retry: 1 } } });
          return;
        }
      }
      count(outcome.status);
      const { wake, ended } = await finish(db, run, template, subject, outcome, now);
      if (wake && wake.getTime() > now.getTime()) wakeups.add(wake.getTime());
      deps.progress?.touch(subject.templateId, { steps: { [run.step_id]: { [outcome.status === 'end' ? 'done' : outcome.status]: 1 } }, ...(ended ? { enrollments: { [ended]: 1 } } : {}) });
    });
  }
  for (const at of wakeups) await deps.wakeAt?.(new Date(at));
  return { processed, outcomes };
}

/** Pauses, resumes or cancels one enrollment; cancelling ends its open step runs. */
export async function setEnrollmentStatus(db: Db, enrollmentId: string, action: 'pause' | 'resume' | 'cancel', now = new Date(), progress?: SopProgressSink): Promise<string> {
  const row = await db.selectFrom('sop_enrollments').select(['status', 'template_id']).where('id', '=', enrollmentId).executeTakeFirst();
  if (!row) throw notFound('SOP enrollment');
  if (action === 'pause' && row.status === 'active') await db.updateTable('sop_enrollments').set({ status: 'paused', updated_at: now }).where('id', '=', enrollmentId).execute();
  else if (action === 'resume' && row.status === 'paused') await db.updateTable('sop_enrollments').set({ status: 'active', updated_at: now }).where('id', '=', enrollmentId).execute();
  else if (action === 'cancel' && (row.status === 'active' || row.status === 'paused')) await endEnrollment(db, enrollmentId, 'cancelled', '已手动取消', now);
  const status = (await db.selectFrom('sop_enrollments').select('status').where('id', '=', enrollmentId).executeTakeFirstOrThrow()).status;
  if (status !== row.status) progress?.touch(row.template_id, { enrollments: { [status]: 1 } });
  return status;
}

/** Ends the journeys of a contact the member no longer follows, at once rather than at the next step. */
export async function exitDeletedContact(db: Db, corpId: string, userid: string, externalUserid: string, now = new Date(), progress?: SopProgressSink): Promise<number> {
  const rows = await db
    .selectFrom('sop_enrollments as e')
    .innerJoin('sop_template_versions as v', 'v.id', 'e.version_id')
    .select(['e.id', 'e.template_id', 'v.definition'])
    .where('e.corp_id', '=', corpId)
    .where('e.member_userid', '=', userid)
    .where('e.external_userid', '=', externalUserid)
    .where('e.status', 'in', ['active', 'paused'])
    .execute();
  let n = 0;
  for (const r of rows) {
    if (!(r.definition as SopTemplate).exit.deleted) continue;
    await endEnrollment(db, r.id, 'exited', '客户与客户经理已不是好友', now);
    progress?.touch(r.template_id, { enrollments: { exited: 1 } });
    n++;
  }
  return n;
}
