import type { ApiCall, ApiRoute } from '../core.js';
import { SandboxControlError, WeComError } from '../errors.js';
import type { FollowRelation, MassSend, MassSender, ReceivingQuota } from '../types.js';
import type { World } from '../world.js';
import { customerContent } from './content.js';
import { optionalInt, optionalString, page, requireString, stringList } from './params.js';

/**
 * 企业群发 (SHAPES §8). A task is only a request: nothing reaches a customer until the member
 * confirms it in the client (control.confirmMassSend), which is when the receiving quota and the
 * relation are checked, and each recipient gets status 1 sent, 2 not a friend or 3 quota reached.
 */
const DAY_MS = 86_400_000;
const CST_MS = 8 * 3_600_000;

/** The quota period a moment falls in, on China local calendar days, weeks from Monday and months. */
export function periodOf(atMs: number, period: ReceivingQuota['period']): number {
  const day = Math.floor((atMs + CST_MS) / DAY_MS);
  if (period === 'day') return day;
  if (period === 'week') return Math.floor((day + 3) / 7); // 1970-01-01 was a Thursday
  const d = new Date(day * DAY_MS);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
}

export function quotaReached(world: World, externalUserid: string, nowMs: number): boolean {
  const { period, limit } = world.settings.receivingQuota;
  const current = periodOf(nowMs, period);
  const received = world.receivedBy(externalUserid, 'mass').filter((r) => periodOf(r.at * 1000, period) === current).length;
  return received >= limit;
}

function tagFilter(body: Record<string, unknown>): string[][] {
  const filter = body.tag_filter as { group_list?: unknown } | undefined;
  if (!filter) return [];
  if (!Array.isArray(filter.group_list)) throw new WeComError(40058, 'invalid tag_filter');
  return filter.group_list.map((g) => stringList((g as { tag_list?: unknown } | null)?.tag_list, 'tag_list', 100));
}

/** OR inside a group, AND across groups (SHAPES §8.1). */
const passes = (f: FollowRelation, groups: string[][]) => groups.every((g) => g.length === 0 || g.some((id) => f.tagIds.includes(id)));

function addMsgTemplate({ world, body, now }: ApiCall) {
  const chatType = optionalString(body.chat_type, 'chat_type') ?? 'single';
  if (chatType !== 'single' && chatType !== 'group') throw new WeComError(40058, 'invalid chat_type');
  const content = customerContent(body);
  const sender = optionalString(body.sender, 'sender') || undefined;
  if (sender && !world.member(sender)) throw new WeComError(60111);
  const failList: string[] = [];
  const targets = new Map<string, string[]>();
  const add = (userid: string, id: string) => targets.set(userid, [...(targets.get(userid) ?? []), id]);
  if (chatType === 'single') {
    const ids = [...new Set(stringList(body.external_userid, 'external_userid', 10_000))];
    const groups = tagFilter(body);
    if (!ids.length && !sender) throw new WeComError(40058, 'external_userid and sender cannot both be empty');
    const candidates = ids.length ? ids : world.followsOfUser(sender!).map((f) => f.external_userid);
    for (const id of candidates) {
      // Only the member the customer last dealt with gets the task; the newest relation stands in for that.
      const follow = sender ? world.follow(sender, id) : world.followsOf(id).at(-1);
      if (!world.contacts.has(id) || !follow) failList.push(id);
      else if (passes(follow, groups)) add(follow.userid, id);
    }
  } else {
    if (!sender) throw new WeComError(40058, 'sender is required for group sends');
    const wanted = stringList(body.chat_id_list, 'chat_id_list', 2000);
    const owned = [...world.groupChats.values()].filter((g) => g.owner === sender && !g.dismissed).sort((a, b) => a.seq - b.seq);
    for (const id of wanted) if (!owned.some((g) => g.chat_id === id)) failList.push(id);
    for (const g of owned) if (!wanted.length || wanted.includes(g.chat_id)) add(sender, g.chat_id);
  }
  if (!targets.size) throw new WeComError(41048, undefined, { fail_list: failList });
  const msg: MassSend = {
    seq: world.nextSeq('mass'), msgid: world.newMsgid(), chat_type: chatType, create_type: 0, create_time: Math.floor(now / 1000),
    ...(content.text ? { text: content.text } : {}), attachments: content.attachments, allow_select: body.allow_select === true, cancelled: false, reminders: [],
    senders: [...targets].map(([userid, ids]): MassSender => ({ userid, status: 0, targets: ids.map((id) => ({ id, status: 0 })) })),
  };
  world.massSends.set(msg.msgid, msg);
  return { fail_list: failList, msgid: msg.msgid };
}

function listLimit(value: unknown, max: number, fallback: number): number {
  const limit = optionalInt(value, 'limit') ?? fallback;
  if (limit < 1 || limit > max) throw new WeComError(40058, `limit must be 1-${max}`);
  return limit;
}

function getGroupmsgListV2({ world, body }: ApiCall) {
  const chatType = requireString(body.chat_type, 40058, 'chat_type');
  if (chatType !== 'single' && chatType !== 'group') throw new WeComError(40058, 'invalid chat_type');
  const start = optionalInt(body.start_time, 'start_time');
  const end = optionalInt(body.end_time, 'end_time');
  if (start === undefined || end === undefined) throw new WeComError(40058, 'missing start_time or end_time');
  if (end < start || end - start > 31 * 86_400) throw new WeComError(40058, 'the time range must be within one month');
  const filterType = optionalInt(body.filter_type, 'filter_type') ?? 2;
  const creator = optionalString(body.creator, 'creator');
  const limit = listLimit(body.limit, 100, 50);
  const rows = [...world.massSends.values()]
    .filter((m) => m.chat_type === chatType && m.create_time >= start && m.create_time <= end)
    .filter((m) => filterType === 2 || m.create_type === filterType)
    .filter((m) => !creator || m.creator === creator)
    .sort((a, b) => a.seq - b.seq);
  const { items, next } = page(rows, (m) => m.seq, body.cursor, limit, `groupmsg:${chatType}`);
  return {
    next_cursor: next,
    group_msg_list: items.map((m) => ({
      msgid: m.msgid, ...(m.creator ? { creator: m.creator } : {}), create_time: String(m.create_time), create_type: m.create_type,
      ...(m.text ? { text: m.text } : {}), ...(m.attachments.length ? { attachments: m.attachments } : {}),
    })),
  };
}

function task(world: World, msgid: unknown): MassSend {
  const id = requireString(msgid, 41046, 'msgid');
  const msg = world.massSends.get(id);
  if (!msg) throw new WeComError(41047);
  return msg;
}

function getGroupmsgTask({ world, body }: ApiCall) {
  const msg = task(world, body.msgid);
  const limit = listLimit(body.limit, 1000, 500);
  const rows = msg.senders.map((s, i) => ({ s, position: i + 1 }));
  const { items, next } = page(rows, (r) => r.position, body.cursor, limit, `task:${msg.msgid}`);
  // status 2 = sent, as the doc text says (its example shows 1; SHAPES §8.3).
  return { next_cursor: next, task_list: items.map(({ s }) => ({ userid: s.userid, status: s.status, ...(s.send_time ? { send_time: s.send_time } : {}) })) };
}

function getGroupmsgSendResult({ world, body }: ApiCall) {
  const msg = task(world, body.msgid);
  const userid = requireString(body.userid, 41009, 'userid');
  const limit = listLimit(body.limit, 1000, 500);
  const sender = msg.senders.find((s) => s.userid === userid);
  const rows = (sender?.targets ?? []).map((t, i) => ({ t, position: i + 1 }));
  const { items, next } = page(rows, (r) => r.position, body.cursor, limit, `result:${msg.msgid}:${userid}`);
  const idField = msg.chat_type === 'single' ? 'external_userid' : 'chat_id';
  return { next_cursor: next, send_list: items.map(({ t }) => ({ [idField]: t.id, userid, status: t.status, ...(t.send_time ? { send_time: t.send_time } : {}) })) };
}

function remindGroupmsgSend({ world, body, now }: ApiCall) {
  const msg = task(world, body.msgid);
  msg.reminders = msg.reminders.filter((at) => now - at < 86_400_000);
  // At most 3 reminders per task per 24 h; the code WeCom uses for a 4th is unconfirmed (SHAPES §8.5).
  if (msg.reminders.length >= 3) throw new WeComError(45009, 'remind groupmsg send exceeds 3 times in 24 hours');
  msg.reminders.push(now);
  return {};
}

function cancelGroupmsgSend({ world, body }: ApiCall) {
  task(world, body.msgid).cancelled = true;
  return {};
}

/** A member confirms a task in the client: deliver to each recipient, or record why not. */
export function confirmMassSend(world: World, msgid: string, userid: string | undefined, nowMs: number): MassSender[] {
  const msg = world.massSends.get(msgid);
  if (!msg) throw new SandboxControlError(`no mass send ${msgid}`, 404);
  if (msg.cancelled) throw new SandboxControlError(`mass send ${msgid} was cancelled`, 409);
  const senders = userid ? msg.senders.filter((s) => s.userid === userid) : msg.senders;
  if (userid && !senders.length) throw new SandboxControlError(`${userid} has no task in ${msgid}`, 404);
  const sec = Math.floor(nowMs / 1000);
  for (const sender of senders) {
    if (sender.status === 2) continue; // a task is sent once; confirming again delivers nothing
    sender.status = 2;
    sender.send_time = sec;
    sender.decision = 'confirmed';
    for (const target of sender.targets) {
      if (msg.chat_type === 'single') {
        if (!world.follow(sender.userid, target.id)) target.status = 2;
        else if (quotaReached(world, target.id, nowMs)) target.status = 3;
        else target.status = 1;
      } else {
        const chat = world.groupChats.get(target.id);
        target.status = chat && !chat.dismissed ? 1 : 2;
      }
      if (target.status !== 1) continue;
      target.send_time = sec;
      const content = { ...(msg.text ? { text: msg.text } : {}), attachments: msg.attachments };
      world.record({ kind: 'mass', to: target.id, from: sender.userid, at: sec, msgtype: msg.text ? 'text' : String((msg.attachments[0] as { msgtype?: string } | undefined)?.msgtype ?? 'text'), content, ref: msg.msgid });
    }
  }
  return senders;
}

/** The member saw the task and did nothing: it stays unsent (status 0). */
export function ignoreMassSend(world: World, msgid: string, userid: string | undefined): MassSender[] {
  const msg = world.massSends.get(msgid);
  if (!msg) throw new SandboxControlError(`no mass send ${msgid}`, 404);
  const senders = msg.senders.filter((s) => (!userid || s.userid === userid) && s.status === 0);
  for (const s of senders) s.decision = 'ignored';
  return senders;
}

export const massSendRoutes: ApiRoute[] = [
  { path: 'externalcontact/add_msg_template', method: 'POST', handler: addMsgTemplate, keepOnError: { fail_list: [] } },
  { path: 'externalcontact/get_groupmsg_list_v2', method: 'POST', handler: getGroupmsgListV2, keepOnError: { group_msg_list: [] } },
  { path: 'externalcontact/get_groupmsg_task', method: 'POST', handler: getGroupmsgTask, keepOnError: { task_list: [] } },
  { path: 'externalcontact/get_groupmsg_send_result', method: 'POST', handler: getGroupmsgSendResult, keepOnError: { send_list: [] } },
  { path: 'externalcontact/remind_groupmsg_send', method: 'POST', handler: remindGroupmsgSend },
  { path: 'externalcontact/cancel_groupmsg_send', method: 'POST', handler: cancelGroupmsgSend },
];
