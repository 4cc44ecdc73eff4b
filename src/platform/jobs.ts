import { Agenda, exponential, type Job } from 'agenda';
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

export interface JobRunner {
  define<S extends z.ZodType>(spec: JobSpec<S>): void;
  /** Returns false when a job with the same key already exists. */
  enqueue(name: string, payload: unknown, options: EnqueueOptions): Promise<boolean>;
  /** A repeating job (interval in ms or a cron expression), one per name. */
  every(name: string, interval: string | number, payload: unknown, options: { cause: Cause; timezone?: string }): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly agenda: Agenda;
}

export function createJobRunner(options: {
  pool: pg.Pool;
  logger: Logger;
  processEveryMs: number;
  instanceName?: string;
}): JobRunner {
  const { logger } = options;
  const specs = new Map<string, JobSpec<z.ZodType>>();
  const backend = new PostgresBackend({ pool: options.pool, ensureSchema: false });
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

  function parse<S extends z.ZodType>(spec: JobSpec<S>, payload: unknown): z.output<S> {
    const result = spec.payload.safeParse(payload);
    if (!result.success) {
      throw new AppError('invalid', `invalid payload for job ${spec.name}`, {
        issues: result.error.issues.map((i) => ({ path: ['payload', ...i.path].join('.'), message: i.message })),
      });
    }
    return result.data;
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
      const spec = specs.get(name);
      if (!spec) throw new Error(`job ${name} is not defined`);
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
    async every(name, interval, payload, { cause, timezone }) {
      const spec = specs.get(name);
      if (!spec) throw new Error(`job ${name} is not defined`);
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
