import { sql } from 'kysely';
import type { Db } from '../../platform/db/database.js';
import type { InboxStatus } from '../../platform/db/schema.js';
import type { JobRunner } from '../../platform/jobs.js';
import type { Logger } from '../../platform/logger.js';
import { redactString } from '../../platform/logger.js';
import type { XmlObject } from '../crypto.js';
import { dedupeKeyOf, eventNameOf } from './dedupe.js';

/**
 * The callback inbox (`wecom_events`): one row per distinct event, written before WeCom gets its
 * 200. A replay only bumps `seen_count` and `last_seen_at`.
 *
 * Recording is one INSERT ... ON CONFLICT DO UPDATE ... RETURNING (xmax = 0) statement, never a
 * read-then-write. Under load, calls that arrive while a statement is in flight share the next one
 * (group commit): one round trip, one plan and one WAL flush for the lot, so a burst costs a
 * fraction of a statement per event. A lone call goes out at once, so nothing waits for a batch to
 * fill. One statement is in flight at a time; a second one starts beside it only for a full batch
 * (`maxBatch` records waiting), up to `writeConcurrency`. Every statement has a fixed cost that a
 * larger batch shares: in PostgreSQL (parse, plan, commit and its WAL flush, about 0.3 ms of CPU)
 * and in Node (a round trip, and on a busy machine the backend's wake-up often takes the core from
 * Node). When up to four statements could start as soon as records arrived, a burst of 64
 * concurrent callbacks went out about 6 records a statement; one at a time, about 20
 * (docs/benchmarks.md, "Callbacks"). A record waits for at most the one statement ahead of it.
 * Should a shared statement fail, its records are retried one by one, so a single bad event can
 * only fail its own request.
 *
 * Each new row gets one `wecom.process-event` job, keyed by the row id. The job is enqueued after
 * the row is committed and off the request path, by a bounded queue that yields to the recording:
 * one bulk insert at a time, started when no recording statement is in flight or waiting, when
 * `enqueueBatch` ids have gathered, or when the oldest id has waited `enqueueMaxDelayMs`. A burst
 * of callbacks is thus answered as soon as its rows are committed, without job inserts competing
 * for the connections and PostgreSQL's CPU, and its jobs follow hundreds to a statement instead of
 * a few (a job insert, with its wake-up of the workers, costs about as much as a recording
 * statement).
 * Whatever is lost on the way (the job store down, the queue full, the process killed) leaves the
 * row `received` with no job; the sweeper (`wecom.inbox-sweep`, every minute) enqueues those once
 * they are 30 s old. A second enqueue of the same key is a no-op, so the sweeper never doubles a job.
 */
export const PROCESS_EVENT_JOB = 'wecom.process-event';
export const INBOX_SWEEP_JOB = 'wecom.inbox-sweep';
export const jobKeyOf = (inboxId: string) => `wecom-event:${inboxId}`;
const CAUSE = { type: 'system', id: 'wecom-callback' } as const;

export interface InboxRow {
  id: string;
  corpId: string;
  event: string;
  changeType: string | null;
  dedupeKey: string;
  payload: XmlObject;
  status: InboxStatus;
  error: string | null;
  seenCount: number;
  receivedAt: Date;
  lastSeenAt: Date;
  processedAt: Date | null;
  /** Failed processing attempts of a row not yet processed (its job's fail count; 0 once it succeeds). */
  failedAttempts: number;
}

/**
 * A row as it changes, for the console's live inbox (`wecom.inbox` events): what the inbox page
 * shows, never the payload (it carries short-lived credentials and the customer's words).
 */
export interface InboxChange {
  id: string;
  corpId: string;
  event: string;
  changeType: string | null;
  dedupeKey: string;
  status: InboxStatus;
  error: string | null;
  seenCount: number;
  failedAttempts: number;
  receivedAt: string;
  processedAt: string | null;
}

export interface InboxQuery {
  corpId?: string;
  status?: InboxStatus;
  /** The event name (`change_external_contact`, `kf_msg_or_event`, `text` …). */
  event?: string;
  /** Default 50. */
  limit?: number;
  /** Rows with a smaller id (the list is newest first). */
  beforeId?: string;
}

export interface InboxOptions {
  db: Db;
  jobs: JobRunner;
  logger: Logger;
  /** Recording statements in flight at once, the second and later only for full batches; default 4. Keep it below the pool size. */
  writeConcurrency?: number;
  /** Most records in one statement; default 200. */
  maxBatch?: number;
  /** Job inserts in flight at once, the second and later only for full batches; default 4. */
  enqueueConcurrency?: number;
  /** Most jobs written by one insert; default 500. */
  enqueueBatch?: number;
  /** Longest an id waits for its job insert while recording goes on; default 100 ms. */
  enqueueMaxDelayMs?: number;
  /** Ids waiting for their job; beyond this the sweeper takes over. Default 50,000. */
  maxQueued?: number;
  /**
   * Told of every row recorded (new or replayed) and every status change, after the statement
   * committed; the app sends these to the console room. Must not throw (a throw is logged).
   */
  onChange?: (change: InboxChange) => void;
}

/** Error text as stored and shown: bounded, with personal identifiers masked. */
export const storedError = (error: unknown) => redactString(error instanceof Error ? error.message : String(error)).slice(0, 1000);

interface PendingRecord {
  corpId: string;
  dedupeKey: string;
  event: string;
  changeType: string | null;
  payload: string;
  resolve: (result: { id: string; duplicate: boolean }) => void;
  reject: (error: unknown) => void;
}

type Selected = {
  id: string;
  corp_id: string;
  event: string;
  change_type: string | null;
  dedupe_key: string;
  payload: unknown;
  status: InboxStatus;
  error: string | null;
  seen_count: number;
  received_at: Date;
  last_seen_at: Date;
  processed_at: Date | null;
  failed_attempts?: number | null;
};

/** The columns a status change returns: everything the console shows, not the payload. */
type Changed = Omit<Selected, 'payload' | 'last_seen_at'>;

const changeOf = (r: Changed, failedAttempts: number): InboxChange => ({
  id: String(r.id),
  corpId: r.corp_id,
  event: r.event,
  changeType: r.change_type,
  dedupeKey: r.dedupe_key,
  status: r.status,
  error: r.error,
  seenCount: r.seen_count,
  failedAttempts,
  receivedAt: new Date(r.received_at).toISOString(),
  processedAt: r.processed_at ? new Date(r.processed_at).toISOString() : null,
});

const CHANGED_COLUMNS = ['id', 'corp_id', 'event', 'change_type', 'dedupe_key', 'status', 'error', 'seen_count', 'received_at', 'processed_at'] as const;

const toRow = (r: Selected): InboxRow => ({
  id: r.id,
  corpId: r.corp_id,
  event: r.event,
  changeType: r.change_type,
  dedupeKey: r.dedupe_key,
  payload: r.payload as XmlObject,
  status: r.status,
  error: r.error,
  seenCount: r.seen_count,
  receivedAt: r.received_at,
  lastSeenAt: r.last_seen_at,
  processedAt: r.processed_at,
  failedAttempts: r.failed_attempts ?? 0,
});

export class Inbox {
  private readonly db: Db;
  private readonly jobs: JobRunner;
  private readonly logger: Logger;
  private readonly enqueueConcurrency: number;
  private readonly enqueueBatch: number;
  private readonly enqueueMaxDelayMs: number;
  private readonly maxQueued: number;
  private readonly writeConcurrency: number;
  private readonly maxBatch: number;
  /** Ids of new rows waiting for their job (from `head` on), when the oldest of them was queued, and enqueues in flight. */
  private toEnqueue: string[] = [];
  private head = 0;
  private oldestQueuedAt = 0;
  private enqueueTimer: NodeJS.Timeout | undefined;
  private enqueuing = 0;
  /** Records waiting for a statement, and statements in flight. */
  private readonly pendingRecords: PendingRecord[] = [];
  private writing = 0;
  /** Recording statements run, records they carried, and shared statements that failed and were split. */
  readonly stats = { statements: 0, records: 0, splits: 0 };
  /** Bulk job inserts started and the ids they carried. */
  readonly enqueueStats = { calls: 0, ids: 0 };
  private idle: { promise: Promise<void>; resolve: () => void } | undefined;
  private overflowLoggedAt = 0;
  private readonly onChange: ((change: InboxChange) => void) | undefined;

  constructor(options: InboxOptions) {
    this.onChange = options.onChange;
    this.db = options.db;
    this.jobs = options.jobs;
    this.logger = options.logger;
    this.enqueueConcurrency = options.enqueueConcurrency ?? 4;
    this.enqueueBatch = options.enqueueBatch ?? 500;
    this.enqueueMaxDelayMs = options.enqueueMaxDelayMs ?? 100;
    this.maxQueued = options.maxQueued ?? 50_000;
    this.writeConcurrency = options.writeConcurrency ?? 4;
    this.maxBatch = options.maxBatch ?? 200;
  }

  /**
   * Records a decrypted callback and tells whether it was a replay; resolves once the row is
   * committed. A new row's job is enqueued in the background (see the class comment). Throws
   * CallbackRejected('malformed') when the payload has no identity (neither MsgId nor an event
   * name and time).
   */
  async record(corpId: string, payload: XmlObject): Promise<{ id: string; duplicate: boolean }> {
    const dedupeKey = dedupeKeyOf(payload);
    const changeType = typeof payload.ChangeType === 'string' && payload.ChangeType ? payload.ChangeType.slice(0, 100) : null;
    const event = (eventNameOf(payload) ?? 'unknown').slice(0, 100);
    return new Promise((resolve, reject) => {
      this.pendingRecords.push({ corpId, dedupeKey, event, changeType, payload: JSON.stringify(payload), resolve, reject });
      this.writeNext();
    });
  }

  /** Starts statements for waiting records: at once when none is in flight, beside one only for a full batch. */
  private writeNext(): void {
    while (this.writing < this.writeConcurrency && this.pendingRecords.length > 0) {
      if (this.writing > 0 && this.pendingRecords.length < this.maxBatch) return; // they share the next statement
      const batch = this.pendingRecords.splice(0, this.maxBatch);
      this.writing++;
      void this.writeBatch(batch).finally(() => {
        this.writing--;
        this.writeNext();
        this.pump(); // job inserts held back while recording may go now
        this.wakeDrain();
      });
    }
  }

  private async writeBatch(batch: PendingRecord[]): Promise<void> {
    try {
      this.settle(batch, await this.insert(batch));
    } catch (error) {
      if (batch.length === 1) return batch[0]!.reject(error);
      this.stats.splits++;
      // One statement for the lot failed: retry each alone, so only a record at fault fails.
      await Promise.all(batch.map((record) => this.insert([record]).then((rows) => this.settle([record], rows), record.reject)));
    }
  }

  /**
   * The one statement. Records of the same event within a batch become one row whose seen_count
   * is their number (ON CONFLICT may touch a row only once per statement); xmax is 0 on a freshly
   * inserted row version and the locking transaction's id on an updated one.
   */
  private async insert(batch: PendingRecord[]): Promise<Map<string, { id: string; inserted: boolean; row: Changed }>> {
    const groups = new Map<string, { record: PendingRecord; count: number }>();
    for (const record of batch) {
      const id = `${record.corpId}\u0000${record.dedupeKey}`;
      const group = groups.get(id);
      if (group) group.count++;
      else groups.set(id, { record, count: 1 });
    }
    const rows = [...groups.values()];
    this.stats.statements++;
    this.stats.records += batch.length;
    const column = <T>(pick: (g: { record: PendingRecord; count: number }) => T) => rows.map(pick);
    const { rows: returned } = await sql<Changed & { inserted: boolean }>`
      INSERT INTO wecom_events (corp_id, dedupe_key, event, change_type, payload, seen_count)
      SELECT * FROM unnest(
        ${column((g) => g.record.corpId)}::text[], ${column((g) => g.record.dedupeKey)}::text[], ${column((g) => g.record.event)}::text[],
        ${column((g) => g.record.changeType)}::text[], ${column((g) => g.record.payload)}::jsonb[], ${column((g) => g.count)}::int[])
      ON CONFLICT (corp_id, dedupe_key) DO UPDATE SET seen_count = wecom_events.seen_count + EXCLUDED.seen_count, last_seen_at = now()
      RETURNING id, corp_id, event, change_type, dedupe_key, status, error, seen_count, received_at, processed_at, (xmax = 0) AS inserted`.execute(this.db);
    return new Map(returned.map((r) => [`${r.corp_id}\u0000${r.dedupe_key}`, { id: String(r.id), inserted: r.inserted, row: r }]));
  }

  private settle(batch: PendingRecord[], rows: Map<string, { id: string; inserted: boolean; row: Changed }>): void {
    const answered = new Set<string>();
    if (this.onChange) for (const { row } of rows.values()) this.tell(row, 0);
    for (const record of batch) {
      const key = `${record.corpId}\u0000${record.dedupeKey}`;
      const row = rows.get(key);
      if (!row) {
        record.reject(new Error('inbox statement returned no row for a record'));
        continue;
      }
      // The first of a new event's records is the original; any other in the batch is a replay.
      const original = row.inserted && !answered.has(key);
      answered.add(key);
      if (original) this.schedule(row.id);
      record.resolve({ id: row.id, duplicate: !original });
    }
  }

  /** Enqueues the processing job for a row now, awaiting it (the sweeper's path). True if a job was created. */
  async enqueue(inboxId: string): Promise<boolean> {
    return this.jobs.enqueue(PROCESS_EVENT_JOB, { inboxId }, { key: jobKeyOf(inboxId), cause: CAUSE });
  }

  /** Resolves once every record and every background enqueue started so far has finished (tests, shutdown). */
  drain(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    if (!this.idle) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.idle = { promise, resolve };
    }
    return this.idle.promise;
  }

  private isIdle(): boolean {
    return this.writing === 0 && this.pendingRecords.length === 0 && this.enqueuing === 0 && this.head === this.toEnqueue.length;
  }

  private wakeDrain(): void {
    if (this.idle && this.isIdle()) {
      this.idle.resolve();
      this.idle = undefined;
    }
  }

  private schedule(inboxId: string): void {
    if (this.toEnqueue.length - this.head >= this.maxQueued) {
      // The row is durable; the sweeper enqueues it within a minute or two. Say so, but not per row.
      if (Date.now() - this.overflowLoggedAt > 10_000) {
        this.overflowLoggedAt = Date.now();
        this.logger.warn({ queued: this.toEnqueue.length - this.head }, 'wecom inbox enqueue queue full; the sweeper will enqueue the rest');
      }
      return;
    }
    if (this.head === this.toEnqueue.length) this.oldestQueuedAt = Date.now();
    this.toEnqueue.push(inboxId);
    this.pump();
  }

  /**
   * Enqueues waiting rows' jobs in bulk: each call takes up to `enqueueBatch` ids and writes
   * their jobs in one statement (`enqueueMany`). A call starts when none is in flight and nothing
   * is being recorded, or the oldest id has waited `enqueueMaxDelayMs`; more calls, up to
   * `enqueueConcurrency`, only for full batches (a backlog). A failed call leaves its rows
   * `received`; the sweeper enqueues them later.
   */
  private pump(): void {
    while (this.enqueuing < this.enqueueConcurrency && this.head < this.toEnqueue.length) {
      if (this.toEnqueue.length - this.head < this.enqueueBatch) {
        if (this.enqueuing > 0) return; // the call in flight takes them when it finishes
        const recording = this.writing > 0 || this.pendingRecords.length > 0;
        const waitedMs = Date.now() - this.oldestQueuedAt;
        if (recording && waitedMs < this.enqueueMaxDelayMs) {
          // Let the recording go first and more ids gather; the timer bounds the wait.
          this.enqueueTimer ??= setTimeout(() => {
            this.enqueueTimer = undefined;
            this.pump();
          }, this.enqueueMaxDelayMs - waitedMs).unref();
          return;
        }
      }
      if (this.enqueueTimer) {
        clearTimeout(this.enqueueTimer);
        this.enqueueTimer = undefined;
      }
      const ids = this.toEnqueue.slice(this.head, this.head + this.enqueueBatch);
      this.head += ids.length;
      if (this.head === this.toEnqueue.length || this.head > 4096) {
        // Drop what was taken, in one go rather than by shift() per id.
        this.toEnqueue = this.toEnqueue.slice(this.head);
        this.head = 0;
      }
      this.enqueuing++;
      this.enqueueStats.calls++;
      this.enqueueStats.ids += ids.length;
      this.jobs
        .enqueueMany(PROCESS_EVENT_JOB, ids.map((inboxId) => ({ payload: { inboxId }, key: jobKeyOf(inboxId), cause: CAUSE })))
        .catch((error: unknown) => {
          this.logger.warn({ err: error, rows: ids.length, firstInboxId: ids[0] }, 'wecom events recorded but their jobs could not be enqueued; the sweeper will retry');
        })
        .finally(() => {
          this.enqueuing--;
          this.pump();
          this.wakeDrain();
        });
    }
  }

  /**
   * Enqueues jobs for rows still `received`, older than `olderThanMs`, that have no job: those
   * whose enqueue failed or was lost. Rows whose job is merely waiting (a backlog, a retry in
   * backoff) are left alone. Returns the ids enqueued.
   */
  async sweep(options: { olderThanMs?: number; limit?: number } = {}): Promise<string[]> {
    const olderThan = new Date(Date.now() - (options.olderThanMs ?? 30_000));
    const { rows } = await sql<{ id: string }>`
      SELECT e.id FROM wecom_events e
      WHERE e.status = 'received' AND e.received_at < ${olderThan}
        AND NOT EXISTS (
          SELECT 1 FROM agenda_jobs j
          WHERE j.name = ${PROCESS_EVENT_JOB} AND j.data ? 'jobKey' AND j.data->>'jobKey' = 'wecom-event:' || e.id::text
        )
      ORDER BY e.received_at
      LIMIT ${options.limit ?? 1000}`.execute(this.db);
    const enqueued: string[] = [];
    for (const { id } of rows) if (await this.enqueue(id)) enqueued.push(id);
    return enqueued;
  }

  async get(id: string): Promise<InboxRow | undefined> {
    const row = await this.db.selectFrom('wecom_events').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toRow(row as Selected) : undefined;
  }

  /** Newest first, each with its failed processing attempts (from its job, found by its key). */
  async list(query: InboxQuery = {}): Promise<InboxRow[]> {
    let q = this.db
      .selectFrom('wecom_events as e')
      .selectAll('e')
      .select(
        sql<number | null>`(SELECT j.fail_count FROM agenda_jobs j WHERE j.name = ${PROCESS_EVENT_JOB} AND j.data ? 'jobKey' AND j.data->>'jobKey' = 'wecom-event:' || e.id::text)`.as('failed_attempts'),
      )
      .orderBy('e.id', 'desc')
      .limit(query.limit ?? 50);
    if (query.corpId) q = q.where('e.corp_id', '=', query.corpId);
    if (query.status) q = q.where('e.status', '=', query.status);
    if (query.event) q = q.where('e.event', '=', query.event);
    if (query.beforeId) q = q.where(sql<boolean>`e.id < ${query.beforeId}::bigint`);
    return (await q.execute()).map((r) => toRow(r as Selected));
  }

  // Status transitions: received → processed | ignored | failed. A processed or ignored row is final.
  // `attempt` is the processing attempt that failed (1 for the first): the console's count of failures,
  // which, like the error and the job's own count, is cleared when the row is processed.

  async markProcessed(id: string): Promise<void> {
    const changed = await this.db
      .updateTable('wecom_events')
      .set({ status: 'processed', processed_at: new Date(), error: null })
      .where('id', '=', id)
      .where('status', 'in', ['received', 'failed'])
      .returning(CHANGED_COLUMNS)
      .executeTakeFirst();
    if (changed) this.tell(changed, 0);
  }

  async markIgnored(id: string, reason: string): Promise<void> {
    const changed = await this.db
      .updateTable('wecom_events')
      .set({ status: 'ignored', processed_at: new Date(), error: reason.slice(0, 1000) })
      .where('id', '=', id)
      .where('status', 'in', ['received', 'failed'])
      .returning(CHANGED_COLUMNS)
      .executeTakeFirst();
    if (changed) this.tell(changed, 0);
  }

  /** A failed attempt that will be retried: the row stays `received`, with the last error for the console. */
  async noteAttemptFailed(id: string, error: unknown, attempt = 1): Promise<void> {
    const changed = await this.db
      .updateTable('wecom_events')
      .set({ error: storedError(error) })
      .where('id', '=', id)
      .where('status', 'in', ['received', 'failed'])
      .returning(CHANGED_COLUMNS)
      .executeTakeFirst();
    if (changed) this.tell(changed, attempt);
  }

  /** The last attempt failed. */
  async markFailed(id: string, error: unknown, attempt = 1): Promise<void> {
    const changed = await this.db
      .updateTable('wecom_events')
      .set({ status: 'failed', processed_at: null, error: storedError(error) })
      .where('id', '=', id)
      .where('status', 'in', ['received', 'failed'])
      .returning(CHANGED_COLUMNS)
      .executeTakeFirst();
    if (changed) this.tell(changed, attempt);
  }

  private tell(row: Changed, failedAttempts: number): void {
    if (!this.onChange) return;
    try {
      this.onChange(changeOf(row, failedAttempts));
    } catch (error) {
      this.logger.warn({ err: error, inboxId: row.id }, 'wecom inbox: live update failed');
    }
  }
}
