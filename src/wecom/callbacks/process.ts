import { z } from 'zod';
import type { Db } from '../../platform/db/database.js';
import type { JobRunner } from '../../platform/jobs.js';
import type { Logger } from '../../platform/logger.js';
import type { CallbackEvent, CallbackHandlers } from '../events.js';
import { INBOX_SWEEP_JOB, Inbox, PROCESS_EVENT_JOB, storedError, type InboxChange } from './inbox.js';
import { describeUnhandled, parseCallbackEvent } from './parse.js';

/**
 * Processing, away from the request: `wecom.process-event` turns one inbox row into a typed event
 * and hands it to its handler; `wecom.inbox-sweep` finds rows whose job never got enqueued.
 *
 * Delivery to handlers is at least once: a crash between a handler's work and the row being marked
 * `processed` runs the handler again. Handlers must therefore be idempotent (upserts keyed by
 * WeCom ids, or re-reading the state from WeCom), which they need anyway since WeCom itself may
 * report the same change twice in different words.
 */
export interface CallbackJobDeps {
  db: Db;
  handlers: CallbackHandlers;
  logger: Logger;
  /** Retries after the first failure before the row is marked `failed`; default 5. */
  maxRetries?: number;
  /** First retry delay, doubling each time; default 2 s. */
  retryDelayMs?: number;
  /** Events processed at once per node; default 8. */
  concurrency?: number;
  /** Each status change of a row, for the console's live inbox. */
  onChange?: (change: InboxChange) => void;
}

export async function dispatchCallbackEvent(handlers: CallbackHandlers, event: CallbackEvent): Promise<void> {
  switch (event.kind) {
    case 'contact':
      return handlers.contact(event);
    case 'chat':
      return handlers.chat(event);
    case 'tag':
      return handlers.tag(event);
    case 'kf':
      return handlers.kf(event);
    case 'message':
      return handlers.message(event);
    default: {
      const unreachable: never = event;
      throw new Error(`unknown callback event ${JSON.stringify(unreachable)}`);
    }
  }
}

export function defineCallbackJobs(jobs: JobRunner, deps: CallbackJobDeps): void {
  const inbox = new Inbox({ db: deps.db, jobs, logger: deps.logger, onChange: deps.onChange });
  const maxRetries = deps.maxRetries ?? 5;

  jobs.define({
    name: PROCESS_EVENT_JOB,
    payload: z.object({ inboxId: z.string().regex(/^\d+$/) }),
    maxRetries,
    retryDelayMs: deps.retryDelayMs ?? 2_000,
    concurrency: deps.concurrency ?? 8,
    lockLifetimeMs: 5 * 60_000,
    handler: async ({ inboxId }, { attempt, logger }) => {
      const row = await inbox.get(inboxId);
      if (!row) {
        logger.warn({ inboxId }, 'wecom inbox row not found; nothing to process');
        return;
      }
      if (row.status === 'processed' || row.status === 'ignored') return;
      const event = parseCallbackEvent(row.payload, { corpId: row.corpId, inboxId: row.id });
      if (!event) {
        await inbox.markIgnored(row.id, describeUnhandled(row.payload));
        logger.info({ inboxId, event: row.event, changeType: row.changeType }, 'wecom event ignored');
        return;
      }
      try {
        await dispatchCallbackEvent(deps.handlers, event);
      } catch (error) {
        // attempt runs from 1; the runner gives up after maxRetries retries, so attempt maxRetries + 1 is the last.
        if (attempt > maxRetries) await inbox.markFailed(row.id, error, attempt);
        else await inbox.noteAttemptFailed(row.id, error, attempt).catch(() => undefined);
        throw new Error(`${event.kind} handler failed: ${storedError(error)}`, { cause: error });
      }
      await inbox.markProcessed(row.id);
    },
  });

  jobs.define({
    name: INBOX_SWEEP_JOB,
    payload: z.object({
      olderThanSeconds: z.number().int().min(0).default(30),
      limit: z.number().int().min(1).max(10_000).default(1000),
    }),
    maxRetries: 0,
    concurrency: 1,
    handler: async ({ olderThanSeconds, limit }, { logger }) => {
      const enqueued = await inbox.sweep({ olderThanMs: olderThanSeconds * 1000, limit });
      if (enqueued.length) logger.warn({ count: enqueued.length, first: enqueued[0] }, 'wecom inbox sweeper enqueued events that had no job');
    },
  });
}

/** The sweeper every minute (one schedule per name, whatever the number of nodes). */
export async function scheduleCallbackJobs(jobs: JobRunner): Promise<void> {
  await jobs.every(INBOX_SWEEP_JOB, '1 minute', {}, { cause: { type: 'system', id: 'schedule' } });
}
