import { staffNames } from '../auth/names.js';
import { causeLabel, EVENTS, type Cause, type EventBus } from '../platform/events.js';
import type { Db } from '../platform/db/database.js';
import type { Logger } from '../platform/logger.js';

/**
 * A customer's timeline: what happened between the bank and the customer, each entry with what
 * caused it. Entries about a WeCom contact not yet linked to a customer keep the contact's ids and
 * join the customer's timeline when the link is made.
 */
export interface TimelineEntry {
  customerId?: string | null;
  corpId?: string | null;
  externalUserid?: string | null;
  kind: string;
  summary: string;
  detail?: Record<string, unknown>;
  cause: Cause;
  at?: Date;
}

export async function addTimeline(db: Db, entry: TimelineEntry): Promise<void> {
  let customerId = entry.customerId ?? null;
  if (!customerId && entry.corpId && entry.externalUserid) {
    const contact = await db.selectFrom('external_contacts').select('customer_id').where('corp_id', '=', entry.corpId).where('external_userid', '=', entry.externalUserid).executeTakeFirst();
    customerId = contact?.customer_id ?? null;
  }
  await db
    .insertInto('timeline_events')
    .values({
      customer_id: customerId,
      corp_id: entry.corpId ?? null,
      external_userid: entry.externalUserid ?? null,
      kind: entry.kind,
      summary: entry.summary,
      detail: JSON.stringify(entry.detail ?? {}),
      cause_type: entry.cause.type,
      cause_id: entry.cause.type === 'system' ? (entry.cause.id ?? null) : entry.cause.id,
      ...(entry.at ? { at: entry.at } : {}),
    })
    .execute();
}

/** When a contact is linked, its earlier entries become the customer's. */
export async function adoptContactTimeline(db: Db, corpId: string, externalUserid: string, customerId: string): Promise<void> {
  await db.updateTable('timeline_events').set({ customer_id: customerId }).where('corp_id', '=', corpId).where('external_userid', '=', externalUserid).where('customer_id', 'is', null).execute();
}

/** The customer's entries, and those of contacts linked to them (an entry may predate the link). */
export async function listTimeline(db: Db, customerId: string, options: { limit: number; beforeId?: string }) {
  let q = db
    .selectFrom('timeline_events as t')
    .selectAll('t')
    .where((eb) =>
      eb.or([
        eb('t.customer_id', '=', customerId),
        eb.and([
          eb('t.customer_id', 'is', null),
          eb.exists(eb.selectFrom('external_contacts as ec').select('ec.external_userid').whereRef('ec.corp_id', '=', 't.corp_id').whereRef('ec.external_userid', '=', 't.external_userid').where('ec.customer_id', '=', customerId)),
        ]),
      ]),
    )
    .orderBy('t.at', 'desc')
    .orderBy('t.id', 'desc')
    .limit(options.limit);
  if (options.beforeId) q = q.where('t.id', '<', options.beforeId);
  return q.execute();
}

const STAFF_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface CauseRef {
  corpId: string | null;
  type: string;
  id: string | null;
}

/**
 * The display names of the staff members behind `member` causes, in the order given (null for
 * other causes and unknown ids). A member cause holds a staff id when the change came through the
 * console or the sidebar, and a WeCom userid when it came from WeCom (a callback): the staff
 * account bound to that member, else the member as the directory names them.
 */
export async function memberCauseNames(db: Db, causes: readonly CauseRef[]): Promise<(string | null)[]> {
  const members = causes.filter((c) => c.type === 'member' && c.id);
  const byStaffId = await staffNames(db, members.filter((c) => STAFF_ID.test(c.id!)).map((c) => c.id));
  const userids = [...new Set(members.filter((c) => !STAFF_ID.test(c.id!)).map((c) => c.id!))];
  const [staff, directory] = userids.length
    ? await Promise.all([
        db.selectFrom('staff').select(['corp_id', 'wecom_userid as userid', 'display_name as name']).where('wecom_userid', 'in', userids).execute(),
        db.selectFrom('wecom_members').select(['corp_id', 'userid', 'name']).where('userid', 'in', userids).execute(),
      ])
    : [[], []];
  const byUserid = (corpId: string | null, userid: string) => {
    const match = (r: { corp_id: string | null; userid: string | null }) => r.userid === userid && (!corpId || r.corp_id === corpId);
    return staff.find(match)?.name ?? directory.find(match)?.name ?? null;
  };
  return causes.map((c) => {
    if (c.type !== 'member' || !c.id) return null;
    return STAFF_ID.test(c.id) ? (byStaffId.get(c.id) ?? null) : byUserid(c.corpId, c.id);
  });
}

/** A WeCom member by name (their staff account's, else the directory's), or by userid when unknown. */
const memberName = async (db: Db, corpId: string, userid: string) => (await memberCauseNames(db, [{ corpId, type: 'member', id: userid }]))[0] ?? userid;

/** Summaries of inbound messages stay short: the timeline is an overview, not the archive. */
export const summarise = (text: string, max = 40) => (text.length > max ? `${text.slice(0, max)}…` : text);

export function subscribeTimeline(events: EventBus, deps: { db: Db; logger: Logger }): void {
  const { db } = deps;
  events.on(EVENTS.contactAdded, async ({ payload: p, cause }) => {
    const way = p.state ? await db.selectFrom('wecom_contact_ways').select('name').where('corp_id', '=', p.corpId).where('state', '=', p.state).executeTakeFirst() : undefined;
    const channel = way?.name ?? p.state;
    await addTimeline(db, {
      corpId: p.corpId,
      externalUserid: p.externalUserid,
      kind: 'contact_added',
      summary: `添加了客户经理${await memberName(db, p.corpId, p.userid)}${channel ? `（渠道：${channel}）` : ''}`,
      detail: { userid: p.userid, state: p.state ?? null },
      cause,
    });
  });
  events.on(EVENTS.contactDeletedByCustomer, async ({ payload: p, cause }) => {
    await addTimeline(db, { corpId: p.corpId, externalUserid: p.externalUserid, kind: 'contact_deleted', summary: `删除了客户经理${await memberName(db, p.corpId, p.userid)}`, detail: { userid: p.userid, by: 'customer' }, cause });
  });
  events.on(EVENTS.contactDeletedByMember, async ({ payload: p, cause }) => {
    await addTimeline(db, { corpId: p.corpId, externalUserid: p.externalUserid, kind: 'contact_deleted', summary: `客户经理${await memberName(db, p.corpId, p.userid)}删除了客户${p.source === 'DELETE_BY_TRANSFER' ? '（在职继承）' : ''}`, detail: { userid: p.userid, by: 'member', source: p.source ?? null }, cause });
  });
  events.on(EVENTS.tagsChanged, async ({ payload: p, cause }) => {
    if (!p.externalUserid || (!p.added.length && !p.removed.length)) return;
    const names = await db.selectFrom('wecom_tags').select(['tag_id', 'name']).where('corp_id', '=', p.corpId).where('tag_id', 'in', [...p.added, ...p.removed]).execute();
    const name = (id: string) => names.find((n) => n.tag_id === id)?.name ?? id;
    const parts = [...p.added.map((t) => `+${name(t)}`), ...p.removed.map((t) => `-${name(t)}`)];
    await addTimeline(db, { corpId: p.corpId, externalUserid: p.externalUserid, kind: 'tags_changed', summary: `企业标签变更：${parts.join(' ')}`, detail: { added: p.added, removed: p.removed, by: causeLabel(cause) }, cause });
  });
  events.on(EVENTS.messageReceived, async ({ payload: p, cause }) => {
    if (cause.type !== 'customer') return;
    const contact = await db.selectFrom('external_contacts').select(['corp_id', 'customer_id']).where('external_userid', '=', p.from).executeTakeFirst();
    await addTimeline(db, { corpId: contact?.corp_id ?? null, externalUserid: p.from, customerId: contact?.customer_id ?? null, kind: 'message_in', summary: `发来消息：${summarise(p.text)}`, detail: { channel: p.channel }, cause });
  });
}
