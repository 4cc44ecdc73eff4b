import { sql } from 'kysely';
import type { Db } from '../platform/db/database.js';
import type { Logger } from '../platform/logger.js';

/**
 * The SOP run monitor's live feed: `sop.progress` to the console room. The engine and the
 * enrolment paths say which template they changed (`touch`); this process then sends, at most once
 * per SOP_PROGRESS_EVERY_MS per template, the template's counts as the monitor route answers them,
 * read once for everyone watching, with what changed here since its previous event. A run of
 * 100,000 enrolments is then a handful of events a second, not 100,000.
 *
 * Counts rather than deltas travel as the state: a page that loaded the monitor over HTTP cannot
 * know which deltas its read already included, but it can keep the newest of two snapshots (`at`,
 * the database's clock when the counts were read).
 */
export const SOP_PROGRESS_EVENT = 'sop.progress';
export const SOP_PROGRESS_EVERY_MS = 1_000;

export interface MonitorCounts {
  /** When the counts were read (the database's clock): the newer of two snapshots wins. */
  at: string;
  enrollments: Record<string, number>;
  steps: { version: number; step_id: string; kind: string; status: string; n: number }[];
  failures: { step_id: string; error: string; n: number }[];
}

/** The monitor's counts of one template, read in one snapshot. */
export async function monitorCounts(db: Db, templateId: string): Promise<MonitorCounts> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (trx) => {
      // The first statement takes the snapshot: its time orders this read against others.
      const { rows: clock } = await sql<{ at: Date }>`SELECT statement_timestamp() AS at`.execute(trx);
      const enrollments = await trx.selectFrom('sop_enrollments').select(['status', sql<number>`count(*)::int`.as('n')]).where('template_id', '=', templateId).groupBy('status').execute();
      const steps = await sql<MonitorCounts['steps'][number]>`
        SELECT v.version, r.step_id, r.kind, r.status, count(*)::int AS n
          FROM sop_step_runs r JOIN sop_enrollments e ON e.id = r.enrollment_id JOIN sop_template_versions v ON v.id = e.version_id
         WHERE e.template_id = ${templateId}
         GROUP BY v.version, r.step_id, r.kind, r.status ORDER BY v.version, r.step_id, r.status`.execute(trx);
      const failures = await sql<MonitorCounts['failures'][number]>`
        SELECT r.step_id, r.error, count(*)::int AS n FROM sop_step_runs r JOIN sop_enrollments e ON e.id = r.enrollment_id
         WHERE e.template_id = ${templateId} AND r.status IN ('failed', 'skipped') AND r.error IS NOT NULL
         GROUP BY r.step_id, r.error ORDER BY n DESC, r.step_id LIMIT 20`.execute(trx);
      return {
        at: clock[0]!.at.toISOString(),
        enrollments: Object.fromEntries(enrollments.map((e) => [e.status, e.n])),
        steps: steps.rows,
        failures: failures.rows,
      };
    });
}

/** What this process changed in a template since its previous event (information; the counts are the state). */
export interface ProgressChange {
  /** Enrolments made. */
  enrolled?: number;
  /** Step runs finished or moved on, by step id and outcome (done, skipped, waiting, failed, retry). */
  steps?: Record<string, Record<string, number>>;
  /** Enrolments that changed status, by the new status (completed, exited, failed, cancelled, paused, active). */
  enrollments?: Record<string, number>;
}

/** What the engine, the triggers and the routes tell: a template changed. Cheap and synchronous. */
export interface SopProgressSink {
  touch(templateId: string, change?: ProgressChange): void;
}

function merge(into: ProgressChange, change: ProgressChange): void {
  if (change.enrolled) into.enrolled = (into.enrolled ?? 0) + change.enrolled;
  for (const [step, outcomes] of Object.entries(change.steps ?? {})) {
    const target = ((into.steps ??= {})[step] ??= {});
    for (const [outcome, n] of Object.entries(outcomes)) target[outcome] = (target[outcome] ?? 0) + n;
  }
  for (const [status, n] of Object.entries(change.enrollments ?? {})) (into.enrollments ??= {})[status] = (into.enrollments[status] ?? 0) + n;
}

export interface SopProgressDeps {
  db: Db;
  logger: Logger;
  toConsole(event: string, data: unknown): void;
  /** Least time between two events of one template from this process. */
  everyMs?: number;
  /** A first change waits this long, so that an enrolment and its first steps share an event. */
  gatherMs?: number;
}

export class SopProgress implements SopProgressSink {
  private readonly pending = new Map<string, ProgressChange>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly lastAt = new Map<string, number>();
  private readonly sending = new Map<string, Promise<void>>();
  private closed = false;
  private readonly everyMs: number;
  private readonly gatherMs: number;

  constructor(private readonly deps: SopProgressDeps) {
    this.everyMs = deps.everyMs ?? SOP_PROGRESS_EVERY_MS;
    this.gatherMs = deps.gatherMs ?? 100;
  }

  touch(templateId: string, change: ProgressChange = {}): void {
    if (this.closed) return;
    const into = this.pending.get(templateId) ?? {};
    merge(into, change);
    this.pending.set(templateId, into);
    if (this.timers.has(templateId)) return;
    const wait = Math.max(this.gatherMs, (this.lastAt.get(templateId) ?? -Infinity) + this.everyMs - Date.now());
    this.timers.set(templateId, setTimeout(() => void this.send(templateId), wait));
  }

  /** Resolves when every event due so far has been sent (the ones waiting for their second are sent now). */
  async flush(): Promise<void> {
    for (const [templateId, timer] of [...this.timers]) {
      clearTimeout(timer);
      void this.send(templateId);
    }
    await Promise.all([...this.sending.values()]);
  }

  /** Stops: changes not yet sent are dropped (pages reload on reconnecting), sends in flight finish. */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.pending.clear();
    await Promise.all([...this.sending.values()]);
  }

  private send(templateId: string): Promise<void> {
    this.timers.delete(templateId);
    const previous = this.sending.get(templateId);
    // One send at a time per template, in order; a change during a send waits for the next one.
    const run = (async () => {
      await previous;
      const changes = this.pending.get(templateId);
      if (this.closed || !changes) return;
      this.pending.delete(templateId);
      this.lastAt.set(templateId, Date.now());
      try {
        const counts = await monitorCounts(this.deps.db, templateId);
        this.deps.toConsole(SOP_PROGRESS_EVENT, { templateId, ...counts, changes });
      } catch (error) {
        this.deps.logger.warn({ err: error, templateId }, 'SOP progress not sent; the monitor catches up at the next change or reload');
      }
    })();
    this.sending.set(templateId, run);
    void run.finally(() => {
      if (this.sending.get(templateId) === run) this.sending.delete(templateId);
    });
    return run;
  }
}
