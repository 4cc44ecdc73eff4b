import { sql, type Expression, type SqlBool } from 'kysely';
import { can, customerScope } from '../auth/index.js';
import { mask } from '../platform/crypto.js';
import type { Db } from '../platform/db/database.js';
import type { MassSendStatus, OutboxDelivery, OutboxStatus } from '../platform/db/schema.js';
import type { Actor } from '../platform/http/context.js';
import { memberNames } from './progress.js';
import { loadMassSend } from './store.js';
import { asDate, CONFIRM_WINDOW_MS } from './types.js';

/**
 * Per-customer results: every customer of the send's frozen list, with the row written for them (if
 * any) and one outcome in words. Customers without a row had no live WeCom relation when the
 * fan-out reached them (skipped), or have not been reached yet.
 */
export const RECIPIENT_RESULTS = [
  'skipped', 'not_queued', 'pending', 'awaiting', 'unconfirmed', 'delivered', 'not_friend', 'quota_reached', 'unsent', 'cancelled', 'blocked', 'failed', 'expired',
] as const;
export type RecipientResult = (typeof RECIPIENT_RESULTS)[number];

export interface RecipientItem {
  customerId: string;
  cifNo: string;
  /** Masked (王*明) unless the role may reveal customer records. */
  name: string;
  member: { userid: string; name: string | null } | null;
  status: OutboxStatus | null;
  delivery: OutboxDelivery | null;
  result: RecipientResult;
  reason: string;
  sentAt: Date | null;
  deliveredAt: Date | null;
}

const FIXED_REASONS: Partial<Record<RecipientResult, string>> = {
  skipped: '无企微好友关系',
  pending: '等待下发到企业微信',
  awaiting: '等待成员确认发送',
  unconfirmed: '成员超过3天未确认发送',
  delivered: '已送达',
  not_friend: '客户已不是该成员的好友',
  quota_reached: '客户接收群发消息的次数已达上限',
  unsent: '成员未发送',
  cancelled: '群发已取消',
  expired: '已过期，未发送',
};

function reasonOf(result: RecipientResult, sendStatus: MassSendStatus, lastError: string | null): string {
  if (result === 'not_queued') return sendStatus === 'cancelled' ? '群发已取消，未生成消息' : sendStatus === 'scheduled' ? '群发尚未开始' : '排队中，尚未生成消息';
  if (result === 'blocked') return lastError ? `合规拦截：${lastError}` : '合规检查未通过';
  if (result === 'failed') return lastError ? `发送失败：${lastError}` : '发送失败';
  return FIXED_REASONS[result]!;
}

export async function massSendRecipients(
  db: Db,
  actor: Actor,
  id: string,
  q: { result?: RecipientResult; member?: string; limit: number; offset: number },
  now = new Date(),
): Promise<{ total: number; items: RecipientItem[] }> {
  const send = await loadMassSend(db, id);
  if (!send.snapshot_id) return { total: 0, items: [] };
  const fannedOut = send.status === 'sending' || send.status === 'completed';
  const windowStart = new Date(now.getTime() - CONFIRM_WINDOW_MS);
  const liveRelation = sql<boolean>`EXISTS (SELECT 1 FROM external_contacts ec JOIN follow_relations fr
    ON fr.corp_id = ec.corp_id AND fr.external_userid = ec.external_userid AND fr.deleted_at IS NULL
    WHERE ec.corp_id = ${send.corp_id} AND ec.customer_id = sm.customer_id)`;
  const result = sql<RecipientResult>`CASE
    WHEN o.id IS NULL THEN CASE WHEN ${fannedOut} OR NOT ${liveRelation} THEN 'skipped' ELSE 'not_queued' END
    WHEN o.status IN ('pending', 'sending') THEN 'pending'
    WHEN o.status = 'sent' AND o.delivery = 'awaiting' AND o.sent_at < ${windowStart} THEN 'unconfirmed'
    WHEN o.status = 'sent' THEN coalesce(o.delivery, 'awaiting')
    ELSE o.status END`;

  const base = db
    .selectFrom('segment_snapshot_members as sm')
    .innerJoin('customers', 'customers.id', 'sm.customer_id')
    .leftJoin('outbox as o', (join) => join.on('o.ref_type', '=', 'mass_send').on('o.ref_id', '=', id).onRef('o.customer_id', '=', 'sm.customer_id'))
    .where('sm.snapshot_id', '=', send.snapshot_id)
    .where((eb) => customerScope(actor)(eb as never) as Expression<SqlBool>)
    .$if(q.member !== undefined, (qb) => qb.where('o.sender', '=', q.member!))
    .$if(q.result !== undefined, (qb) => qb.where(sql<SqlBool>`(${result}) = ${q.result!}`));

  const [rows, total] = await Promise.all([
    base
      .select([
        'customers.id', 'customers.cif_no', 'customers.name',
        'o.sender', 'o.status', 'o.delivery', 'o.last_error', 'o.sent_at', 'o.delivered_at',
        result.as('result'),
      ])
      .orderBy('customers.cif_no')
      .limit(q.limit)
      .offset(q.offset)
      .execute(),
    base.select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow(),
  ]);
  const names = await memberNames(db, send.corp_id, [...new Set(rows.map((r) => r.sender).filter((s): s is string => !!s))]);
  const full = can(actor.role, 'customers.reveal');
  return {
    total: total.n,
    items: rows.map((r) => ({
      customerId: r.id,
      cifNo: r.cif_no,
      name: full ? r.name : mask.name(r.name),
      member: r.sender ? { userid: r.sender, name: names.get(r.sender) ?? null } : null,
      status: r.status,
      delivery: r.delivery,
      result: r.result,
      reason: reasonOf(r.result, send.status, r.last_error),
      sentAt: r.sent_at ? asDate(r.sent_at) : null,
      deliveredAt: r.delivered_at ? asDate(r.delivered_at) : null,
    })),
  };
}
