import { sql } from 'kysely';
import type { Db } from '../platform/db/database.js';
import type { Actor } from '../platform/http/context.js';
import { conflict, forbidden, notFound } from '../platform/errors.js';

/**
 * An account manager's tasks: things to do about a customer, and prepared messages to send from
 * the sidebar. A send task, marked done, marks its outbox row sent (the member sent it by hand).
 */
export interface TaskView {
  id: string;
  kind: 'todo' | 'send';
  title: string;
  body: string;
  status: string;
  dueAt: Date | null;
  snoozedUntil: Date | null;
  customerId: string | null;
  customerName: string | null;
  externalUserid: string | null;
  enrollmentId: string | null;
  template: string | null;
  createdAt: Date;
}

export async function listTasks(db: Db, actor: Actor, options: { status?: 'open' | 'done' | 'all'; customerId?: string; externalUserid?: string; now?: Date; limit?: number }): Promise<TaskView[]> {
  if (!actor.wecomUserid) return [];
  const now = options.now ?? new Date();
  const status = options.status ?? 'open';
  const { rows } = await sql<{
    id: string; kind: 'todo' | 'send'; title: string; body: string; status: string; due_at: Date | null; snoozed_until: Date | null;
    customer_id: string | null; customer_name: string | null; external_userid: string | null; enrollment_id: string | null; template: string | null; created_at: Date;
  }>`
    SELECT t.id, t.kind, t.title, t.body, t.status, t.due_at, t.snoozed_until, t.customer_id, COALESCE(c.name, ec.name) AS customer_name, t.external_userid,
           t.enrollment_id, st.name AS template, t.created_at
      FROM sop_tasks t
      LEFT JOIN customers c ON c.id = t.customer_id
      LEFT JOIN external_contacts ec ON ec.corp_id = t.corp_id AND ec.external_userid = t.external_userid
      LEFT JOIN sop_enrollments e ON e.id = t.enrollment_id
      LEFT JOIN sop_templates st ON st.id = e.template_id
     WHERE t.member_userid = ${actor.wecomUserid} AND (t.corp_id = ${actor.corpId} OR t.corp_id IS NULL)
       AND (${status} = 'all'
            OR (${status} = 'open' AND (t.status = 'open' OR (t.status = 'snoozed' AND t.snoozed_until <= ${now})))
            OR (${status} = 'done' AND t.status = 'done'))
       AND (${options.customerId ?? null}::uuid IS NULL OR t.customer_id = ${options.customerId ?? null}::uuid)
       AND (${options.externalUserid ?? null}::text IS NULL OR t.external_userid = ${options.externalUserid ?? null})
     ORDER BY t.due_at NULLS LAST, t.created_at
     LIMIT ${options.limit ?? 100}`.execute(db);
  return rows.map((r) => ({
    id: r.id, kind: r.kind, title: r.title, body: r.body, status: r.status, dueAt: r.due_at, snoozedUntil: r.snoozed_until, customerId: r.customer_id,
    customerName: r.customer_name, externalUserid: r.external_userid, enrollmentId: r.enrollment_id, template: r.template, createdAt: r.created_at,
  }));
}

async function ownTask(db: Db, actor: Actor, id: string) {
  const task = await db.selectFrom('sop_tasks').selectAll().where('id', '=', id).executeTakeFirst();
  if (!task) throw notFound('task');
  if (actor.role !== 'admin' && (task.member_userid !== actor.wecomUserid || (task.corp_id && task.corp_id !== actor.corpId))) throw forbidden('不是你的任务');
  return task;
}

export async function completeTask(db: Db, actor: Actor, id: string, now = new Date()): Promise<void> {
  const task = await ownTask(db, actor, id);
  if (task.status === 'done') return;
  if (task.status === 'cancelled') throw conflict('任务已取消');
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('sop_tasks').set({ status: 'done', done_at: now, done_by: actor.id, updated_at: now }).where('id', '=', id).execute();
    if (task.kind === 'send' && task.outbox_id) {
      // The member sent the prepared text from the sidebar: the row is sent, by them.
      await trx.updateTable('outbox').set({ status: 'sent', sent_at: now, updated_at: now, delivery: 'delivered', delivered_at: now }).where('id', '=', task.outbox_id).where('status', '=', 'pending').execute();
    }
  });
}

export async function snoozeTask(db: Db, actor: Actor, id: string, until: Date, now = new Date()): Promise<void> {
  const task = await ownTask(db, actor, id);
  if (task.status === 'done' || task.status === 'cancelled') throw conflict('任务已结束，不能延后');
  if (until.getTime() <= now.getTime()) throw conflict('延后时间必须晚于现在');
  await db.updateTable('sop_tasks').set({ status: 'snoozed', snoozed_until: until, updated_at: now }).where('id', '=', id).execute();
}
