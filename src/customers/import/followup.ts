import { sql } from 'kysely';
import { z } from 'zod';
import type { Db } from '../../platform/db/database.js';
import { EVENTS, type EventBus } from '../../platform/events.js';
import type { JobRunner } from '../../platform/jobs.js';
import type { Logger } from '../../platform/logger.js';
import { TAG_JOBS } from '../../tags/jobs.js';
import { importCause } from './changes.js';

/**
 * After an import, whoever ran it (the console's upload or `npm run import` on another machine), the service:
 *
 * 1. publishes each change the import recorded (`import_changes`, written in the batch's transaction) as
 *    `customer.updated`, caused by the import, and deletes it once the handlers have finished (the SOP triggers
 *    queue a keyed job per event, so an event published twice after a crash is handled once);
 * 2. for a finished import that inserted or updated customers, queues the fact tags' recompute of those customers
 *    (`tags.facts`, keyed by the import; the whole base past 20,000) so AUM tiers, 代发, 新客 and the rest follow
 *    the new data without waiting for the night; then marks the import followed up. This step runs even when
 *    publishing failed, for the imports whose changes are all out.
 *
 * The job runs every minute and at once when a console import finishes; changes of an import still running are
 * published as its batches commit, within the minute.
 */
export const IMPORT_JOBS = { followUp: 'customers.import-followup' } as const;

export interface FollowUpDeps {
  db: Db;
  events: EventBus;
  logger: Logger;
  /** Queues the fact tags' recompute for a finished import (its customers, or all when undefined), idempotently. */
  queueFactTags(importId: string, customerIds: string[] | undefined): Promise<void>;
}

export interface FollowUpResult {
  published: number;
  imports: string[];
}

const CHUNK = 500;

export async function followUpImports(deps: FollowUpDeps): Promise<FollowUpResult> {
  let published = 0;
  let failure: unknown;
  try {
    published = await publishChanges(deps);
  } catch (error) {
    // Finished imports whose changes are all out are still followed up; the job then fails and is retried.
    failure = error;
  }
  const imports = await followUpFinished(deps);
  if (published || imports.length) deps.logger.info({ published, imports }, 'customer imports followed up');
  if (failure) throw failure;
  return { published, imports };
}

async function publishChanges(deps: FollowUpDeps): Promise<number> {
  const { db, events } = deps;
  let published = 0;
  for (;;) {
    // One chunk per transaction: the rows stay locked (another run skips them) until their events are handled.
    const n = await db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ id: string; import_id: string; customer_id: string; changed: Record<string, { from: unknown; to: unknown }> }>`
        SELECT id, import_id, customer_id, changed FROM import_changes ORDER BY id LIMIT ${CHUNK} FOR UPDATE SKIP LOCKED`.execute(trx);
      if (!rows.length) return 0;
      await Promise.all(rows.map((r) => events.publishAndWait(EVENTS.customerUpdated, { customerId: r.customer_id, changed: r.changed }, importCause(r.import_id))));
      await sql`DELETE FROM import_changes WHERE id = ANY(${rows.map((r) => r.id)}::bigint[])`.execute(trx);
      return rows.length;
    });
    published += n;
    if (n < CHUNK) return published;
  }
}

/**
 * A fact-tag recompute of the customers an import inserted or updated (created or updated since it started; others
 * written meanwhile come along, harmlessly), or of the whole base when that is more than CUSTOMER_IDS_MAX.
 */
const CUSTOMER_IDS_MAX = 20_000;

async function followUpFinished(deps: FollowUpDeps): Promise<string[]> {
  const { db } = deps;
  const finished = await sql<{ id: string; changed: boolean; started_at: Date }>`
    SELECT i.id, (i.inserted_rows + i.updated_rows) > 0 AS changed, i.started_at FROM imports i
     WHERE i.status = 'done' AND i.followed_up_at IS NULL AND NOT EXISTS (SELECT 1 FROM import_changes c WHERE c.import_id = i.id)
     ORDER BY i.finished_at`.execute(db);
  const imports: string[] = [];
  for (const i of finished.rows) {
    // Queued before the mark, under the import's key: a crash in between queues nothing twice.
    if (i.changed) {
      const touched = await db.selectFrom('customers').select('id')
        .where((eb) => eb.or([eb('created_at', '>=', i.started_at), eb('updated_at', '>=', i.started_at)]))
        .limit(CUSTOMER_IDS_MAX + 1).execute();
      await deps.queueFactTags(i.id, touched.length > CUSTOMER_IDS_MAX ? undefined : touched.map((c) => c.id));
    }
    await db.updateTable('imports').set({ followed_up_at: new Date() }).where('id', '=', i.id).where('followed_up_at', 'is', null).execute();
    imports.push(i.id);
  }
  return imports;
}

export function defineImportJobs(jobs: JobRunner, deps: { db: Db; events: EventBus }): void {
  const queueFactTags = async (importId: string, customerIds: string[] | undefined) => {
    await jobs.enqueue(TAG_JOBS.facts, customerIds ? { customerIds } : {}, { key: `import:${importId}`, cause: importCause(importId) });
  };
  jobs.define({
    name: IMPORT_JOBS.followUp,
    payload: z.object({ importId: z.uuid().optional() }),
    maxRetries: 5,
    retryDelayMs: 30_000,
    handler: async (_payload, context) => {
      await followUpImports({ ...deps, queueFactTags, logger: context.logger });
    },
  });
}

export async function scheduleImportJobs(jobs: JobRunner): Promise<void> {
  await jobs.every(IMPORT_JOBS.followUp, '* * * * *', {}, { cause: { type: 'system', id: 'schedule' } });
}

/** Right after an import in this process finishes, rather than at the next minute. */
export async function enqueueFollowUp(jobs: JobRunner, importId: string): Promise<void> {
  await jobs.enqueue(IMPORT_JOBS.followUp, { importId }, { key: `done:${importId}`, cause: importCause(importId) });
}
