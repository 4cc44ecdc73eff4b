import type { WeComClient } from '../wecom/client/index.js';
import { contentOf, type Batch, type Resolution, type ResolveContext, type Sender } from './senders.js';

/**
 * 企业群发 (SHAPES §8): add_msg_template to customers (chat_type single, one external_userid per row,
 * up to 10,000 per call) or to customer groups (chat_type group, one chat_id per row, sender = the
 * owner). The call creates a task the member confirms in WeCom; delivery is synced later.
 *
 * An in-doubt call is looked up in WeCom before anything is sent again: the corp's mass sends
 * created since the batch was claimed (get_groupmsg_list_v2, filter_type 0), those with the same
 * content and not yet recorded for another batch, whose task for the batch's sender targets only
 * the batch's recipients (get_groupmsg_task, get_groupmsg_send_result).
 */
const LIST_SPAN_S = 30 * 86_400; // WeCom lists at most one month at a time
const CLOCK_SLACK_S = 300;

interface Listed {
  msgid: string;
  create_time: string | number;
  text?: { content?: string };
  attachments?: { msgtype?: string }[];
}

/** Text and attachment types: WeCom may echo attachment bodies normalised, the types it keeps. */
const signature = (text: string, attachments: unknown[]) => JSON.stringify([text, attachments.map((a) => (a as { msgtype?: string } | null)?.msgtype ?? '')]);

async function listMassSends(client: WeComClient, chatType: 'single' | 'group', start: number, end: number): Promise<Listed[]> {
  const out: Listed[] = [];
  let cursor = '';
  do {
    const page = await client.call<{ group_msg_list?: Listed[]; next_cursor?: string }>('externalcontact/get_groupmsg_list_v2', {
      body: { chat_type: chatType, filter_type: 0, start_time: start, end_time: end, limit: 100, cursor },
    });
    out.push(...(page.group_msg_list ?? []));
    cursor = page.next_cursor ?? '';
  } while (cursor);
  return out;
}

async function taskSenders(client: WeComClient, msgid: string): Promise<string[]> {
  const senders: string[] = [];
  let cursor = '';
  do {
    const page = await client.call<{ task_list?: { userid: string }[]; next_cursor?: string }>('externalcontact/get_groupmsg_task', { body: { msgid, limit: 1000, cursor } });
    senders.push(...(page.task_list ?? []).map((t) => t.userid));
    cursor = page.next_cursor ?? '';
  } while (cursor);
  return senders;
}

/** Every target (external_userid, or chat_id for group sends) of one sender's part of a task. */
export async function sendResults(client: WeComClient, msgid: string, userid: string): Promise<{ id: string; status: number; send_time?: number }[]> {
  const out: { id: string; status: number; send_time?: number }[] = [];
  let cursor = '';
  do {
    const page = await client.call<{ send_list?: { external_userid?: string; chat_id?: string; status: number; send_time?: number }[]; next_cursor?: string }>(
      'externalcontact/get_groupmsg_send_result',
      { body: { msgid, userid, limit: 1000, cursor } },
    );
    for (const r of page.send_list ?? []) out.push({ id: r.external_userid ?? r.chat_id ?? '', status: r.status, ...(r.send_time ? { send_time: r.send_time } : {}) });
    cursor = page.next_cursor ?? '';
  } while (cursor);
  return out;
}

async function resolveMass(chatType: 'single' | 'group', batches: Batch[], ctx: ResolveContext): Promise<Map<string, Resolution>> {
  const decided = new Map<string, Resolution>();
  const client = ctx.gateway.client(ctx.corp.corpId, 'contact');
  const end = Math.floor(ctx.now.getTime() / 1000) + CLOCK_SLACK_S;
  const since = (b: Batch) => Math.floor(b.claimedAt.getTime() / 1000) - CLOCK_SLACK_S;
  const open: Batch[] = [];
  for (const b of batches) {
    if (since(b) < end - LIST_SPAN_S) decided.set(b.id, { kind: 'abandoned', reason: '发送结果不明，且已超出企业微信可查询的一个月范围，为避免重复未重发' });
    else open.push(b);
  }
  if (!open.length) return decided;
  try {
    const listed = await listMassSends(client, chatType, Math.min(...open.map(since)), end);
    const known = await ctx.knownMsgids(listed.map((m) => m.msgid));
    const recipients = new Map(open.map((b) => [b.id, new Set(b.rows.map((r) => r.recipient))]));
    const signatures = new Map(open.map((b) => [b.id, signature(contentOf(b).text, contentOf(b).attachments)]));
    const targetsCache = new Map<string, { id: string; status: number }[]>();
    for (const m of listed) {
      if (known.has(m.msgid)) continue;
      const created = Number(m.create_time);
      const sig = signature(m.text?.content ?? '', m.attachments ?? []);
      const matching = open.filter((b) => !decided.has(b.id) && signatures.get(b.id) === sig && created >= since(b));
      if (!matching.length) continue;
      const senders = await taskSenders(client, m.msgid);
      match: for (const b of matching) {
        for (const userid of b.sender ? senders.filter((s) => s === b.sender) : senders) {
          const key = `${m.msgid}\u0000${userid}`;
          let targets = targetsCache.get(key);
          if (!targets) targetsCache.set(key, (targets = await sendResults(client, m.msgid, userid)));
          const mine = recipients.get(b.id)!;
          if (targets.length && targets.every((t) => mine.has(t.id))) {
            decided.set(b.id, { kind: 'found', msgid: m.msgid, targets: new Set(targets.map((t) => t.id)), sentAt: Number.isFinite(created) ? new Date(created * 1000) : null });
            break match;
          }
        }
      }
    }
  } catch (error) {
    // Nothing may be released on a partial look: every batch not found yet is asked again later.
    for (const b of open) if (!decided.has(b.id)) decided.set(b.id, { kind: 'undecided', reason: (error as Error).message });
    return decided;
  }
  for (const b of open) if (!decided.has(b.id)) decided.set(b.id, { kind: 'released', reason: '发送结果不明，企业微信中没有这次群发，重新排队' });
  return decided;
}

const REJECTED = { errcode: 84061, reason: '企业微信未接收：客户无效或与发送成员没有好友关系' };

function massSender(chatType: 'single' | 'group'): Sender {
  return {
    channel: chatType === 'single' ? 'mass_single' : 'mass_group',
    api: 'externalcontact/add_msg_template',
    secret: 'contact',
    maxRecipients: chatType === 'single' ? 10_000 : 2_000,
    customerFacing: true,
    receivingQuota: chatType === 'single',
    perRecipientRate: false,
    async send(batch, ctx) {
      const { text, attachments } = contentOf(batch);
      const recipients = batch.rows.map((r) => r.recipient);
      const body = {
        chat_type: chatType,
        ...(chatType === 'single' ? { external_userid: recipients, allow_select: false } : { chat_id_list: recipients }),
        ...(batch.sender ? { sender: batch.sender } : {}),
        ...(text ? { text: { content: text } } : {}),
        attachments,
      };
      const answer = await ctx.gateway
        .client(batch.corpId, 'contact')
        .call<{ msgid: string; fail_list?: string[] }>('externalcontact/add_msg_template', { body, idempotent: false, notAfter: ctx.notAfter });
      return { msgid: answer.msgid, rejected: new Map((answer.fail_list ?? []).map((id) => [id, REJECTED])) };
    },
    resolve: (batches, ctx) => resolveMass(chatType, batches, ctx),
  };
}

export const massSingleSender = massSender('single');
export const massGroupSender = massSender('group');
