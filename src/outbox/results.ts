import { sql } from 'kysely';
import { z } from 'zod';
import { summarise } from '../customers/index.js';
import type { Db } from '../platform/db/database.js';
import type { Cause } from '../platform/events.js';
import type { JobRunner } from '../platform/jobs.js';
import type { Logger } from '../platform/logger.js';
import type { OutboxDelivery } from '../platform/db/schema.js';
import { WeComApiError, type WeComGateway } from '../wecom/client/index.js';
import { sendResults } from './mass.js';

/**
 * What happened at the customer's end of a mass send. add_msg_template only creates a task: the
 * member confirms it in WeCom, and only then do customers receive it (or not: not a friend any more,
 * receiving quota reached). For every task with rows still `delivery = 'awaiting'` this asks WeCom
 * (get_groupmsg_task, get_groupmsg_send_result) and writes each row's delivery; delivered messages go
 * on the customer's timeline as `message_out`, with what caused them. A task still unconfirmed after
 * three days counts as unsent. A task is asked every minute in its first hour (OUTBOX_RESULT_FRESH_MS), when
 * members usually confirm it and the console shows its progress, then every OUTBOX_RESULT_SYNC_MS.
 */
export const RESULT_SYNC_JOB = 'outbox.sync-results';
export const UNCONFIRMED_AFTER_MS = 3 * 86_400_000;

export interface SyncDeps {
  db: Db;
  gateway: WeComGateway;
  logger: Logger;
}

export interface SyncSummary {
  tasks: number;
  delivered: number;
  notFriend: number;
  quotaReached: number;
  unsent: number;
  awaiting: number;
  errors: number;
}

interface AwaitingRow {
  id: string;
  corp_id: string;
  channel: string;
  recipient: string;
  sender: string | null;
  customer_id: string | null;
  payload: unknown;
  cause_type: string;
  cause_id: string | null;
  ref_type: string | null;
  ref_id: string | null;
  msgid: string;
  sent_at: Date | null;
}

type Outcome = { delivery: Exclude<OutboxDelivery, 'awaiting' | 'cancelled'>; at: Date | null };

const STILL_DISPATCHING = 41063;
const SENT_TASK = new Set([1, 2]); // the doc text says 2, its example 1 (SHAPES §8.3)
const RESULT: Record<number, Outcome['delivery']> = { 1: 'delivered', 2: 'not_friend', 3: 'quota_reached' };

async function taskList(deps: SyncDeps, corpId: string, msgid: string): Promise<Map<string, number>> {
  const client = deps.gateway.client(corpId, 'contact');
  const tasks = new Map<string, number>();
  let cursor = '';
  do {
    const page = await client.call<{ task_list?: { userid: string; status: number }[]; next_cursor?: string }>('externalcontact/get_groupmsg_task', { body: { msgid, limit: 1000, cursor } });
    for (const t of page.task_list ?? []) tasks.set(t.userid, t.status);
    cursor = page.next_cursor ?? '';
  } while (cursor);
  return tasks;
}

/** Each row's outcome, or undefined while its member has not confirmed (and three days have not passed). */
async function outcomes(deps: SyncDeps, corpId: string, msgid: string, rows: AwaitingRow[], cutoff: Date): Promise<Map<string, Outcome>> {
  const tasks = await taskList(deps, corpId, msgid);
  const results = new Map<string, { status: number; send_time?: number }>();
  for (const [userid, status] of tasks) {
    if (!SENT_TASK.has(status)) continue;
    for (const r of await sendResults(deps.gateway.client(corpId, 'contact'), msgid, userid)) results.set(`${userid}\u0000${r.id}`, r);
  }
  const out = new Map<string, Outcome>();
  for (const row of rows) {
    const senders = row.sender ? [row.sender] : [...tasks.keys()];
    const found = senders.map((s) => results.get(`${s}\u0000${row.recipient}`)).find((r) => r && r.status !== 0);
    const confirmed = senders.some((s) => SENT_TASK.has(tasks.get(s) ?? 0));
    if (found) {
      const delivery = RESULT[found.status];
      if (delivery) out.set(row.id, { delivery, at: delivery === 'delivered' && found.send_time ? new Date(found.send_time * 1000) : null });
    } else if (confirmed || (row.sent_at && new Date(row.sent_at) < cutoff)) {
      // The member sent the task without this recipient, or never confirmed it in time.
      out.set(row.id, { delivery: 'unsent', at: null });
    }
  }
  return out;
}

async function apply(db: Db, rows: AwaitingRow[], decided: Map<string, Outcome>, now: Date): Promise<void> {
  if (!decided.size) return;
  const ids = [...decided.keys()];
  await db.transaction().execute(async (trx) => {
    const changed = await sql<{ id: string }>`
      UPDATE outbox o SET delivery = v.delivery, delivered_at = v.at, updated_at = ${now}
        FROM unnest(${ids}::uuid[], ${ids.map((id) => decided.get(id)!.delivery)}::text[], ${ids.map((id) => decided.get(id)!.at)}::timestamptz[]) AS v(id, delivery, at)
       WHERE o.id = v.id AND o.delivery = 'awaiting'
      RETURNING o.id`.execute(trx);
    // Only rows this pass moved from awaiting, so a message is on the timeline once.
    const moved = new Set(changed.rows.map((r) => r.id));
    const delivered = rows.filter((r) => moved.has(r.id) && decided.get(r.id)!.delivery === 'delivered' && r.channel === 'mass_single');
    if (!delivered.length) return;
    const unlinked = delivered.filter((r) => !r.customer_id);
    const linked = unlinked.length
      ? await trx.selectFrom('external_contacts').select(['corp_id', 'external_userid', 'customer_id']).where(sql<boolean>`external_userid = ANY(${unlinked.map((r) => r.recipient)}::text[])`).execute()
      : [];
    const customerOf = (r: AwaitingRow) => r.customer_id ?? linked.find((l) => l.corp_id === r.corp_id && l.external_userid === r.recipient)?.customer_id ?? null;
    for (let i = 0; i < delivered.length; i += 1000) {
      await trx
        .insertInto('timeline_events')
        .values(
          delivered.slice(i, i + 1000).map((r) => {
            const cause = { type: r.cause_type, id: r.cause_id } as Cause;
            const text = (r.payload as { text?: string } | null)?.text ?? '';
            return {
              customer_id: customerOf(r),
              corp_id: r.corp_id,
              external_userid: r.recipient,
              at: decided.get(r.id)!.at ?? now,
              kind: 'message_out',
              summary: `收到群发消息：${summarise(text || '（附件）')}`,
              detail: JSON.stringify({ channel: r.channel, outboxId: r.id, msgid: r.msgid, sender: r.sender, ref: r.ref_type ? { type: r.ref_type, id: r.ref_id } : null }),
              cause_type: cause.type,
              cause_id: cause.id ?? null,
            };
          }),
        )
        .execute();
    }
  });
}

/** One pass over every task with rows awaiting their delivery (all corps, or one). */
export interface SyncOptions {
  now?: Date;
  corpId?: string;
  unconfirmedAfterMs?: number;
  /** A task sent within this is asked at every pass (default 0: only by interval). */
  freshMs?: number;
  /** An older task is asked again once this has passed since the last time (default 0: every pass). */
  intervalMs?: number;
}

export async function syncSendResults(deps: SyncDeps, options: SyncOptions = {}): Promise<SyncSummary> {
  const now = options.now ?? new Date();
  const cutoff = new Date(now.getTime() - (options.unconfirmedAfterMs ?? UNCONFIRMED_AFTER_MS));
  const summary: SyncSummary = { tasks: 0, delivered: 0, notFriend: 0, quotaReached: 0, unsent: 0, awaiting: 0, errors: 0 };
  const freshSince = new Date(now.getTime() - (options.freshMs ?? 0));
  const askedBefore = new Date(now.getTime() - (options.intervalMs ?? 0));
  const tasks = await sql<{ corp_id: string; msgid: string }>`
    SELECT t.corp_id, t.msgid FROM (
      SELECT corp_id, msgid, min(sent_at) AS first_sent FROM outbox
       WHERE delivery = 'awaiting' AND msgid IS NOT NULL ${options.corpId ? sql`AND corp_id = ${options.corpId}` : sql``}
       GROUP BY corp_id, msgid) t
     LEFT JOIN LATERAL (SELECT max(b.results_checked_at) AS at FROM outbox_batches b WHERE b.corp_id = t.corp_id AND b.msgid = t.msgid) c ON true
     WHERE t.first_sent >= ${freshSince} OR c.at IS NULL OR c.at <= ${askedBefore}`.execute(deps.db);
  for (const task of tasks.rows) {
    const msgid = task.msgid;
    const rows = (await deps.db
      .selectFrom('outbox')
      .select(['id', 'corp_id', 'channel', 'recipient', 'sender', 'customer_id', 'payload', 'cause_type', 'cause_id', 'ref_type', 'ref_id', 'msgid', 'sent_at'])
      .where('corp_id', '=', task.corp_id)
      .where('msgid', '=', msgid)
      .where('delivery', '=', 'awaiting')
      .execute()) as AwaitingRow[];
    summary.tasks++;
    let decided: Map<string, Outcome>;
    try {
      decided = await outcomes(deps, task.corp_id, msgid, rows, cutoff);
    } catch (error) {
      if (error instanceof WeComApiError && error.errcode === STILL_DISPATCHING) {
        summary.awaiting += rows.length;
        continue;
      }
      summary.errors++;
      deps.logger.warn({ err: error, corpId: task.corp_id, msgid }, 'send result sync failed for a task');
      // A task WeCom cannot find or answer for: once the rows are past three days they are unsent.
      decided = new Map(rows.filter((r) => r.sent_at && new Date(r.sent_at) < cutoff).map((r) => [r.id, { delivery: 'unsent', at: null }]));
    }
    await apply(deps.db, rows, decided, now);
    await deps.db.updateTable('outbox_batches').set({ results_checked_at: now }).where('corp_id', '=', task.corp_id).where('msgid', '=', msgid).execute();
    for (const o of decided.values()) {
      if (o.delivery === 'delivered') summary.delivered++;
      else if (o.delivery === 'not_friend') summary.notFriend++;
      else if (o.delivery === 'quota_reached') summary.quotaReached++;
      else summary.unsent++;
    }
    summary.awaiting += rows.length - decided.size;
  }
  return summary;
}

export function defineOutboxJobs(jobs: JobRunner, deps: SyncDeps & { intervalMs: number; freshMs: number }): void {
  jobs.define({
    name: RESULT_SYNC_JOB,
    payload: z.object({}),
    concurrency: 1,
    handler: async (_payload, context) => {
      const summary = await syncSendResults(deps, { intervalMs: deps.intervalMs, freshMs: deps.freshMs });
      if (summary.tasks) context.logger.info(summary, 'mass send results synced');
    },
  });
}

/** Every minute (or the interval, when shorter): tasks in their first hour are asked each time, older ones by interval. */
export async function scheduleOutboxJobs(jobs: JobRunner, intervalMs: number): Promise<void> {
  await jobs.every(RESULT_SYNC_JOB, Math.min(60_000, intervalMs), {}, { cause: { type: 'system', id: 'schedule' } });
}
