import { sql } from 'kysely';
import { recordAudit, type AuditEntry } from '../audit/index.js';
import type { Db } from '../platform/db/database.js';
import { AppError, conflict } from '../platform/errors.js';
import type { Actor } from '../platform/http/context.js';
import { WeComApiError, WeComUnavailableError } from '../wecom/client/index.js';
import { publishProgress, type MassSendProgress } from './progress.js';
import { loadMassSend, STATUS_LABELS } from './store.js';
import { CONFIRM_WINDOW_MS, type MassSendDeps, type RequestInfo } from './types.js';

/**
 * Remind and cancel act on the WeCom tasks (msgids) the dispatcher created for the send, one per
 * member and up to 10,000 recipients; both are audited with what WeCom answered for each task.
 */
export interface TaskOutcome {
  msgid: string;
  sender: string | null;
}

export interface TaskFailure extends TaskOutcome {
  errcode: number | null;
  message: string;
}

const CHUNK = 5_000;

/** WeCom's refusal in words the console can show, with the errcode. */
function describeFailure(api: string, error: unknown): { errcode: number | null; message: string } {
  if (error instanceof WeComApiError) {
    if (api === 'externalcontact/remind_groupmsg_send' && error.errcode === 45009) {
      return { errcode: error.errcode, message: '企业微信限制每个群发任务24小时内最多提醒3次，已达上限（45009）' };
    }
    return { errcode: error.errcode, message: `企业微信拒绝了请求（${error.errcode}）：${error.errmsg.split(',')[0]}` };
  }
  if (error instanceof WeComUnavailableError) return { errcode: null, message: '企业微信暂时无法访问，请稍后重试' };
  throw error;
}

function auditEntry(actor: Actor, request: RequestInfo | undefined, action: string, rest: Omit<AuditEntry, 'actorType' | 'actorId' | 'action' | 'ip' | 'requestId'>): AuditEntry {
  return { actorType: 'staff', actorId: actor.id, action, ip: request?.ip ?? null, requestId: request?.requestId ?? null, ...rest };
}

/** The send's WeCom tasks with rows still waiting for their member, within the confirmation window. */
async function awaitingTasks(db: Db, id: string, since?: Date): Promise<TaskOutcome[]> {
  let query = db
    .selectFrom('outbox')
    .select(['msgid', sql<string | null>`min(sender)`.as('sender')])
    .where('ref_type', '=', 'mass_send')
    .where('ref_id', '=', id)
    .where('status', '=', 'sent')
    .where('delivery', '=', 'awaiting')
    .where('msgid', 'is not', null)
    .groupBy('msgid')
    .orderBy('msgid');
  if (since) query = query.where('sent_at', '>=', since);
  return (await query.execute()).map((r) => ({ msgid: r.msgid!, sender: r.sender }));
}

export interface RemindResult {
  reminded: TaskOutcome[];
  failed: TaskFailure[];
  progress: MassSendProgress;
}

/**
 * Reminds every member who has not confirmed their task (remind_groupmsg_send per msgid). WeCom
 * allows 3 reminders per task in 24 h: a refused reminder is reported with WeCom's errcode, and
 * when every task was refused the whole request fails (429 for the reminder limit, 409 otherwise).
 */
export async function remindMassSend(deps: MassSendDeps, actor: Actor, id: string, request?: RequestInfo): Promise<RemindResult> {
  const send = await loadMassSend(deps.db, id);
  if (send.status !== 'sending' && send.status !== 'queued') throw conflict(`群发${STATUS_LABELS[send.status]}，无需提醒`);
  const now = deps.now?.() ?? new Date();
  const tasks = await awaitingTasks(deps.db, id, new Date(now.getTime() - CONFIRM_WINDOW_MS));
  if (!tasks.length) throw conflict('没有等待成员确认的群发任务');
  const client = deps.gateway.client(send.corp_id);
  const reminded: TaskOutcome[] = [];
  const failed: TaskFailure[] = [];
  for (const task of tasks) {
    try {
      // 45009 here is the task's reminder limit, not the API's rate: report it rather than wait.
      await client.call('externalcontact/remind_groupmsg_send', { body: { msgid: task.msgid }, blockWaits: 0 });
      reminded.push(task);
    } catch (error) {
      failed.push({ ...task, ...describeFailure('externalcontact/remind_groupmsg_send', error) });
    }
  }
  await recordAudit(
    deps.db,
    auditEntry(actor, request, 'masssend.remind', {
      targetType: 'mass_send',
      targetId: id,
      outcome: reminded.length ? 'success' : 'failure',
      detail: { reminded, failed },
    }),
  );
  if (!reminded.length) {
    const limited = failed.every((f) => f.errcode === 45009);
    const message = limited ? failed[0]!.message : `提醒失败：${[...new Set(failed.map((f) => f.message))].join('；')}`;
    throw new AppError(limited ? 'rate_limited' : 'conflict', message, limited ? { code: 'remind_limit' } : {});
  }
  deps.logger.info({ massSendId: id, reminded: reminded.length, failed: failed.length }, 'mass send reminded');
  return { reminded, failed, progress: await publishProgress(deps, id, { force: true }) };
}

export interface CancelResult {
  /** Rows not yet handed to WeCom, now cancelled. */
  rowsCancelled: number;
  /** WeCom tasks cancelled (cancel_groupmsg_send), with their rows' delivery now 'cancelled'. */
  tasksCancelled: TaskOutcome[];
  failed: TaskFailure[];
  progress: MassSendProgress;
}

/** Cancels the send's rows still pending, in chunks. */
export async function cancelPendingRows(db: Db, id: string, reason = '群发已取消'): Promise<number> {
  let total = 0;
  for (;;) {
    const now = new Date();
    const { numUpdatedRows } = await db
      .updateTable('outbox')
      .set({ status: 'cancelled', last_error: reason, updated_at: now })
      .where('id', 'in', (eb) =>
        eb.selectFrom('outbox').select('id').where('ref_type', '=', 'mass_send').where('ref_id', '=', id).where('status', '=', 'pending').limit(CHUNK),
      )
      .where('status', '=', 'pending')
      .executeTakeFirst();
    total += Number(numUpdatedRows);
    if (Number(numUpdatedRows) < CHUNK) return total;
  }
}

/**
 * Cancels what is left of a cancelled send: pending rows are cancelled; each WeCom task still
 * awaiting its member is cancelled in WeCom (cancel_groupmsg_send), then its awaiting rows get
 * delivery 'cancelled'. Also run by the watch, for rows a dispatcher was sending at the moment of
 * cancelling.
 */
export async function settleCancelledSend(deps: MassSendDeps, id: string, corpId: string): Promise<Omit<CancelResult, 'progress'>> {
  const rowsCancelled = await cancelPendingRows(deps.db, id);
  const client = deps.gateway.client(corpId);
  const tasksCancelled: TaskOutcome[] = [];
  const failed: TaskFailure[] = [];
  for (const task of await awaitingTasks(deps.db, id)) {
    try {
      await client.call('externalcontact/cancel_groupmsg_send', { body: { msgid: task.msgid } });
    } catch (error) {
      failed.push({ ...task, ...describeFailure('externalcontact/cancel_groupmsg_send', error) });
      continue;
    }
    await deps.db
      .updateTable('outbox')
      .set({ delivery: 'cancelled', updated_at: new Date() })
      .where('ref_type', '=', 'mass_send')
      .where('ref_id', '=', id)
      .where('msgid', '=', task.msgid)
      .where('delivery', '=', 'awaiting')
      .execute();
    tasksCancelled.push(task);
  }
  return { rowsCancelled, tasksCancelled, failed };
}

/**
 * Cancels a send that has not completed. Before dispatch its pending rows are cancelled and the
 * fan-out stops at its next page; after dispatch each member's task that is still awaiting
 * confirmation is cancelled in WeCom (what members already sent stays sent).
 */
export async function cancelMassSend(deps: MassSendDeps, actor: Actor, id: string, request?: RequestInfo): Promise<CancelResult> {
  const send = await loadMassSend(deps.db, id);
  const now = deps.now?.() ?? new Date();
  const moved = await deps.db
    .updateTable('mass_sends')
    .set({ status: 'cancelled', cancelled_at: now, finished_at: now, updated_at: now })
    .where('id', '=', id)
    .where('status', 'in', ['scheduled', 'queued', 'sending'])
    .executeTakeFirst();
  if (Number(moved.numUpdatedRows) === 0) {
    const current = await loadMassSend(deps.db, id);
    throw conflict(`群发${STATUS_LABELS[current.status]}，无法取消`);
  }
  const settled = await settleCancelledSend(deps, id, send.corp_id);
  await recordAudit(
    deps.db,
    auditEntry(actor, request, 'masssend.cancel', {
      targetType: 'mass_send',
      targetId: id,
      outcome: 'success',
      detail: { from: send.status, rowsCancelled: settled.rowsCancelled, tasksCancelled: settled.tasksCancelled, failed: settled.failed },
    }),
  );
  deps.logger.info({ massSendId: id, rowsCancelled: settled.rowsCancelled, tasksCancelled: settled.tasksCancelled.length, failed: settled.failed.length }, 'mass send cancelled');
  return { ...settled, progress: await publishProgress(deps, id, { force: true }) };
}
