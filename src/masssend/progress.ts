import { sql } from 'kysely';
import type { Db } from '../platform/db/database.js';
import type { MassSendStatus, OutboxDelivery, OutboxStatus } from '../platform/db/schema.js';
import { loadMassSend } from './store.js';
import { CONFIRM_WINDOW_MS, PROGRESS_EVENT, type MassSendDeps } from './types.js';

/**
 * Progress is counted from the outbox rows of the send (ref mass_send/<id>), never assumed: one row
 * per recipient, its status (pending → sending → sent, or blocked / cancelled / failed / expired)
 * and, once sent, its delivery as WeCom reports it after the member confirmed (awaiting →
 * delivered / not_friend / quota_reached / unsent, or cancelled).
 */

/** Where a member stands with their task(s) in WeCom. */
export type ConfirmState =
  /** rows not yet handed to WeCom */
  | 'dispatching'
  /** the task waits for the member to confirm in the client */
  | 'awaiting'
  /** the member did not confirm within the confirmation window */
  | 'unconfirmed'
  /** the member confirmed (their customers got it, or WeCom said why not) */
  | 'confirmed'
  /** WeCom reports the task as not sent */
  | 'unsent'
  | 'cancelled'
  /** nothing of theirs could be sent (blocked, failed, expired) */
  | 'failed';

export interface MemberProgress {
  userid: string;
  name: string | null;
  total: number;
  byStatus: Partial<Record<OutboxStatus, number>>;
  byDelivery: Partial<Record<OutboxDelivery, number>>;
  msgids: string[];
  confirm: ConfirmState;
}

export interface MassSendProgress {
  id: string;
  status: MassSendStatus;
  /** Customers in the frozen member list; null until the segment's snapshot is taken. */
  audience: number | null;
  /** True once every audience member has a row or was skipped. */
  fannedOut: boolean;
  /** Outbox rows: one per customer with a live WeCom relation. */
  recipients: number;
  /** Customers without a live WeCom relation (no row); null while the fan-out runs. */
  skipped: number | null;
  byStatus: Record<OutboxStatus, number>;
  byDelivery: Record<OutboxDelivery, number>;
  /** Sent rows still awaiting a member whose confirmation window has passed. */
  unconfirmed: number;
  /** Rows whose outcome is final (sent and settled, blocked, cancelled, failed, expired). */
  settled: number;
  /** settled / recipients, in whole percent (100 when there is nothing to send after the fan-out). */
  percent: number;
  members: MemberProgress[];
}

const OUTBOX_STATUSES: OutboxStatus[] = ['pending', 'sending', 'sent', 'failed', 'expired', 'cancelled', 'blocked'];
const DELIVERIES: OutboxDelivery[] = ['awaiting', 'delivered', 'not_friend', 'quota_reached', 'unsent', 'cancelled'];
const zeros = <K extends string>(keys: K[]) => Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;

function confirmOf(m: { byStatus: Partial<Record<OutboxStatus, number>>; byDelivery: Partial<Record<OutboxDelivery, number>>; awaitingLive: number; awaitingLate: number }): ConfirmState {
  const s = (k: OutboxStatus) => m.byStatus[k] ?? 0;
  const d = (k: OutboxDelivery) => m.byDelivery[k] ?? 0;
  if (s('pending') + s('sending') > 0) return 'dispatching';
  if (m.awaitingLive > 0) return 'awaiting';
  if (m.awaitingLate > 0) return 'unconfirmed';
  if (d('delivered') + d('not_friend') + d('quota_reached') > 0) return 'confirmed';
  if (d('unsent') > 0) return 'unsent';
  if (s('cancelled') + d('cancelled') > 0) return 'cancelled';
  return 'failed';
}

export async function massSendProgress(db: Db, id: string, now = new Date()): Promise<MassSendProgress> {
  const send = await loadMassSend(db, id);
  const windowStart = new Date(now.getTime() - CONFIRM_WINDOW_MS);
  const [groups, audience] = await Promise.all([
    db
      .selectFrom('outbox')
      .select([
        'sender',
        'status',
        'delivery',
        sql<boolean>`(delivery = 'awaiting' AND sent_at < ${windowStart})`.as('late'),
        sql<number>`count(*)::int`.as('n'),
        sql<string[]>`coalesce(array_agg(DISTINCT msgid) FILTER (WHERE msgid IS NOT NULL), '{}')`.as('msgids'),
      ])
      .where('ref_type', '=', 'mass_send')
      .where('ref_id', '=', id)
      // By position: the same expression with its own parameter would not count as the selected one.
      .groupBy([sql`1`, sql`2`, sql`3`, sql`4`])
      .execute(),
    send.snapshot_id
      ? db.selectFrom('segment_snapshots').select('member_count').where('id', '=', send.snapshot_id).executeTakeFirst()
      : Promise.resolve(undefined),
  ]);

  const byStatus = zeros(OUTBOX_STATUSES);
  const byDelivery = zeros(DELIVERIES);
  const members = new Map<string, { byStatus: Partial<Record<OutboxStatus, number>>; byDelivery: Partial<Record<OutboxDelivery, number>>; msgids: Set<string>; total: number; awaitingLive: number; awaitingLate: number }>();
  let recipients = 0;
  let settled = 0;
  let unconfirmed = 0;
  for (const g of groups) {
    recipients += g.n;
    byStatus[g.status] += g.n;
    if (g.delivery) byDelivery[g.delivery] += g.n;
    const late = g.late === true;
    if (late) unconfirmed += g.n;
    const final = g.status === 'sent' ? g.delivery !== 'awaiting' || late : g.status !== 'pending' && g.status !== 'sending';
    if (final) settled += g.n;
    const key = g.sender ?? '';
    const m = members.get(key) ?? { byStatus: {}, byDelivery: {}, msgids: new Set<string>(), total: 0, awaitingLive: 0, awaitingLate: 0 };
    m.total += g.n;
    m.byStatus[g.status] = (m.byStatus[g.status] ?? 0) + g.n;
    if (g.delivery) m.byDelivery[g.delivery] = (m.byDelivery[g.delivery] ?? 0) + g.n;
    if (g.status === 'sent' && g.delivery === 'awaiting') {
      if (late) m.awaitingLate += g.n;
      else m.awaitingLive += g.n;
    }
    for (const msgid of g.msgids) m.msgids.add(msgid);
    members.set(key, m);
  }

  const names = await memberNames(db, send.corp_id, [...members.keys()].filter(Boolean));
  // The fan-out moves the send from queued to sending when it has walked the whole list; a send
  // cancelled on the way may not have reached everyone, so its skipped count is unknown.
  const fannedOut = send.status === 'sending' || send.status === 'completed';
  const audienceCount = audience?.member_count ?? null;
  const skipped = fannedOut && audienceCount !== null ? Math.max(0, audienceCount - recipients) : null;
  const percent = recipients === 0 ? (fannedOut ? 100 : 0) : Math.floor((100 * settled) / recipients);
  return {
    id,
    status: send.status,
    audience: audienceCount,
    fannedOut,
    recipients,
    skipped,
    byStatus,
    byDelivery,
    unconfirmed,
    settled,
    percent,
    members: [...members.entries()]
      .map(([userid, m]) => ({
        userid,
        name: names.get(userid) ?? null,
        total: m.total,
        byStatus: m.byStatus,
        byDelivery: m.byDelivery,
        msgids: [...m.msgids].sort(),
        confirm: confirmOf(m),
      }))
      .sort((a, b) => b.total - a.total || a.userid.localeCompare(b.userid)),
  };
}

/** Display names of members: the staff account linked to the userid, else the synced WeCom directory. */
export async function memberNames(db: Db, corpId: string, userids: string[]): Promise<Map<string, string>> {
  if (!userids.length) return new Map();
  const [staff, directory] = await Promise.all([
    db.selectFrom('staff').select(['wecom_userid', 'display_name']).where('corp_id', '=', corpId).where('wecom_userid', 'in', userids).execute(),
    db.selectFrom('wecom_members').select(['userid', 'name']).where('corp_id', '=', corpId).where('userid', 'in', userids).execute(),
  ]);
  const names = new Map(directory.map((d) => [d.userid, d.name]));
  for (const s of staff) if (s.wecom_userid) names.set(s.wecom_userid, s.display_name);
  return names;
}

/** Whether a sending send is done: nothing left to dispatch and every sent row final or out of its window. */
export const isComplete = (p: MassSendProgress) => p.fannedOut && p.settled === p.recipients;

/**
 * Emits `masssend.progress` to the console room. Unchanged progress is not emitted again by the
 * same deps (the periodic watch polls every active send), unless `force`.
 */
const lastSent = new WeakMap<MassSendDeps, Map<string, string>>();

export async function publishProgress(deps: MassSendDeps, id: string, options: { force?: boolean; progress?: MassSendProgress } = {}): Promise<MassSendProgress> {
  const progress = options.progress ?? (await massSendProgress(deps.db, id, deps.now?.()));
  let seen = lastSent.get(deps);
  if (!seen) lastSent.set(deps, (seen = new Map()));
  const { members, ...totals } = progress;
  const fingerprint = JSON.stringify([totals, members.map((m) => [m.userid, m.byStatus, m.byDelivery, m.confirm])]);
  if (options.force || seen.get(id) !== fingerprint) {
    deps.realtime.toConsole(PROGRESS_EVENT, progress);
    seen.set(id, fingerprint);
  }
  if (progress.status === 'completed' || progress.status === 'failed') seen.delete(id);
  return progress;
}
