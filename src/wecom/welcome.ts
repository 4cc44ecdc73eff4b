import type { Db } from '../platform/db/database.js';
import type { Logger } from '../platform/logger.js';
import { deliver, recordOutbound } from '../outbox/index.js';
import { getSetting } from '../settings/index.js';
import { wecomApi } from './api.js';
import { ERRCODES, WeComApiError, type WeComGateway } from './client/index.js';

/**
 * Welcome messages (REFERENCE §4 send_welcome_msg): the welcome code lives 20 seconds and works
 * once, so the message is sent straight from the add event, through the outbox row keyed by the
 * code. 41051 (the chat began, or another app answered first) is recorded and never retried.
 */
export const WELCOME_WINDOW_MS = 20_000;

export interface WelcomeInput {
  corpId: string;
  userid: string;
  externalUserid: string;
  welcomeCode: string;
  state?: string;
  /** When WeCom created the event (CreateTime): the window runs from then. */
  eventAt: Date;
  inboxId: string;
}

async function welcomeContent(db: Db, corpId: string, userid: string, state?: string) {
  const way = state
    ? await db.selectFrom('wecom_contact_ways').select(['welcome_text', 'welcome_attachments']).where('corp_id', '=', corpId).where('state', '=', state).where('deleted_at', 'is', null).executeTakeFirst()
    : undefined;
  const member =
    (await db.selectFrom('staff').select('display_name as name').where('corp_id', '=', corpId).where('wecom_userid', '=', userid).executeTakeFirst()) ??
    (await db.selectFrom('wecom_members').select('name').where('corp_id', '=', corpId).where('userid', '=', userid).executeTakeFirst());
  const template = way?.welcome_text ?? (await getSetting(db, 'wecom.welcomeText')).text;
  return {
    text: template.replaceAll('{客户经理}', member?.name ?? ''),
    attachments: (way?.welcome_attachments as unknown[] | undefined) ?? [],
  };
}

export async function sendWelcome(deps: { db: Db; gateway: WeComGateway; logger: Logger }, input: WelcomeInput) {
  const { db } = deps;
  const content = await welcomeContent(db, input.corpId, input.userid, input.state);
  const { row } = await recordOutbound(db, {
    idempotencyKey: `welcome:${input.corpId}:${input.welcomeCode}`,
    corpId: input.corpId,
    channel: 'welcome',
    recipient: input.externalUserid,
    sender: input.userid,
    payload: { welcome_code: input.welcomeCode, text: { content: content.text }, ...(content.attachments.length ? { attachments: content.attachments } : {}) },
    cause: { type: 'system', id: `wecom-event:${input.inboxId}` },
    expiresAt: new Date(input.eventAt.getTime() + WELCOME_WINDOW_MS),
  });
  const api = wecomApi(deps.gateway.client(input.corpId, 'contact'));
  const status = await deliver(db, row.id, async (payload) => {
    try {
      await api.sendWelcome(payload as Parameters<typeof api.sendWelcome>[0]);
      return { status: 'sent' };
    } catch (error) {
      if (error instanceof WeComApiError) {
        // 41051 and 41050 will never succeed; neither will any other business error.
        return { status: 'failed', errcode: error.errcode, error: error.message };
      }
      return { status: 'retry', error: (error as Error).message };
    }
  });
  deps.logger.info({ corpId: input.corpId, userid: input.userid, externalUserid: input.externalUserid, status }, 'welcome message');
  if (status === 'pending') throw new Error('welcome message not sent yet; retrying within its window');
  return status;
}

export { ERRCODES };
