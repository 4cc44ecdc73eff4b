import { NotSendableError, type Resolution, type Sender } from './senders.js';

/**
 * App messages to members (message/send, SHAPES §11): recipient = the member's userid; rows with the
 * same group key and content share one call (touser "u1|u2", at most 1000). The payload is text
 * (`text`), or any message type WeCom knows when the row carries `msgtype` and that type's body
 * (extra: { msgtype: 'textcard', textcard: {...} }).
 *
 * Exactly once without a way to look the message up: every call asks WeCom to drop a duplicate of the
 * same content to the same member within `duplicateCheckSeconds` (enable_duplicate_check). An in-doubt
 * batch is therefore sent again while its first attempt is inside that window (a copy that already
 * arrived is dropped by WeCom), and failed as 'not resent' after it, rather than risk a duplicate.
 * The price: the same text to the same member twice within the window arrives once, which for staff
 * notifications is the behaviour wanted anyway.
 */
export interface AppSenderOptions {
  /** WeCom's duplicate_check_interval, in seconds (at most 4 hours; WeCom's default 1800). */
  duplicateCheckSeconds?: number;
  /** How long before the window closes a resend is no longer started (covers the resend's own lease). */
  resendMarginMs?: number;
}

function messageBody(payload: Record<string, unknown>): Record<string, unknown> {
  const msgtype = payload.msgtype;
  if (typeof msgtype === 'string' && payload[msgtype] && typeof payload[msgtype] === 'object') return { msgtype, [msgtype]: payload[msgtype] };
  return { msgtype: 'text', text: { content: typeof payload.text === 'string' ? payload.text : '' } };
}

export function appMessageSender(options: AppSenderOptions = {}): Sender {
  const windowS = Math.min(4 * 3600, Math.max(1, options.duplicateCheckSeconds ?? 1800));
  const marginMs = options.resendMarginMs ?? 120_000;
  return {
    channel: 'app_message',
    api: 'message/send',
    secret: 'agent',
    maxRecipients: 1000,
    customerFacing: false,
    receivingQuota: false,
    perRecipientRate: true,
    async send(batch, ctx) {
      if (ctx.corp.agentId === null) throw new NotSendableError(`企业 ${batch.corpId} 未配置应用 AgentId，无法发送应用消息`);
      const body = {
        touser: batch.rows.map((r) => r.recipient).join('|'),
        agentid: ctx.corp.agentId,
        ...messageBody(batch.rows[0]!.payload),
        enable_duplicate_check: 1,
        duplicate_check_interval: windowS,
      };
      const answer = await ctx.gateway
        .client(batch.corpId, 'agent')
        .call<{ msgid?: string; invaliduser?: string }>('message/send', { body, idempotent: false, notAfter: ctx.notAfter });
      const invalid = new Set((answer.invaliduser ?? '').split('|').filter(Boolean));
      const rejected = new Map<string, { errcode: number; reason: string }>();
      for (const r of batch.rows) if (invalid.has(r.recipient.toLowerCase())) rejected.set(r.recipient, { errcode: 81013, reason: '成员无效或不在应用的可见范围内' });
      return { msgid: answer.msgid ?? null, rejected };
    },
    async resolve(batches, ctx) {
      const out = new Map<string, Resolution>();
      for (const b of batches) {
        const open = ctx.now.getTime() - b.claimedAt.getTime() < windowS * 1000 - marginMs;
        out.set(b.id, open ? { kind: 'resend' } : { kind: 'abandoned', reason: '发送结果不明，且已超出企业微信去重时间窗，为避免重复未重发' });
      }
      return out;
    },
  };
}
