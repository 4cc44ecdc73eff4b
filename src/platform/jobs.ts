import { Agenda, exponential, toJobId, type Job } from 'agenda';
import { PostgresBackend } from '@agendajs/postgres-backend';
import type pg from 'pg';
import type { z } from 'zod';
import { AppError } from './errors.js';
import type { Logger } from './logger.js';
import type { Cause } from './events.js';

/**
 * A thin layer over agenda: payloads checked by zod on the way in and out, deterministic keys
 * (one job per name and key, enforced by a unique index), failures logged with context and retried
 * with exponential backoff. What a job does is the handler's business; how it is run is this file's.
 */
export interface JobContext {
  jobId: string;
  name: string;
  /** 1 on the first run, 2 on the first retry, ... */
  attempt: number;
  /** The deterministic key the job was enqueued with, if any. */
  key?: string;
  cause: Cause;
  logger: Logger;
}

export interface JobSpec<S extends z.ZodType> {
  name: string;
  payload: S;
  handler: (payload: z.output<S>, context: JobContext) => Promise<void>;
  concurrency?: number;
  /** Retries after the first failure; default 5. */
  maxRetries?: number;
  /** First retry delay; doubles each attempt, with jitter. Default 2 s. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  lockLifetimeMs?: number;
}

interface StoredData {
  payload: unknown;
  cause: Cause;
  jobKey?: string;
}

export interface EnqueueOptions {
  /** Deterministic key: a second enqueue with the same name and key is a no-op. */
  key?: string;
  runAt?: Date;
  cause: Cause;
}

export interface BulkJob {
  payload: unknown;
  /** Deterministic key, required here: a job whose name and key already exist is skipped. */
  key: string;
  runAt?: Date;
  cause: Cause;
}

export interface JobRunner {
  define<S extends z.ZodType>(spec: JobSpec<S>): void;
  /** Returns false when a job with the same key already exists. */
  enqueue(name: string, payload: unknown, options: EnqueueOptions): Promise<boolean>;
  /**
   * Many jobs of one name in one statement and one wake-up of the workers. Every payload is
   * checked before anything is written; keys already present (or repeated in `items`) are
   * skipped. Returns how many jobs were created.
   */
  enqueueMany(name: string, items: readonly BulkJob[]): Promise<number>;
  /** A repeating job (interval in ms or a cron expression), one per name. */
  every(name: string, interval: string | number, payload: unknown, options: { cause: Cause; timezone?: string }): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly agenda: Agenda;
}

/** agenda's table, named here so that the backend and the bulk insert below cannot disagree. */
const JOB_TABLE = 'agenda_jobs';

/** The columns agenda's repository writes for a new job that is neither single nor unique. */
interface NewJobRow {
  priority: number;
  nextRunAt: Date;
  type: string;
  data: string;
}

export function createJobRunner(options: {
  pool: pg.Pool;
  logger: Logger;
  processEveryMs: number;
  instanceName?: string;
}): JobRunner {
  const { logger } = options;
  const specs = new Map<string, JobSpec<z.ZodType>>();
  const backend = new PostgresBackend({ pool: options.pool, ensureSchema: false, tableName: JOB_TABLE });
  const agenda = new Agenda({
    backend,
    processEvery: options.processEveryMs,
    defaultConcurrency: 5,
    maxConcurrency: 50,
    name: options.instanceName,
  });
  // The constructor connects at once; a database outage must be logged, never crash the process.
  agenda.ready.catch((error: unknown) => logger.error({ err: error }, 'job scheduler could not connect'));
  agenda.on('error', (error: unknown) => logger.warn({ err: error }, 'job scheduler error'));
  // The LISTEN connection re-emits connection errors on the channel; unheard, they would crash.
  const channel = backend.notificationChannel as unknown as { on?: (event: string, fn: (e: unknown) => void) => void } | undefined;
  channel?.on?.('error', (error) => logger.warn({ err: error }, 'job notification channel error'));
  let started = false;

  agenda.on('fail', (error: Error, job: Job) => {
    const data = job.attrs.data as StoredData | undefined;
    logger.warn(
      { err: error, job: job.attrs.name, jobId: String(job.attrs._id), attempt: job.attrs.failCount ?? 1, jobKey: data?.jobKey, cause: data?.cause },
      'job failed',
    );
  });
  agenda.on('retry exhausted', (error: Error, job: Job) => {
    logger.error({ err: error, job: job.attrs.name, jobId: String(job.attrs._id) }, 'job gave up after its last retry');
  });

  /** `at` names the item of a bulk enqueue, so that the issue paths say which one is wrong. */
  function parse<S extends z.ZodType>(spec: JobSpec<S>, payload: unknown, at: (string | number)[] = []): z.output<S> {
    const result = spec.payload.safeParse(payload);
    if (!result.success) {
      throw new AppError('invalid', `invalid payload for job ${spec.name}`, {
        issues: result.error.issues.map((i) => ({ path: [...at, 'payload', ...i.path].join('.'), message: i.message })),
      });
    }
    return result.data;
  }

  function specOf(name: string): JobSpec<z.ZodType> {
    const spec = specs.get(name);
    if (!spec) throw new Error(`job ${name} is not defined`);
    return spec;
  }

  /**
   * A new job's row as agenda would write it: the job is built by agenda itself (create, then
   * schedule, as `enqueue` does), so the priority, type and run time follow agenda's defaults.
   */
  function newJobRow(name: string, data: StoredData, runAt: Date | undefined): NewJobRow {
    const attrs = agenda.create(name, data).schedule(runAt ?? new Date()).toJson(true);
    if (!attrs.nextRunAt || !attrs.type) throw new Error(`agenda built job ${name} without a run time or type`);
    return { priority: Number(attrs.priority ?? 0), nextRunAt: attrs.nextRunAt, type: attrs.type, data: JSON.stringify(attrs.data) };
  }

  /**
   * One statement for the lot. The column list and the constants are those of the repository's
   * plain INSERT (PostgresJobRepository.saveJob); the conflict target is the unique index on the
   * job key (migration 0001), and DO NOTHING also skips a key repeated within the statement.
   * Returns the number inserted and, for the wake-up, one new job and the earliest run time.
   */
  async function insertNewJobs(name: string, rows: NewJobRow[]): Promise<{ inserted: number; firstId: string | null; firstRunAt: Date | null }> {
    const column = <T>(pick: (row: NewJobRow) => T) => rows.map(pick);
    const { rows: result } = await options.pool.query<{ inserted: number; first_id: string | null; first_run_at: Date | null }>(
      `WITH new_jobs AS (
         INSERT INTO "${JOB_TABLE}" (
           name, priority, next_run_at, type, repeat_timezone,
           repeat_interval, data, repeat_at, disabled, fork, last_modified_by,
           start_date, end_date, skip_days)
         SELECT $1, j.priority, j.next_run_at, j.type, NULL, NULL, j.data, NULL, FALSE, FALSE, $2, NULL, NULL, NULL
           FROM unnest($3::int[], $4::timestamptz[], $5::text[], $6::jsonb[]) AS j(priority, next_run_at, type, data)
         ON CONFLICT (name, (data->>'jobKey')) WHERE data ? 'jobKey' DO NOTHING
         RETURNING id, next_run_at)
       SELECT count(*)::int AS inserted, (array_agg(id ORDER BY next_run_at))[1]::text AS first_id, min(next_run_at) AS first_run_at
         FROM new_jobs`,
      [
        name,
        agenda.attrs.name || null,
        column((r) => r.priority),
        column((r) => r.nextRunAt),
        column((r) => r.type),
        column((r) => r.data),
      ],
    );
    const row = result[0];
    return { inserted: row?.inserted ?? 0, firstId: row?.first_id ?? null, firstRunAt: row?.first_run_at ?? null };
  }

  /**
   * The wake-up `job.save()` sends, once for the batch: a worker that hears it fills its queue
   * with every due job of that name, not only the one named. agenda skips it when this process's
   * channel is not connected, and logs (as 'error') a failed NOTIFY; the jobs are committed either
   * way and the next regular scan finds them.
   */
  async function wakeWorkers(name: string, firstId: string, firstRunAt: Date): Promise<void> {
    const job = agenda.create(name, {});
    job.attrs._id = toJobId(firstId);
    job.attrs.nextRunAt = firstRunAt;
    await agenda.publishJobNotification(job);
  }

  function wrap(error: unknown): never {
    if (error instanceof AppError) throw error;
    throw new AppError('unavailable', 'job store unavailable');
  }

  return {
    agenda,
    define(spec) {
      specs.set(spec.name, spec);
      agenda.define(
        spec.name,
        async (job: Job) => {
          const data = job.attrs.data as unknown as StoredData;
          const context: JobContext = {
            jobId: String(job.attrs._id),
            name: spec.name,
            attempt: (job.attrs.failCount ?? 0) + 1,
            key: data.jobKey,
            cause: data.cause,
            logger: logger.child({ job: spec.name, jobId: String(job.attrs._id), jobKey: data.jobKey }),
          };
          const payload = spec.payload.safeParse(data.payload);
          if (!payload.success) {
            // A payload that no longer fits its schema will never succeed: fail once, no retries.
            job.attrs.failCount = 10_000;
            throw new Error(`stored payload rejected: ${payload.error.issues.map((i) => i.path.join('.') + ' ' + i.message).join('; ')}`);
          }
          await spec.handler(payload.data, context);
        },
        {
          concurrency: spec.concurrency ?? 5,
          lockLifetime: spec.lockLifetimeMs ?? 10 * 60_000,
          backoff: exponential({
            delay: spec.retryDelayMs ?? 2_000,
            maxDelay: spec.maxRetryDelayMs ?? 10 * 60_000,
            maxRetries: spec.maxRetries ?? 5,
            jitter: 0.2,
          }),
        },
      );
    },
    async enqueue(name, payload, { key, runAt, cause }) {
      const spec = specOf(name);
      const data: StoredData = { payload: parse(spec, payload), cause, ...(key ? { jobKey: key } : {}) };
      try {
        await agenda.ready;
        const job = agenda.create(name, data);
        job.schedule(runAt ?? new Date());
        // A plain insert: the unique index on (name, data->>'jobKey') turns a duplicate into 23505.
        await job.save();
        return true;
      } catch (error) {
        if ((error as { code?: string }).code === '23505') return false;
        return wrap(error);
      }
    },
    async enqueueMany(name, items) {
      const spec = specOf(name);
      // Every item first: a batch with one bad item writes nothing.
      const data = items.map((item, index): StoredData => {
        if (!item.key) throw new AppError('invalid', `job ${name} needs a key for each item`, { issues: [{ path: `${index}.key`, message: 'required' }] });
        return { payload: parse(spec, item.payload, [index]), cause: item.cause, jobKey: item.key };
      });
      if (data.length === 0) return 0;
      try {
        await agenda.ready;
        const rows = data.map((d, index) => newJobRow(name, d, items[index]!.runAt));
        const { inserted, firstId, firstRunAt } = await insertNewJobs(name, rows);
        if (firstId && firstRunAt) await wakeWorkers(name, firstId, firstRunAt);
        return inserted;
      } catch (error) {
        return wrap(error);
      }
    },
    async every(name, interval, payload, { cause, timezone }) {
      const spec = specOf(name);
      try {
        await agenda.ready;
        await agenda.every(interval, name, { payload: parse(spec, payload), cause } satisfies StoredData, {
          timezone: timezone ?? 'Asia/Shanghai',
          skipImmediate: true,
        });
      } catch (error) {
        wrap(error);
      }
    },
    async start() {
      await agenda.ready;
      await agenda.start();
      started = true;
    },
    async stop() {
      if (!started) return;
      started = false;
      await agenda.stop(false).catch((error: unknown) => logger.warn({ err: error }, 'job scheduler stop failed'));
    },
  };
}
