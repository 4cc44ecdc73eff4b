import type { Resolution, Sender } from '../outbox/index.js';
import { WeComApiError, type WeComGateway } from '../wecom/client/index.js';
import type { Logger } from '../platform/logger.js';

/**
 * WeChat customer service (微信客服) replies: kf/send_msg, one row per call (recipient = the
 * customer's external_userid, payload.open_kfid). The row id, without dashes, is the call's msgid:
 * WeCom refuses a second message with the same msgid on the account, so an in-doubt call is simply
 * sent again and a "duplicate msgid" answer means the first one landed.
 *
 * WeCom's rules (REFERENCE §6): a message may go only while the session is new (0) or with the bot
 * (1), within 48 hours of the customer's last message, at most 5 times until the customer writes
 * again. Refusals (95018 session state, 95001 five messages, 95002 48 hours) are final for the row.
 * A row whose payload carries `handover` moves the session to a person after the message went out:
 * to the member (state 3) when they are on duty, else to the queue (state 2).
 */
export const KF_REFUSALS: Record<number, string> = {
  95018: '会话已由人工接待或已结束，不能再由接口发送',
  95001: '客户最近一次发言后已发送5条消息，需等待客户再次发言',
  95002: '距客户最后一次发言已超过48小时',
};

const DUPLICATE_MSGID = 40058;

export const kfMsgid = (rowId: string) => rowId.replaceAll('-', '').slice(0, 32);

export async function handOverSession(gateway: WeComGateway, corpId: string, openKfid: string, externalUserid: string, servicerUserid: string | null, logger: Logger): Promise<number> {
  const client = gateway.client(corpId, 'agent');
  if (servicerUserid) {
    try {
      await client.call('kf/service_state/trans', { body: { open_kfid: openKfid, external_userid: externalUserid, service_state: 3, servicer_userid: servicerUserid } });
      return 3;
    } catch (error) {
      logger.warn({ err: error, corpId, openKfid }, 'kf handover to the member failed; queueing the session');
    }
  }
  await client.call('kf/service_state/trans', { body: { open_kfid: openKfid, external_userid: externalUserid, service_state: 2 } });
  return 2;
}

export function kfSender(logger: Logger): Sender {
  return {
    channel: 'kf',
    api: 'kf/send_msg',
    secret: 'agent',
    maxRecipients: 1,
    customerFacing: false,
    receivingQuota: false,
    perRecipientRate: false,
    ordered: true,
    async send(batch, ctx) {
      const row = batch.rows[0]!;
      const openKfid = String(row.payload.open_kfid ?? '');
      const msgid = kfMsgid(row.id);
      const rejected = new Map<string, { errcode: number; reason: string }>();
      try {
        await ctx.gateway.client(batch.corpId, 'agent').call('kf/send_msg', {
          body: { touser: row.recipient, open_kfid: openKfid, msgid, msgtype: 'text', text: { content: String(row.payload.text ?? '') } },
          idempotent: false,
          notAfter: ctx.notAfter,
        });
      } catch (error) {
        if (error instanceof WeComApiError && error.errcode === DUPLICATE_MSGID && /duplicate msgid/i.test(error.errmsg)) {
          // A resend of a message that had landed: it was sent once.
        } else if (error instanceof WeComApiError && KF_REFUSALS[error.errcode]) {
          rejected.set(row.recipient, { errcode: error.errcode, reason: KF_REFUSALS[error.errcode]! });
          return { msgid: null, rejected };
        } else throw error;
      }
      const handover = row.payload.handover as { servicer_userid?: string | null } | undefined;
      if (handover) await handOverSession(ctx.gateway, batch.corpId, openKfid, row.recipient, handover.servicer_userid ?? null, logger);
      return { msgid, rejected };
    },
    async resolve(batches) {
      // The msgid makes a resend safe: WeCom refuses the copy if the first one landed.
      return new Map<string, Resolution>(batches.map((b) => [b.id, { kind: 'resend' }]));
    },
  };
}
