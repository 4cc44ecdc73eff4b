import { issueKfCode, issueKfToken, kfSession } from '../api/kf.js';
import type { Core } from '../core.js';
import { SandboxControlError } from '../errors.js';
import type { KfAccount, KfMessage } from '../types.js';

/**
 * A WeChat user talks to the bank's customer-service account. WeCom stores the message and only
 * says "something happened" (kf_msg_or_event with a Token, SHAPES §13.4); the product pulls it
 * with kf/sync_msg.
 */
export interface KfMessageInput {
  externalUserid?: string;
  openKfid?: string;
  text: string;
  silent?: boolean;
}

export interface KfEnterInput {
  externalUserid?: string;
  openKfid?: string;
  scene?: string;
  sceneParam?: string;
  silent?: boolean;
}

export interface KfSimulationResult {
  msgid: string;
  externalUserid: string;
  openKfid: string;
  token: string | null;
  welcomeCode?: string | null;
  deliveryId: number | null;
}

export interface MemberMessageInput {
  userid: string;
  content: string;
}

function account(core: Core, openKfid: string | undefined): KfAccount {
  const found = openKfid ? core.world.kfAccounts.find((a) => a.open_kfid === openKfid) : core.world.kfAccounts[0];
  if (!found) throw new SandboxControlError(`no customer-service account ${openKfid ?? ''}`, 404);
  return found;
}

function store(core: Core, message: Omit<KfMessage, 'seq'>): KfMessage {
  const stored = { ...message, seq: core.world.nextSeq('kf') };
  core.world.kfMessages.push(stored);
  return stored;
}

function notify(core: Core, openKfid: string, silent: boolean | undefined): { token: string | null; deliveryId: number | null } {
  if (silent) return { token: null, deliveryId: null };
  const token = issueKfToken(core.world, core.clock.now());
  // No FromUserName and no AgentID in this event (SHAPES §13.4).
  const delivery = core.callbacks.push({
    ToUserName: core.world.corpId, CreateTime: core.clock.seconds(), MsgType: 'event', Event: 'kf_msg_or_event', Token: token, OpenKfId: openKfid,
  });
  return { token, deliveryId: delivery.id };
}

export function kfCustomerMessage(core: Core, input: KfMessageInput): KfSimulationResult {
  const { world } = core;
  if (!input.text) throw new SandboxControlError('text is required');
  const acc = account(core, input.openKfid);
  const externalUserid = input.externalUserid ?? world.newExternalUserid();
  const now = core.clock.now();
  const message = store(core, {
    msgid: 'from_msgid_' + world.ids.chars(19, '0123456789'), open_kfid: acc.open_kfid, external_userid: externalUserid, send_time: Math.floor(now / 1000),
    origin: 3, msgtype: 'text', payload: { content: input.text, menu_id: '' },
  });
  const key = world.kfSessionKey(acc.open_kfid, externalUserid);
  const session = world.kfSessions.get(key);
  // A message from the customer opens a new session if none is running, and resets the reply budget.
  if (!session || session.state === 4) world.kfSessions.set(key, { open_kfid: acc.open_kfid, external_userid: externalUserid, state: 0, lastCustomerMsgAt: now, sentSinceCustomer: 0 });
  else Object.assign(session, { lastCustomerMsgAt: now, sentSinceCustomer: 0 });
  return { msgid: message.msgid, externalUserid, openKfid: acc.open_kfid, ...notify(core, acc.open_kfid, input.silent) };
}

/** The customer opens the customer-service chat (enter_session); a welcome_code comes when no session is running. */
export function kfEnterSession(core: Core, input: KfEnterInput): KfSimulationResult {
  const { world } = core;
  const acc = account(core, input.openKfid);
  const externalUserid = input.externalUserid ?? world.newExternalUserid();
  const now = core.clock.now();
  const key = world.kfSessionKey(acc.open_kfid, externalUserid);
  const session = kfSession(world, acc.open_kfid, externalUserid);
  const eligible = !session || session.state === 4;
  const welcomeCode = eligible ? issueKfCode(world, 'welcome', acc.open_kfid, externalUserid, now) : null;
  if (eligible) world.kfSessions.set(key, { open_kfid: acc.open_kfid, external_userid: externalUserid, state: 0, sentSinceCustomer: 0 });
  const message = store(core, {
    msgid: 'evt_' + world.ids.chars(12), open_kfid: acc.open_kfid, external_userid: externalUserid, send_time: Math.floor(now / 1000), origin: 4, msgtype: 'event',
    payload: {
      event_type: 'enter_session', open_kfid: acc.open_kfid, external_userid: externalUserid, scene: input.scene ?? '', scene_param: input.sceneParam ?? '',
      ...(welcomeCode ? { welcome_code: welcomeCode } : {}),
    },
  });
  return { msgid: message.msgid, externalUserid, openKfid: acc.open_kfid, welcomeCode, ...notify(core, acc.open_kfid, input.silent) };
}

/** A member writes to the app in WeCom (SHAPES §13.5): a plain message, not a `sys` event. */
export function memberMessage(core: Core, input: MemberMessageInput): { msgId: string; deliveryId: number } {
  if (!core.world.member(input.userid)) throw new SandboxControlError(`no member ${input.userid}`, 404);
  if (!input.content) throw new SandboxControlError('content is required');
  const msgId = String(7_000_000_000 + core.world.ids.int(1_000_000_000)) + core.world.ids.chars(9, '0123456789');
  const delivery = core.callbacks.push({
    ToUserName: core.world.corpId, FromUserName: input.userid, CreateTime: core.clock.seconds(), MsgType: 'text', Content: input.content, MsgId: msgId,
    AgentID: core.world.agentId,
  });
  return { msgId, deliveryId: delivery.id };
}
