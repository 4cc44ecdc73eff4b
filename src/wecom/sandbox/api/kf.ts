import { randomBytes } from 'node:crypto';
import type { ApiCall, ApiRoute } from '../core.js';
import { WeComError } from '../errors.js';
import type { KfAccount, KfMessage, KfSession } from '../types.js';
import type { World } from '../world.js';
import { bytes, decodeCursor, encodeCursor, optionalInt, optionalString, requireString } from './params.js';

/**
 * 微信客服 (SHAPES §12, REFERENCE §6). Replies are allowed only while the session is new (0) or with
 * the bot (1), within 48 h of the customer's last message and at most 5 times until the customer
 * writes again.
 */
export const KF_TOKEN_TTL_MS = 10 * 60_000;
export const KF_CODE_TTL_MS = 20_000;
const REPLY_WINDOW_MS = 48 * 3_600_000;
const MAX_REPLIES = 5;
const SYNC_WINDOW_MS = 3 * 86_400_000;
const SEND_TYPES = new Set(['text', 'image', 'voice', 'video', 'file', 'link', 'miniprogram', 'msgmenu', 'location']);
// Allowed by the API (SHAPES §12.4); 4 cannot be changed through it.
const TRANSITIONS: Record<number, number[]> = { 0: [1, 2, 3], 1: [2, 3], 2: [3], 3: [3, 4], 4: [] };

export function kfAccount(world: World, openKfid: unknown): KfAccount {
  const id = requireString(openKfid, 95000, 'open_kfid');
  if (!/^wk[0-9A-Za-z_-]{6,62}$/.test(id)) throw new WeComError(95000);
  const account = world.kfAccounts.find((a) => a.open_kfid === id);
  if (!account) throw new WeComError(95004);
  return account;
}

export function kfSession(world: World, openKfid: string, externalUserid: string): KfSession | undefined {
  return world.kfSessions.get(world.kfSessionKey(openKfid, externalUserid));
}

export function issueKfToken(world: World, nowMs: number): string {
  const token = 'ENCA' + randomBytes(33).toString('base64url');
  world.kfTokens.set(token, nowMs + KF_TOKEN_TTL_MS);
  return token;
}

export function issueKfCode(world: World, kind: 'welcome' | 'msg_code', openKfid: string, externalUserid: string, nowMs: number): string {
  const code = randomBytes(18).toString('base64url');
  world.kfCodes.set(code, { code, kind, open_kfid: openKfid, external_userid: externalUserid, issuedAtMs: nowMs, used: false });
  return code;
}

function messageJson(m: KfMessage) {
  // For events open_kfid / external_userid live inside `event` (SHAPES §12.1).
  const where = m.origin === 4 ? {} : { open_kfid: m.open_kfid, external_userid: m.external_userid };
  return { msgid: m.msgid, ...where, send_time: m.send_time, origin: m.origin, msgtype: m.msgtype, [m.msgtype]: m.payload };
}

function syncMsg({ world, body, now }: ApiCall) {
  const token = optionalString(body.token, 'token');
  if (token !== undefined && token !== '') {
    const expires = world.kfTokens.get(token);
    if (expires === undefined || now > expires) throw new WeComError(95007);
  }
  const limit = optionalInt(body.limit, 'limit') ?? 1000;
  if (limit < 1 || limit > 1000) throw new WeComError(40058, 'limit must be 1-1000');
  const openKfid = body.open_kfid === undefined || body.open_kfid === '' ? undefined : kfAccount(world, body.open_kfid).open_kfid;
  const after = decodeCursor(body.cursor, 'kf');
  const rows = world.kfMessages.filter((m) => m.seq > after && m.send_time * 1000 >= now - SYNC_WINDOW_MS && (!openKfid || m.open_kfid === openKfid));
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  // The cursor always points after what was returned, so a caller that persists it never re-reads.
  const next = last ? encodeCursor(last.seq, 'kf') : typeof body.cursor === 'string' && body.cursor ? body.cursor : encodeCursor(after, 'kf');
  return { next_cursor: next, has_more: rows.length > limit ? 1 : 0, msg_list: items.map(messageJson) };
}

function sendMsg({ world, body, now }: ApiCall) {
  const account = kfAccount(world, body.open_kfid);
  const touser = requireString(body.touser, 40058, 'touser');
  const msgid = optionalString(body.msgid, 'msgid') || randomBytes(16).toString('hex');
  if (!/^[0-9a-zA-Z_-]{1,32}$/.test(msgid)) throw new WeComError(40058, 'invalid msgid');
  if (world.received.some((r) => r.kind === 'kf' && r.from === account.open_kfid && r.ref === msgid)) throw new WeComError(40058, 'duplicate msgid');
  const msgtype = requireString(body.msgtype, 40008, 'msgtype');
  if (!SEND_TYPES.has(msgtype)) throw new WeComError(40008);
  const payload = body[msgtype];
  if (!payload || typeof payload !== 'object') throw new WeComError(44004);
  const content = (payload as { content?: unknown }).content;
  if (msgtype === 'text' && (typeof content !== 'string' || !content)) throw new WeComError(44004);
  if (msgtype === 'text' && bytes(content as string) > 2048) throw new WeComError(45002);
  const session = kfSession(world, account.open_kfid, touser);
  if (!session) {
    if (!world.contacts.has(touser) && !world.kfMessages.some((m) => m.external_userid === touser)) throw new WeComError(40096);
    throw new WeComError(95018);
  }
  if (session.state !== 0 && session.state !== 1) throw new WeComError(95018);
  if (session.lastCustomerMsgAt === undefined || now - session.lastCustomerMsgAt > REPLY_WINDOW_MS) throw new WeComError(95002);
  if (session.sentSinceCustomer >= MAX_REPLIES) throw new WeComError(95001);
  session.sentSinceCustomer++;
  world.record({ kind: 'kf', to: touser, from: account.open_kfid, at: Math.floor(now / 1000), msgtype, content: { [msgtype]: payload }, ref: msgid });
  return { msgid };
}

function sendMsgOnEvent({ world, body, now }: ApiCall) {
  const code = world.kfCodes.get(requireString(body.code, 40058, 'code'));
  // One message per code, within 20 s (SHAPES §12.2); the errcode WeCom uses here is unconfirmed.
  if (!code || code.used || now - code.issuedAtMs > KF_CODE_TTL_MS) throw new WeComError(40058, 'invalid code');
  const msgtype = requireString(body.msgtype, 40008, 'msgtype');
  if (msgtype !== 'text' && msgtype !== 'msgmenu') throw new WeComError(40008);
  const payload = body[msgtype];
  if (!payload || typeof payload !== 'object') throw new WeComError(44004);
  const msgid = optionalString(body.msgid, 'msgid') || randomBytes(16).toString('hex');
  code.used = true;
  world.record({ kind: 'kf', to: code.external_userid, from: code.open_kfid, at: Math.floor(now / 1000), msgtype, content: { [msgtype]: payload }, ref: msgid });
  return { msgid };
}

function serviceStateGet({ world, body }: ApiCall) {
  const account = kfAccount(world, body.open_kfid);
  const session = kfSession(world, account.open_kfid, requireString(body.external_userid, 40096, 'external_userid'));
  if (!session) return { service_state: 4 };
  return { service_state: session.state, ...(session.state === 3 && session.servicer_userid ? { servicer_userid: session.servicer_userid } : {}) };
}

function serviceStateTrans({ world, body, now }: ApiCall) {
  const account = kfAccount(world, body.open_kfid);
  const externalUserid = requireString(body.external_userid, 40096, 'external_userid');
  const target = optionalInt(body.service_state, 'service_state');
  if (target === undefined || target < 0 || target > 4) throw new WeComError(40058, 'invalid service_state');
  const session = kfSession(world, account.open_kfid, externalUserid);
  const from = session?.state ?? 4;
  if (!session || !TRANSITIONS[from]!.includes(target)) throw new WeComError(95016);
  const servicer = optionalString(body.servicer_userid, 'servicer_userid');
  if (target === 3 && (!servicer || !world.member(servicer))) throw new WeComError(95014);
  session.state = target as KfSession['state'];
  if (target === 3) session.servicer_userid = servicer;
  else delete session.servicer_userid;
  // A msg_code comes back on entering the pool, entering human service from the pool, or ending (SHAPES §12.4).
  const withCode = target === 2 || (from === 2 && target === 3) || target === 4;
  return withCode ? { msg_code: issueKfCode(world, 'msg_code', account.open_kfid, externalUserid, now) } : {};
}

export const kfRoutes: ApiRoute[] = [
  { path: 'kf/sync_msg', method: 'POST', handler: syncMsg, secrets: ['agent'], keepOnError: { msg_list: [] } },
  { path: 'kf/send_msg', method: 'POST', handler: sendMsg, secrets: ['agent'] },
  { path: 'kf/send_msg_on_event', method: 'POST', handler: sendMsgOnEvent, secrets: ['agent'] },
  { path: 'kf/service_state/get', method: 'POST', handler: serviceStateGet, secrets: ['agent'] },
  { path: 'kf/service_state/trans', method: 'POST', handler: serviceStateTrans, secrets: ['agent'] },
];
