import type { ComplianceGate } from '../compliance/index.js';
import { queueMessage, type OutboundChannel } from '../outbox/index.js';
import type { Db } from '../platform/db/database.js';
import { EVENTS, type Cause, type EventBus } from '../platform/events.js';
import type { Logger } from '../platform/logger.js';
import { getSetting } from '../settings/index.js';
import { changeCustomerTags, resolveTagNames } from '../tags/index.js';
import type { WeComGateway } from '../wecom/client/index.js';
import { detectIntents, INTENT_TAG_PREFIX, type Intent } from './intents.js';
import { activeAt, listRules, ruleMatches, takeCooldown, type Rule } from './rules.js';
import type { ReplyDecisionKind } from './schema.js';

/**
 * One reply engine for every channel. A customer's message is recorded under its channel message
 * id (answered once however often it is delivered), classified (intents → tags), and answered in
 * order: handoff topics (never answered by a machine), auto-reply rules, the knowledge base, the AI
 * assistant, and otherwise a person. Every answer goes through the compliance gate and the outbox.
 */
/** The knowledge base as the engine needs it (src/kb's KnowledgeBase through `knowledgePort`). */
export interface KnowledgePort {
  search(query: string, topK: number): Promise<{ hits: { id: string; score: number; answer: string; productIds: string[]; handoff: boolean }[]; handoff: boolean; reason?: string }>;
}

export type AssistantAnswer =
  | { kind: 'answer'; text: string; citations: string[]; auditId?: string; productIds?: string[] }
  | { kind: 'handoff'; reason: string; auditId?: string }
  | { kind: 'unavailable'; reason: string };

export interface AssistantPort {
  answerCustomer(input: { customerId?: string | null; corpId?: string | null; externalUserid?: string | null; text: string; channel: string }): Promise<AssistantAnswer>;
}

export interface ReplyDeps {
  db: Db;
  gate: ComplianceGate;
  events?: EventBus;
  gateway?: WeComGateway;
  logger: Logger;
  kb: KnowledgePort;
  assistant?: AssistantPort;
  /** Alerts a member's open sidebars and consoles at once. */
  alertMember?: (staffId: string, event: string, data: unknown) => void;
  timezone?: string;
}

export interface InboundMessage {
  channel: 'bot' | 'kf';
  /** The channel's own id for the message (kf msgid, Wechaty message id): the idempotency key. */
  messageId: string;
  corpId?: string | null;
  /** A room or a one-to-one conversation. */
  conversation: string;
  /** Who wrote: the external userid (kf) or the bot's contact id. */
  sender: string;
  externalUserid?: string | null;
  customerId?: string | null;
  memberUserid?: string | null;
  isGroup: boolean;
  /** Group messages are answered only when they @-mention the bot. */
  mentioned: boolean;
  text: string;
  receivedAt?: Date;
  /** Where the answer goes. */
  reply: { channel: OutboundChannel; recipient: string; sender?: string | null; extra?: Record<string, unknown> };
}

export interface ReplyDecision {
  decision: ReplyDecisionKind;
  logId: string;
  text?: string;
  outboxId?: string;
  reason?: string;
  intents: Intent[];
  /** False when the message had been handled before (a redelivery). */
  fresh: boolean;
}

export const HANDOFF_REPLY = '您好，您的问题需要由工作人员为您处理，已通知您的客户经理，请稍候。如遇资金被骗等紧急情况，请立即拨打110或联系银行客服。';
export const AI_LABEL = '「AI助手」';

async function resolveParties(db: Db, m: InboundMessage): Promise<{ customerId: string | null; memberUserid: string | null }> {
  let customerId = m.customerId ?? null;
  let memberUserid = m.memberUserid ?? null;
  if (m.corpId && m.externalUserid) {
    if (!customerId) customerId = (await db.selectFrom('external_contacts').select('customer_id').where('corp_id', '=', m.corpId).where('external_userid', '=', m.externalUserid).executeTakeFirst())?.customer_id ?? null;
    if (!memberUserid) {
      memberUserid =
        (await db.selectFrom('follow_relations').select('userid').where('corp_id', '=', m.corpId).where('external_userid', '=', m.externalUserid).where('deleted_at', 'is', null).orderBy('added_at', 'desc').executeTakeFirst())?.userid ?? null;
    }
  }
  return { customerId, memberUserid };
}

async function tagIntents(deps: ReplyDeps, customerId: string | null, intents: Intent[], threshold: number, cause: Cause, messageId: string): Promise<string[]> {
  const strong = intents.filter((i) => i.score >= threshold).map((i) => i.intent);
  if (!customerId || !strong.length || !deps.gateway || !deps.events) return strong;
  const ids = await resolveTagNames(deps.db, strong.map((i) => `${INTENT_TAG_PREFIX}:${i}`), { group: INTENT_TAG_PREFIX, layer: 'model', description: '从客户消息识别的意向' });
  await changeCustomerTags({ db: deps.db, gateway: deps.gateway, events: deps.events }, { customerId, add: ids, remove: [], source: 'model', cause, causeText: `message:${messageId}` });
  return strong;
}

/** How long a bot conversation stays with the person it was handed to (bots have no session state). */
export const BOT_HANDOFF_HOLD_MS = 2 * 3_600_000;

/**
 * Whether a person is serving the conversation: for customer service, WeCom's session state (2 queued,
 * 3 with a person); for bots, a handoff in the conversation within BOT_HANDOFF_HOLD_MS.
 */
async function withPerson(deps: ReplyDeps, m: InboundMessage): Promise<boolean> {
  if (m.channel === 'kf') {
    const openKfid = m.reply.extra?.open_kfid;
    if (!deps.gateway || !m.corpId || typeof openKfid !== 'string' || !m.externalUserid) return false;
    try {
      const state = await deps.gateway.client(m.corpId, 'agent').call<{ service_state: number }>('kf/service_state/get', { body: { open_kfid: openKfid, external_userid: m.externalUserid } });
      return state.service_state === 2 || state.service_state === 3;
    } catch (error) {
      deps.logger.warn({ err: error }, 'kf service state unknown; answering as the bot');
      return false;
    }
  }
  const since = new Date((m.receivedAt ?? new Date()).getTime() - BOT_HANDOFF_HOLD_MS);
  // In a group only the customer who was handed over waits for the person; the others still get answers.
  let q = deps.db.selectFrom('reply_log').select('id').where('channel', '=', m.channel).where('conversation', '=', m.conversation).where('decision', '=', 'handoff').where('received_at', '>', since);
  if (m.isGroup) q = q.where('sender', '=', m.sender);
  const recent = await q.executeTakeFirst();
  return Boolean(recent);
}

/**
 * `message.new` to the member who follows the customer (their member room: sidebar and console),
 * once per message, as it arrives and before it is answered.
 */
async function alertNewMessage(deps: ReplyDeps, m: InboundMessage, parties: { customerId: string | null; memberUserid: string | null }, logId: string, at: Date): Promise<void> {
  if (!deps.alertMember || !parties.memberUserid) return;
  let q = deps.db.selectFrom('staff').select('id').where('wecom_userid', '=', parties.memberUserid).where('active', '=', true);
  if (m.corpId) q = q.where('corp_id', '=', m.corpId);
  const staff = await q.executeTakeFirst();
  if (!staff) return;
  const contact = m.corpId && m.externalUserid
    ? await deps.db.selectFrom('external_contacts').select('name').where('corp_id', '=', m.corpId).where('external_userid', '=', m.externalUserid).executeTakeFirst()
    : undefined;
  deps.alertMember(staff.id, 'message.new', {
    logId, channel: m.channel, messageId: m.messageId, text: m.text, externalUserid: m.externalUserid ?? null, customerId: parties.customerId,
    name: contact?.name ?? null, isGroup: m.isGroup, receivedAt: at.toISOString(),
  });
}

export async function handleInbound(deps: ReplyDeps, m: InboundMessage): Promise<ReplyDecision> {
  const { db } = deps;
  const now = m.receivedAt ?? new Date();
  const intents = detectIntents(m.text);
  const parties = await resolveParties(db, m);
  const inserted = await db
    .insertInto('reply_log')
    .values({
      channel: m.channel, message_id: m.messageId, corp_id: m.corpId ?? null, conversation: m.conversation, sender: m.sender,
      customer_id: parties.customerId, external_userid: m.externalUserid ?? null, member_userid: parties.memberUserid, text: m.text,
      intents: JSON.stringify(intents), decision: 'none', reason: null, rule_id: null, kb_id: null, assistant_audit_id: null, outbox_id: null, alert_outbox_id: null, received_at: now,
    })
    .onConflict((oc) => oc.columns(['channel', 'message_id']).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) {
    const before = await db.selectFrom('reply_log').select(['id', 'decision', 'outbox_id', 'reason']).where('channel', '=', m.channel).where('message_id', '=', m.messageId).executeTakeFirstOrThrow();
    return { decision: before.decision, logId: before.id, outboxId: before.outbox_id ?? undefined, reason: before.reason ?? undefined, intents, fresh: false };
  }
  const logId = inserted.id;
  const record = async (decision: ReplyDecisionKind, fields: { reason?: string; ruleId?: string; kbId?: string; auditId?: string; outboxId?: string; alertOutboxId?: string }) => {
    await db
      .updateTable('reply_log')
      .set({ decision, reason: fields.reason ?? null, rule_id: fields.ruleId ?? null, kb_id: fields.kbId ?? null, assistant_audit_id: fields.auditId ?? null, outbox_id: fields.outboxId ?? null, alert_outbox_id: fields.alertOutboxId ?? null })
      .where('id', '=', logId)
      .execute();
  };

  if (m.isGroup && !m.mentioned) {
    await record('ignored', { reason: '群消息未@机器人' });
    return { decision: 'ignored', logId, intents, fresh: true, reason: '群消息未@机器人' };
  }

  await alertNewMessage(deps, m, parties, logId, now);

  const cause: Cause = { type: 'customer', id: m.externalUserid ?? m.sender };
  // kf messages reach the timeline and the journeys through the WeCom handler's event; other channels from here.
  if (m.channel !== 'kf') deps.events?.publish(EVENTS.messageReceived, { channel: m.channel, from: m.externalUserid ?? m.sender, text: m.text, corpId: m.corpId ?? undefined, messageId: m.messageId }, cause);
  const settings = await getSetting(db, 'replies.thresholds');
  const tagged = await tagIntents(deps, parties.customerId, intents, settings.intentThreshold, cause, m.messageId);
  deps.events?.publish(EVENTS.messageClassified, { channel: m.channel, from: m.externalUserid ?? m.sender, text: m.text, corpId: m.corpId ?? undefined, customerId: parties.customerId, intents: tagged, messageId: m.messageId }, cause);

  // An answer and the handoff that replaces a blocked answer are different messages: they get their own keys.
  const send = async (text: string, productIds: string[] = [], extra: Record<string, unknown> = {}, kind: 'answer' | 'handoff' = 'answer') =>
    queueMessage(
      { db, gate: deps.gate },
      {
        idempotencyKey: kind === 'answer' ? `reply:${m.channel}:${m.messageId}` : `reply:${m.channel}:${m.messageId}:handoff`,
        corpId: m.corpId ?? 'bot',
        channel: m.reply.channel,
        recipient: m.reply.recipient,
        sender: m.reply.sender ?? null,
        customerId: parties.customerId,
        content: { text },
        productIds,
        purpose: 'service',
        cause,
        ref: { type: 'reply', id: logId },
        extra: { ...m.reply.extra, ...extra },
        now,
      },
    );

  const handoff = async (reason: string, extra: { auditId?: string } = {}): Promise<ReplyDecision> => {
    // A customer-service session moves to the member (or the queue) once this last bot message is out.
    const answer = await send(HANDOFF_REPLY, [], m.channel === 'kf' ? { handover: { servicer_userid: parties.memberUserid } } : {}, 'handoff');
    let alertOutboxId: string | undefined;
    if (parties.memberUserid && m.corpId) {
      const alert = await queueMessage(
        { db, gate: deps.gate },
        {
          idempotencyKey: `handoff:${m.channel}:${m.messageId}`,
          corpId: m.corpId,
          channel: 'app_message',
          recipient: parties.memberUserid,
          content: { text: `【客户转人工】${reason}。客户留言：「${m.text.length > 60 ? `${m.text.slice(0, 60)}…` : m.text}」请尽快在企业微信联系客户。` },
          purpose: 'service',
          cause,
          ref: { type: 'reply', id: logId },
          now,
        },
      );
      alertOutboxId = alert.id;
      const staff = await db.selectFrom('staff').select('id').where('corp_id', '=', m.corpId).where('wecom_userid', '=', parties.memberUserid).executeTakeFirst();
      if (staff) deps.alertMember?.(staff.id, 'handoff.alert', { logId, reason, text: m.text, customerId: parties.customerId, externalUserid: m.externalUserid ?? null, channel: m.channel });
    }
    deps.events?.publish(EVENTS.handoffRequested, { channel: m.channel, corpId: m.corpId ?? undefined, customerId: parties.customerId, externalUserid: m.externalUserid ?? undefined, memberUserid: parties.memberUserid, reason, text: m.text }, cause);
    await record('handoff', { reason, outboxId: answer.id, alertOutboxId, auditId: extra.auditId });
    return { decision: 'handoff', logId, text: HANDOFF_REPLY, outboxId: answer.id, reason, intents, fresh: true };
  };

  // 0. A person has the conversation: the machine keeps out of it.
  if (await withPerson(deps, m)) {
    await record('ignored', { reason: '人工接待中' });
    return { decision: 'ignored', logId, intents, fresh: true, reason: '人工接待中' };
  }

  // 1. Handoff topics are never answered by a machine.
  const found = await deps.kb.search(m.text, 3);
  if (found.handoff) return handoff(found.reason ?? '客户问题需人工处理');

  // 2. Auto-reply rules.
  const rules: Rule[] = (await listRules(db)).filter((r) => r.enabled && (!r.channels.length || r.channels.includes(m.channel)));
  for (const rule of rules) {
    if (!activeAt(rule, now, deps.timezone) || !ruleMatches(rule, m.text, intents.map((i) => i.intent))) continue;
    if (!(await takeCooldown(db, rule, parties.customerId ?? m.sender, now))) continue;
    const queued = await send(rule.replyText);
    if (queued.status === 'blocked') return handoff(`自动回复「${rule.name}」未通过合规检查`);
    await record('rule', { ruleId: rule.id, outboxId: queued.id });
    return { decision: 'rule', logId, text: rule.replyText, outboxId: queued.id, intents, fresh: true };
  }

  // 3. The knowledge base.
  const top = found.hits[0];
  const entry = top && top.score >= settings.kbMinScore ? top : undefined;
  if (entry && !entry.handoff) {
    const queued = await send(entry.answer, entry.productIds);
    if (queued.status !== 'blocked') {
      await record('kb', { kbId: entry.id, outboxId: queued.id });
      return { decision: 'kb', logId, text: entry.answer, outboxId: queued.id, intents, fresh: true };
    }
  }

  // 4. The AI assistant (absent or unavailable: on to a person).
  if (deps.assistant) {
    const answer = await deps.assistant.answerCustomer({ customerId: parties.customerId, corpId: m.corpId, externalUserid: m.externalUserid, text: m.text, channel: m.channel });
    if (answer.kind === 'handoff') return handoff(answer.reason, { auditId: answer.auditId });
    if (answer.kind === 'answer') {
      const text = answer.text.startsWith(AI_LABEL) ? answer.text : `${AI_LABEL}${answer.text}`;
      const queued = await send(text, answer.productIds ?? []);
      if (queued.status === 'blocked') return handoff('AI 回答未通过合规检查', { auditId: answer.auditId });
      await record('ai', { auditId: answer.auditId, outboxId: queued.id });
      return { decision: 'ai', logId, text, outboxId: queued.id, intents, fresh: true };
    }
    deps.logger.info({ reason: answer.reason }, 'assistant unavailable; handing off');
  }

  // 5. Nobody could answer: a person will.
  return handoff('自动回复无法回答');
}
