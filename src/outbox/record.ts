import { sql } from 'kysely';
import type { Db } from '../platform/db/database.js';
import type { Batch, SendResult } from './senders.js';

/**
 * Writing what became of a batch. Every write is guarded by the batch still being `sending` and its
 * rows still `sending` in it, inside one transaction: whoever settles a batch first (the dispatcher
 * that called, or the one that resolved it after its lease) settles it; a later answer changes nothing.
 */
export type BatchResolution = 'found' | 'released' | 'retry' | 'not_sent' | 'resent' | 'abandoned';

export interface RetryPolicy {
  maxAttempts: number;
  baseMs: number;
  maxMs: number;
}

async function closeBatch(
  trx: Db,
  batchId: string,
  set: { status: 'sent' | 'failed' | 'released'; msgid?: string | null; failList?: string[]; resolution?: BatchResolution | null; error?: string | null },
): Promise<boolean> {
  const closed = await trx
    .updateTable('outbox_batches')
    .set({
      status: set.status,
      msgid: set.msgid ?? null,
      fail_list: set.failList ? JSON.stringify(set.failList) : null,
      resolution: set.resolution ?? null,
      error: set.error ?? null,
      finished_at: sql`now()`,
    })
    .where('id', '=', batchId)
    .where('status', '=', 'sending')
    .returning('id')
    .executeTakeFirst();
  return Boolean(closed);
}

/** WeCom took the call: rows sent with its msgid (awaiting the member's confirmation where that applies), refused recipients failed. */
export async function recordSent(
  db: Db,
  batch: Batch,
  result: SendResult,
  options: { now: Date; sentAt?: Date; awaitsConfirmation: boolean; resolution?: BatchResolution },
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const refused = [...result.rejected.keys()];
    if (!(await closeBatch(trx, batch.id, { status: 'sent', msgid: result.msgid, failList: refused, resolution: options.resolution ?? null }))) return false;
    const byReason = new Map<string, { errcode: number; reason: string; recipients: string[] }>();
    for (const [recipient, r] of result.rejected) {
      const k = `${r.errcode}\u0000${r.reason}`;
      const entry = byReason.get(k) ?? { ...r, recipients: [] };
      entry.recipients.push(recipient);
      byReason.set(k, entry);
    }
    for (const r of byReason.values()) {
      await trx
        .updateTable('outbox')
        .set({ status: 'failed', errcode: r.errcode, last_error: r.reason, msgid: result.msgid, attempts: sql`attempts + 1`, updated_at: options.now })
        .where('batch_id', '=', batch.id)
        .where('status', '=', 'sending')
        .where(sql<boolean>`recipient = ANY(${r.recipients}::text[])`)
        .execute();
    }
    await trx
      .updateTable('outbox')
      .set({
        status: 'sent',
        msgid: result.msgid,
        sent_at: options.sentAt ?? options.now,
        delivery: options.awaitsConfirmation ? 'awaiting' : null,
        result: JSON.stringify({ msgid: result.msgid }),
        attempts: sql`attempts + 1`,
        errcode: null,
        last_error: null,
        updated_at: options.now,
      })
      .where('batch_id', '=', batch.id)
      .where('status', '=', 'sending')
      .execute();
    return true;
  });
}

/** A definite refusal, or a batch that cannot be sent: its rows fail for good. */
export async function recordFailed(
  db: Db,
  batch: Batch,
  failure: { errcode: number | null; error: string; called: boolean; resolution?: BatchResolution },
  now: Date,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    if (!(await closeBatch(trx, batch.id, { status: 'failed', error: failure.error, resolution: failure.resolution ?? null }))) return false;
    await trx
      .updateTable('outbox')
      .set({ status: 'failed', errcode: failure.errcode, last_error: failure.error, attempts: sql`attempts + ${failure.called ? 1 : 0}`, updated_at: now })
      .where('batch_id', '=', batch.id)
      .where('status', '=', 'sending')
      .execute();
    return true;
  });
}

/**
 * The rows go back to `pending`: after a refusal worth retrying (45009, 45033, -1) with exponential
 * backoff and jitter, after an in-doubt call WeCom does not hold (at once), or when the call never
 * started (`notBefore`). A row whose attempts reach the maximum fails instead.
 */
export async function recordRetry(
  db: Db,
  batch: Batch,
  retry: { errcode: number | null; error: string; called: boolean; resolution: BatchResolution; backoff: boolean; notBefore?: Date | null },
  policy: RetryPolicy,
  now: Date,
): Promise<boolean> {
  const inc = retry.called ? 1 : 0;
  const due = retry.backoff
    ? sql`${now}::timestamptz + least(${policy.maxMs}::float8, ${policy.baseMs}::float8 * power(2, greatest(attempts + ${inc} - 1, 0))) * (0.5 + random() / 2) * interval '1 millisecond'`
    : sql`${retry.notBefore ?? null}::timestamptz`;
  return db.transaction().execute(async (trx) => {
    if (!(await closeBatch(trx, batch.id, { status: 'released', resolution: retry.resolution, error: retry.error }))) return false;
    await sql`
      UPDATE outbox SET
        status = CASE WHEN attempts + ${inc} >= ${policy.maxAttempts} THEN 'failed' ELSE 'pending' END,
        not_before = CASE WHEN attempts + ${inc} >= ${policy.maxAttempts} THEN not_before ELSE ${due} END,
        last_error = CASE WHEN attempts + ${inc} >= ${policy.maxAttempts} THEN ${`已尝试 ${policy.maxAttempts} 次，放弃发送：`} || ${retry.error}::text ELSE ${retry.error}::text END,
        attempts = attempts + ${inc},
        errcode = ${retry.errcode}::int,
        batch_id = NULL,
        updated_at = ${now}
      WHERE batch_id = ${batch.id} AND status = 'sending'`.execute(trx);
    return true;
  });
}
