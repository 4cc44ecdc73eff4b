import { sql } from 'kysely';
import { getApprovedMaterial } from '../materials/index.js';
import { queueMessage } from '../outbox/index.js';
import type { Db } from '../platform/db/database.js';
import { AppError } from '../platform/errors.js';
import type { Actor } from '../platform/http/context.js';
import type { Logger } from '../platform/logger.js';
import { snapshotMembers, snapshotSegment } from '../segments/index.js';
import { cancelPendingRows } from './actions.js';
import { isComplete, publishProgress } from './progress.js';
import { causeOf, loadMassSend } from './store.js';
import type { Audience, MassSendContent, MassSendDeps } from './types.js';

/**
 * The fan-out: the send's frozen member list, walked a page at a time, becomes one outbox row per
 * customer who has a live WeCom relation (the most recently added one), keyed
 * `mass:<id>:<customerId>` and grouped per member (`mass:<id>:<userid>`) so the dispatcher sends
 * each member one add_msg_template task. Customers without a relation get no row (skipped).
 *
 * Rows are written held (not before a day from now) and released member by member once the whole
 * list has been walked: a dispatcher that woke at every insert would otherwise hand a member a
 * task per page, each to be confirmed in WeCom, instead of one.
 *
 * Idempotent and resumable: the snapshot is taken once (under a row lock, recorded in the same
 * transaction), rows are keyed, and a page whose customers already have rows writes nothing, so a
 * re-run after a crash carries on where the first stopped and never adds a row twice.
 */
export interface FanOutResult {
  status: 'sending' | 'completed' | 'cancelled' | 'failed' | 'skipped';
  /** Rows written by this run. */
  queued: number;
  /** Of those, rows the compliance gate blocked for their customer. */
  blocked: number;
  /** Customers whose row an earlier run had already written. */
  existing: number;
  /** Customers without a live WeCom relation. */
  skipped: number;
}

export interface FanOutOptions {
  /** Customers per page (one relation query, one progress event). Default 1,000. */
  pageSize?: number;
  /** Rows queued at once within a page. Default 8. */
  concurrency?: number;
  logger?: Logger;
}

interface Recipient {
  customerId: string;
  userid: string;
  externalUserid: string;
}

/** The creator as the actor of the snapshot: a send reaches what its creator may see. */
async function creatorActor(db: Db, staffId: string | null): Promise<Actor> {
  const row = staffId
    ? await db.selectFrom('staff').select(['id', 'username', 'display_name', 'role', 'branch_id', 'corp_id', 'wecom_userid']).where('id', '=', staffId).executeTakeFirst()
    : undefined;
  if (!row) throw new AppError('conflict', '创建人账号不存在，无法生成客群快照');
  return { id: row.id, username: row.username, displayName: row.display_name, role: row.role, branchId: row.branch_id, corpId: row.corp_id, wecomUserid: row.wecom_userid, sessionId: 'masssend' };
}

/** The snapshot the send walks: given, or taken from the segment once (locked, so two runs cannot take two). */
async function ensureSnapshot(db: Db, id: string): Promise<string> {
  return db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('mass_sends').select(['snapshot_id', 'audience', 'created_by']).where('id', '=', id).forUpdate().executeTakeFirstOrThrow();
    if (row.snapshot_id) return row.snapshot_id;
    const audience = row.audience as Audience;
    if (!('segmentId' in audience)) throw new AppError('conflict', '群发没有指定客群');
    const { snapshotId } = await snapshotSegment(trx, audience.segmentId, await creatorActor(trx, row.created_by));
    await trx.updateTable('mass_sends').set({ snapshot_id: snapshotId, updated_at: new Date() }).where('id', '=', id).execute();
    return snapshotId;
  });
}

/** Each customer's live relation: one per customer, the most recently added. */
async function relationsOf(db: Db, corpId: string, customerIds: string[]): Promise<Recipient[]> {
  if (!customerIds.length) return [];
  const rows = await db
    .selectFrom('external_contacts as ec')
    .innerJoin('follow_relations as fr', (j) => j.onRef('fr.corp_id', '=', 'ec.corp_id').onRef('fr.external_userid', '=', 'ec.external_userid'))
    .distinctOn('ec.customer_id')
    .select(['ec.customer_id', 'fr.userid', 'fr.external_userid'])
    .where('ec.corp_id', '=', corpId)
    .where('ec.customer_id', 'in', customerIds)
    .where('fr.deleted_at', 'is', null)
    .orderBy('ec.customer_id')
    .orderBy(sql`fr.added_at DESC NULLS LAST`)
    .orderBy('fr.userid')
    .execute();
  return rows.map((r) => ({ customerId: r.customer_id!, userid: r.userid, externalUserid: r.external_userid }));
}

/** Customers of the page who already have a row of this send (an earlier run wrote it). */
async function alreadyQueued(db: Db, id: string, customerIds: string[]): Promise<Set<string>> {
  const rows = await db
    .selectFrom('outbox')
    .select('customer_id')
    .where('ref_type', '=', 'mass_send')
    .where('ref_id', '=', id)
    .where('customer_id', 'in', customerIds)
    .execute();
  return new Set(rows.map((r) => r.customer_id!));
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(lanes);
}

/** How long rows wait for their release; a fan-out that dies is retried well within it. */
const HOLD_MS = 86_400_000;

/** Lets the dispatcher have the send's held rows, one member (group key) at a time. Returns how many. */
async function releaseRows(db: Db, id: string, now: Date): Promise<number> {
  const groups = await db.selectFrom('outbox').select('group_key').distinct()
    .where('ref_type', '=', 'mass_send').where('ref_id', '=', id).where('status', '=', 'pending').where('not_before', '>', now).execute();
  let released = 0;
  for (const { group_key } of groups) {
    const { numUpdatedRows } = await db.updateTable('outbox').set({ not_before: now, updated_at: now })
      .where('ref_type', '=', 'mass_send').where('ref_id', '=', id).where('group_key', '=', group_key!)
      .where('status', '=', 'pending').where('not_before', '>', now)
      .executeTakeFirst();
    released += Number(numUpdatedRows);
  }
  return released;
}

export const idempotencyKeyOf = (massSendId: string, customerId: string) => `mass:${massSendId}:${customerId}`;
export const groupKeyOf = (massSendId: string, userid: string) => `mass:${massSendId}:${userid}`;

/** The send could not be fanned out: it fails, and the rows written so far (still held) are cancelled. */
export async function markFailed(db: Db, id: string, error: string): Promise<void> {
  const now = new Date();
  await db.updateTable('mass_sends').set({ status: 'failed', error, finished_at: now, updated_at: now }).where('id', '=', id).where('status', 'in', ['scheduled', 'queued']).execute();
  await cancelPendingRows(db, id, '群发失败，未发送');
}

/** Moves a sending send to completed when its rows say it is done. Returns whether it did. */
export async function completeIfDone(deps: MassSendDeps, id: string): Promise<boolean> {
  const progress = await publishProgress(deps, id);
  if (progress.status !== 'sending' || !isComplete(progress)) return false;
  const now = deps.now?.() ?? new Date();
  const done = await deps.db.updateTable('mass_sends').set({ status: 'completed', finished_at: now, updated_at: now }).where('id', '=', id).where('status', '=', 'sending').executeTakeFirst();
  if (Number(done.numUpdatedRows) > 0) await publishProgress(deps, id, { force: true });
  return Number(done.numUpdatedRows) > 0;
}

export async function fanOutMassSend(deps: MassSendDeps, id: string, options: FanOutOptions = {}): Promise<FanOutResult> {
  const { db } = deps;
  const pageSize = options.pageSize ?? 1_000;
  const concurrency = options.concurrency ?? 8;
  const result: FanOutResult = { status: 'skipped', queued: 0, blocked: 0, existing: 0, skipped: 0 };
  const send = await loadMassSend(db, id);
  // sending: an earlier run finished the fan-out (and may have died before releasing the rows).
  if (send.status === 'sending') {
    await releaseRows(db, id, deps.now?.() ?? new Date());
    return { ...result, status: 'sending' };
  }
  if (send.status !== 'scheduled' && send.status !== 'queued') return result;

  if (send.status === 'scheduled' && send.material_id) {
    // Compliance may have withdrawn the material since the send was created.
    try {
      await getApprovedMaterial(db, send.material_id);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      await markFailed(db, id, `素材已不可发送：${error.message}`);
      await publishProgress(deps, id, { force: true });
      return { ...result, status: 'failed' };
    }
  }
  const started = deps.now?.() ?? new Date();
  const claimed = await db
    .updateTable('mass_sends')
    .set({ status: 'queued', queued_at: sql`coalesce(queued_at, ${started})`, updated_at: started })
    .where('id', '=', id)
    .where('status', 'in', ['scheduled', 'queued'])
    .executeTakeFirst();
  if (Number(claimed.numUpdatedRows) === 0) return result;

  let snapshotId: string;
  try {
    snapshotId = await ensureSnapshot(db, id);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    await markFailed(db, id, error.kind === 'not_found' ? '客群不存在或已删除' : error.message);
    await publishProgress(deps, id, { force: true });
    return { ...result, status: 'failed' };
  }

  const content = send.content as unknown as MassSendContent;
  const cause = causeOf(send);
  const heldUntil = new Date(started.getTime() + HOLD_MS);
  for await (const page of snapshotMembers(db, snapshotId, { pageSize })) {
    const current = await db.selectFrom('mass_sends').select('status').where('id', '=', id).executeTakeFirstOrThrow();
    if (current.status !== 'queued') {
      options.logger?.info({ massSendId: id, status: current.status }, 'mass send fan-out stopped');
      return { ...result, status: current.status === 'cancelled' ? 'cancelled' : 'failed' };
    }
    const done = await alreadyQueued(db, id, page);
    result.existing += done.size;
    const todo = page.filter((c) => !done.has(c));
    const recipients = await relationsOf(db, send.corp_id, todo);
    result.skipped += todo.length - recipients.length;
    await eachLimited(recipients, concurrency, async (r) => {
      const queued = await queueMessage(
        { db, gate: deps.gate },
        {
          idempotencyKey: idempotencyKeyOf(id, r.customerId),
          groupKey: groupKeyOf(id, r.userid),
          corpId: send.corp_id,
          channel: 'mass_single',
          sender: r.userid,
          recipient: r.externalUserid,
          customerId: r.customerId,
          content: { text: content.text, attachments: content.attachments },
          productIds: content.productIds,
          purpose: send.purpose,
          cause,
          ref: { type: 'mass_send', id },
          notBefore: heldUntil,
        },
      );
      if (queued.created) result.queued++;
      else result.existing++;
      if (queued.created && queued.status === 'blocked') result.blocked++;
    });
    await publishProgress(deps, id);
  }

  // Sending first, then the release: a send cancelled meanwhile keeps its rows held for the cancel
  // to take, and a run that dies between the two releases them when it is run again.
  const finished = deps.now?.() ?? new Date();
  const moved = await db.updateTable('mass_sends').set({ status: 'sending', updated_at: finished }).where('id', '=', id).where('status', '=', 'queued').executeTakeFirst();
  if (Number(moved.numUpdatedRows) === 0) {
    const current = await db.selectFrom('mass_sends').select('status').where('id', '=', id).executeTakeFirstOrThrow();
    return { ...result, status: current.status === 'cancelled' ? 'cancelled' : 'failed' };
  }
  const released = await releaseRows(db, id, finished);
  options.logger?.info({ massSendId: id, queued: result.queued, existing: result.existing, skipped: result.skipped, blocked: result.blocked, released }, 'mass send fanned out');
  // Everyone skipped or blocked: nothing to wait for.
  const completed = await completeIfDone(deps, id);
  if (!completed) await publishProgress(deps, id, { force: true });
  return { ...result, status: completed ? 'completed' : 'sending' };
}

