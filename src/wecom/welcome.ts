import type { Db } from '../platform/db/database.js';
import type { Logger } from '../platform/logger.js';
import { ComplianceGate } from '../compliance/index.js';
import { deliver, queueMessage } from '../outbox/index.js';
import { getSetting } from '../settings/index.js';
import { wecomApi } from './api.js';
import { ERRCODES, WeComApiError, type WeComGateway } from './client/index.js';

/**
 * Welcome messages (REFERENCE §4 send_welcome_msg): the welcome code lives 20 seconds and works
 * once, so the message is sent straight from the add event (not by the outbox dispatcher), through
 * the outbox row keyed by the code that the compliance gate judged first. 41051 (the chat began, or
 * another app answered first) is recorded and never retried; a blocked text is not sent.
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

/** One gate per database for callers that bring none (the gate caches the active rules). */
const gates = new WeakMap<Db, ComplianceGate>();
const gateFor = (db: Db) => {
  let gate = gates.get(db);
  if (!gate) gates.set(db, (gate = new ComplianceGate({ db })));
  return gate;
};

export async function sendWelcome(deps: { db: Db; gateway: WeComGateway; logger: Logger; gate?: ComplianceGate }, input: WelcomeInput) {
  const { db } = deps;
  const content = await welcomeContent(db, input.corpId, input.userid, input.state);
  const contact = await db.selectFrom('external_contacts').select('customer_id').where('corp_id', '=', input.corpId).where('external_userid', '=', input.externalUserid).executeTakeFirst();
  const queued = await queueMessage(
    { db, gate: deps.gate ?? gateFor(db) },
    {
      idempotencyKey: `welcome:${input.corpId}:${input.welcomeCode}`,
      corpId: input.corpId,
      channel: 'welcome',
      recipient: input.externalUserid,
      sender: input.userid,
      customerId: contact?.customer_id ?? null,
      content,
      purpose: 'service',
      cause: { type: 'system', id: `wecom-event:${input.inboxId}` },
      extra: { welcome_code: input.welcomeCode },
      expiresAt: new Date(input.eventAt.getTime() + WELCOME_WINDOW_MS),
    },
  );
  const api = wecomApi(deps.gateway.client(input.corpId, 'contact'));
  const status = await deliver(db, queued.id, async (payload) => {
    const text = typeof payload.text === 'string' ? payload.text : '';
    const attachments = Array.isArray(payload.attachments) ? payload.attachments : [];
    try {
      await api.sendWelcome({ welcome_code: String(payload.welcome_code), ...(text ? { text: { content: text } } : {}), ...(attachments.length ? { attachments } : {}) });
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
