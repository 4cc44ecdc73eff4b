import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../platform/db/database.js';
import { DASHBOARD_TIMEZONE as TZ, type DayRange } from './range.js';
import type { MemberScope } from './scope.js';

/**
 * The dashboard's numbers, each one statement over a time-column range (indexes of migration 0020), grouped
 * by calendar day in the bank's time zone and filled into one value per day of the range. Definitions are in
 * README.md; the tests hold every number to planted rows.
 */

/** The first instant of the range and the first instant after it. */
const start = (r: DayRange) => sql`(${r.from}::date::timestamp AT TIME ZONE ${TZ})`;
const end = (r: DayRange) => sql`((${r.to}::date + 1)::timestamp AT TIME ZONE ${TZ})`;
const dayOf = (column: string) => sql`to_char((${sql.ref(column)} AT TIME ZONE ${TZ})::date, 'YYYY-MM-DD')`;
const inRange = (column: string, r: DayRange) => sql`${sql.ref(column)} >= ${start(r)} AND ${sql.ref(column)} < ${end(r)}`;

/** One number per day of the range, from rows of (day, value). */
function series<T extends { day: string }>(r: DayRange, rows: readonly T[], value: (row: T) => number): number[] {
  const index = new Map(r.days.map((d, i) => [d, i]));
  const out = new Array<number>(r.days.length).fill(0);
  for (const row of rows) {
    const i = index.get(row.day);
    if (i !== undefined) out[i]! += value(row);
  }
  return out;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

async function rows<T>(db: Db, query: RawBuilder<T>): Promise<T[]> {
  return (await query.execute(db)).rows;
}

export interface ChannelSeries {
  /** The relation's `state` (a channel QR code or business card); null for contacts added without one. */
  state: string | null;
  name: string;
  added: number[];
  lost: number[];
  addedTotal: number;
  lostTotal: number;
}

export interface ContactsReport {
  from: string;
  to: string;
  days: string[];
  added: number[];
  lost: number[];
  /** lost, split by who ended the relation. */
  lostByCustomer: number[];
  lostByMember: number[];
  channels: ChannelSeries[];
  totals: { added: number; lost: number; net: number };
}

const NO_CHANNEL = '未标记渠道';

/** Relations added and lost per day, in total and per channel (state). */
export async function contactsReport(db: Db, r: DayRange, scope: MemberScope): Promise<ContactsReport> {
  const [added, lost] = await Promise.all([
    rows(db, sql<{ day: string; state: string | null; n: number }>`
      SELECT ${dayOf('fr.added_at')} AS day, fr.state, count(*)::int AS n
        FROM follow_relations fr
       WHERE ${inRange('fr.added_at', r)} AND ${scope('fr.corp_id', 'fr.userid')}
       GROUP BY 1, 2`),
    rows(db, sql<{ day: string; state: string | null; by: string | null; n: number }>`
      SELECT ${dayOf('fr.deleted_at')} AS day, fr.state, fr.deleted_by AS by, count(*)::int AS n
        FROM follow_relations fr
       WHERE fr.deleted_at IS NOT NULL AND ${inRange('fr.deleted_at', r)} AND fr.deleted_by IS DISTINCT FROM 'transfer'
         AND ${scope('fr.corp_id', 'fr.userid')}
       GROUP BY 1, 2, 3`),
  ]);
  const states = [...new Set([...added, ...lost].map((x) => x.state))];
  const named = states.filter((s): s is string => s !== null);
  // A channel's name is its contact way's (a live one first); a state without one shows as itself.
  const ways = named.length
    ? await rows(db, sql<{ state: string; name: string }>`
        SELECT DISTINCT ON (state) state, name FROM wecom_contact_ways
         WHERE state = ANY(${named}::text[]) ORDER BY state, (deleted_at IS NULL) DESC, updated_at DESC`)
    : [];
  const nameOf = new Map(ways.map((w) => [w.state, w.name]));
  const channels = states.map((state): ChannelSeries => {
    const a = series(r, added.filter((x) => x.state === state), (x) => x.n);
    const l = series(r, lost.filter((x) => x.state === state), (x) => x.n);
    return { state, name: state === null ? NO_CHANNEL : nameOf.get(state) ?? state, added: a, lost: l, addedTotal: sum(a), lostTotal: sum(l) };
  }).sort((x, y) => y.addedTotal - x.addedTotal || y.lostTotal - x.lostTotal || x.name.localeCompare(y.name, 'zh-CN'));
  const addedSeries = series(r, added, (x) => x.n);
  const lostSeries = series(r, lost, (x) => x.n);
  return {
    from: r.from, to: r.to, days: r.days,
    added: addedSeries,
    lost: lostSeries,
    lostByCustomer: series(r, lost.filter((x) => x.by === 'customer'), (x) => x.n),
    lostByMember: series(r, lost.filter((x) => x.by === 'member'), (x) => x.n),
    channels,
    totals: { added: sum(addedSeries), lost: sum(lostSeries), net: sum(addedSeries) - sum(lostSeries) },
  };
}

export interface SopReport {
  from: string;
  to: string;
  days: string[];
  enrollments: number[];
  /** SOP messages to customers queued per day, and how many of them are sent / failed now. */
  messages: number[];
  sent: number[];
  failed: number[];
  templates: { templateId: string; name: string; enrollments: number; messages: number; sent: number }[];
  totals: { enrollments: number; messages: number; sent: number; failed: number };
}

const FAILED = ['failed', 'blocked', 'expired', 'cancelled'];

/** Enrollments started and SOP messages queued per day, and both per template. */
export async function sopReport(db: Db, r: DayRange, scope: MemberScope): Promise<SopReport> {
  const [enrolled, messages] = await Promise.all([
    rows(db, sql<{ day: string; template_id: string; n: number }>`
      SELECT ${dayOf('e.started_at')} AS day, e.template_id, count(*)::int AS n
        FROM sop_enrollments e
       WHERE ${inRange('e.started_at', r)} AND ${scope('e.corp_id', 'e.member_userid')}
       GROUP BY 1, 2`),
    rows(db, sql<{ day: string; template_id: string | null; n: number; sent: number; failed: number }>`
      SELECT ${dayOf('o.created_at')} AS day, o.cause_id AS template_id, count(*)::int AS n,
             count(*) FILTER (WHERE o.status = 'sent')::int AS sent,
             count(*) FILTER (WHERE o.status = ANY(${FAILED}::text[]))::int AS failed
        FROM outbox o
       WHERE o.cause_type = 'sop' AND o.channel <> 'app_message' AND ${inRange('o.created_at', r)}
         AND ${scope('o.corp_id', 'o.sender')}
       GROUP BY 1, 2`),
  ]);
  const ids = [...new Set([...enrolled.map((x) => x.template_id), ...messages.map((x) => x.template_id)].filter((x): x is string => x !== null))];
  const uuids = ids.filter((id) => /^[0-9a-f-]{36}$/i.test(id));
  const names = uuids.length
    ? new Map((await rows(db, sql<{ id: string; name: string }>`SELECT id::text AS id, name FROM sop_templates WHERE id = ANY(${uuids}::uuid[])`)).map((t) => [t.id, t.name]))
    : new Map<string, string>();
  const templates = ids.map((templateId) => {
    const mine = messages.filter((x) => x.template_id === templateId);
    return {
      templateId, name: names.get(templateId) ?? templateId,
      enrollments: sum(enrolled.filter((x) => x.template_id === templateId).map((x) => x.n)),
      messages: sum(mine.map((x) => x.n)), sent: sum(mine.map((x) => x.sent)),
    };
  }).sort((a, b) => b.enrollments - a.enrollments || b.messages - a.messages || a.name.localeCompare(b.name, 'zh-CN'));
  const e = series(r, enrolled, (x) => x.n);
  const m = series(r, messages, (x) => x.n);
  const s = series(r, messages, (x) => x.sent);
  const f = series(r, messages, (x) => x.failed);
  return {
    from: r.from, to: r.to, days: r.days, enrollments: e, messages: m, sent: s, failed: f, templates,
    totals: { enrollments: sum(e), messages: sum(m), sent: sum(s), failed: sum(f) },
  };
}

export interface ConversationsReport {
  from: string;
  to: string;
  days: string[];
  /** Customer messages the reply engine recorded (customer service and bots). */
  messages: number[];
  /** Answered by a machine: an auto-reply rule, the knowledge base or the AI assistant. */
  autoReplied: number[];
  handoffs: number[];
  decisions: Record<'rule' | 'kb' | 'ai' | 'handoff' | 'ignored' | 'none', number>;
  handoffReasons: { reason: string; count: number }[];
  totals: { messages: number; autoReplied: number; handoffs: number };
}

/** Customer messages, machine answers and handoffs per day (reply_log), with the handoffs' reasons. */
export async function conversationsReport(db: Db, r: DayRange, scope: MemberScope): Promise<ConversationsReport> {
  const [byDay, reasons] = await Promise.all([
    rows(db, sql<{ day: string; decision: keyof ConversationsReport['decisions']; n: number }>`
      SELECT ${dayOf('l.received_at')} AS day, l.decision, count(*)::int AS n
        FROM reply_log l
       WHERE ${inRange('l.received_at', r)} AND ${scope('l.corp_id', 'l.member_userid')}
       GROUP BY 1, 2`),
    rows(db, sql<{ reason: string; n: number }>`
      SELECT coalesce(l.reason, '未注明') AS reason, count(*)::int AS n
        FROM reply_log l
       WHERE l.decision = 'handoff' AND ${inRange('l.received_at', r)} AND ${scope('l.corp_id', 'l.member_userid')}
       GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10`),
  ]);
  const decisions = { rule: 0, kb: 0, ai: 0, handoff: 0, ignored: 0, none: 0 };
  for (const x of byDay) decisions[x.decision] += x.n;
  const messages = series(r, byDay, (x) => x.n);
  const autoReplied = series(r, byDay, (x) => (x.decision === 'rule' || x.decision === 'kb' || x.decision === 'ai' ? x.n : 0));
  const handoffs = series(r, byDay, (x) => (x.decision === 'handoff' ? x.n : 0));
  return {
    from: r.from, to: r.to, days: r.days, messages, autoReplied, handoffs, decisions,
    handoffReasons: reasons.map((x) => ({ reason: x.reason, count: x.n })),
    totals: { messages: sum(messages), autoReplied: sum(autoReplied), handoffs: sum(handoffs) },
  };
}

export interface FunnelStage {
  key: 'added' | 'replied' | 'bound' | 'bought';
  label: string;
  count: number;
}

export interface FunnelReport {
  from: string;
  to: string;
  stages: FunnelStage[];
}

/**
 * The cohort of contacts who added a member in the range, and how far each got: replied (a message from
 * them on the timeline from their first add in the range to the end of the range), then bound (linked to a
 * bank customer now), then bought (that customer holds a product now). Each stage is within the one before.
 */
export async function funnelReport(db: Db, r: DayRange, scope: MemberScope): Promise<FunnelReport> {
  const [row] = await rows(db, sql<{ added: number; replied: number; bound: number; bought: number }>`
    WITH cohort AS (
      SELECT fr.corp_id, fr.external_userid, min(fr.added_at) AS added_at
        FROM follow_relations fr
       WHERE ${inRange('fr.added_at', r)} AND ${scope('fr.corp_id', 'fr.userid')}
       GROUP BY 1, 2
    ), linked AS (
      -- A primary-key probe per cohort contact: the work follows the cohort, not the size of the contact table.
      SELECT c.*, (SELECT ec.customer_id FROM external_contacts ec
                    WHERE ec.corp_id = c.corp_id AND ec.external_userid = c.external_userid) AS customer_id
        FROM cohort c
    ), staged AS (
      SELECT EXISTS (
               SELECT 1 FROM timeline_events t
                WHERE t.kind = 'message_in' AND t.corp_id = l.corp_id AND t.external_userid = l.external_userid
                  AND t.at >= l.added_at AND t.at < ${end(r)}) AS replied,
             l.customer_id IS NOT NULL AS bound,
             EXISTS (SELECT 1 FROM customers cu WHERE cu.id = l.customer_id AND cardinality(cu.products) > 0) AS bought
        FROM linked l
    )
    SELECT count(*)::int AS added,
           count(*) FILTER (WHERE replied)::int AS replied,
           count(*) FILTER (WHERE replied AND bound)::int AS bound,
           count(*) FILTER (WHERE replied AND bound AND bought)::int AS bought
      FROM staged`);
  const n = row ?? { added: 0, replied: 0, bound: 0, bought: 0 };
  return {
    from: r.from, to: r.to,
    stages: [
      { key: 'added', label: '添加企微', count: n.added },
      { key: 'replied', label: '有回复', count: n.replied },
      { key: 'bound', label: '已绑定客户', count: n.bound },
      { key: 'bought', label: '已购产品', count: n.bought },
    ],
  };
}
