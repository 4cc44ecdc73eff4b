import { sql } from 'kysely';
import type { Db } from '../platform/db/database.js';
import type { OutboxStatus } from '../platform/db/schema.js';
import type { Cause } from '../platform/events.js';

/**
 * Writing a row and delivering it once: a row is claimed (pending → sending) by one worker before
 * the provider is called, and its final status is written whatever happens to the call.
 */
export interface OutboundMessage {
  idempotencyKey: string;
  corpId: string;
  channel: 'welcome' | 'mass_single' | 'app_message' | 'kf' | 'bot';
  recipient: string;
  sender?: string | null;
  payload: Record<string, unknown>;
  cause: Cause;
  expiresAt?: Date | null;
}

export interface OutboxRow {
  id: string;
  status: OutboxStatus;
  attempts: number;
  errcode: number | null;
  expiresAt: Date | null;
  payload: Record<string, unknown>;
}

/** Writes the row (or finds the one already written under the same key). */
export async function recordOutbound(db: Db, message: OutboundMessage): Promise<{ row: OutboxRow; created: boolean }> {
  const inserted = await db
    .insertInto('outbox')
    .values({
      idempotency_key: message.idempotencyKey,
      corp_id: message.corpId,
      channel: message.channel,
      recipient: message.recipient,
      sender: message.sender ?? null,
      payload: JSON.stringify(message.payload),
      cause_type: message.cause.type,
      cause_id: message.cause.id ?? null,
      expires_at: message.expiresAt ?? null,
      errcode: null,
      last_error: null,
      result: null,
      not_before: null,
      sent_at: null,
    })
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .returning(['id', 'status', 'attempts', 'errcode', 'expires_at', 'payload'])
    .executeTakeFirst();
  const row =
    inserted ??
    (await db.selectFrom('outbox').select(['id', 'status', 'attempts', 'errcode', 'expires_at', 'payload']).where('idempotency_key', '=', message.idempotencyKey).executeTakeFirstOrThrow());
  return {
    created: Boolean(inserted),
    row: { id: row.id, status: row.status, attempts: row.attempts, errcode: row.errcode, expiresAt: row.expires_at ? new Date(row.expires_at) : null, payload: row.payload as Record<string, unknown> },
  };
}

export type SendOutcome =
  | { status: 'sent'; result?: Record<string, unknown> }
  /** Final: the provider refused for good (the errcode says why); never retried. */
  | { status: 'failed'; errcode?: number; error: string }
  /** Not final: try again later (the caller's job retries). */
  | { status: 'retry'; error: string };

/**
 * Claims a pending row (so two workers never call the provider for the same row), calls `send`,
 * and writes the outcome. Rows past their expiry become `expired` without a call.
 */
export async function deliver(db: Db, rowId: string, send: (payload: Record<string, unknown>) => Promise<SendOutcome>): Promise<OutboxStatus> {
  const claimed = await db
    .updateTable('outbox')
    .set({ status: 'sending', attempts: sql`attempts + 1`, updated_at: new Date() })
    .where('id', '=', rowId)
    .where('status', '=', 'pending')
    .returning(['payload', 'expires_at'])
    .executeTakeFirst();
  if (!claimed) {
    const current = await db.selectFrom('outbox').select('status').where('id', '=', rowId).executeTakeFirstOrThrow();
    return current.status;
  }
  if (claimed.expires_at && new Date(claimed.expires_at).getTime() < Date.now()) {
    await db.updateTable('outbox').set({ status: 'expired', last_error: 'expired before it could be sent', updated_at: new Date() }).where('id', '=', rowId).execute();
    return 'expired';
  }
  let outcome: SendOutcome = { status: 'retry', error: 'send did not complete' };
  try {
    outcome = await send(claimed.payload as Record<string, unknown>);
  } catch (error) {
    outcome = { status: 'retry', error: (error as Error).message };
  } finally {
    const now = new Date();
    if (outcome.status === 'sent') {
      await db.updateTable('outbox').set({ status: 'sent', sent_at: now, updated_at: now, result: outcome.result ? JSON.stringify(outcome.result) : null, last_error: null }).where('id', '=', rowId).execute();
    } else if (outcome.status === 'failed') {
      await db.updateTable('outbox').set({ status: 'failed', errcode: outcome.errcode ?? null, last_error: outcome.error, updated_at: now }).where('id', '=', rowId).execute();
    } else {
      await db.updateTable('outbox').set({ status: 'pending', last_error: outcome.error, updated_at: now }).where('id', '=', rowId).execute();
    }
  }
  return outcome.status === 'retry' ? 'pending' : outcome.status;
}
