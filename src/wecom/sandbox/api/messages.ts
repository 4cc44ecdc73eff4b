import { createHash, randomBytes } from 'node:crypto';
import type { ApiCall, ApiRoute, JsonBody } from '../core.js';
import { WeComError } from '../errors.js';
import { HOUR, MINUTE } from '../limits.js';
import type { World } from '../world.js';
import { customerContent, recordedContent } from './content.js';
import { bytes, chars, optionalInt, requireString } from './params.js';

/** Welcome messages (SHAPES §7) and app messages to members (SHAPES §11). */

export const WELCOME_CODE_TTL_MS = 20_000;

function sendWelcomeMsg({ world, body, now }: ApiCall) {
  const code = requireString(body.welcome_code, 41049, 'welcome_code');
  const issued = world.welcomeCodes.get(code);
  if (!issued || now - issued.issuedAtMs > WELCOME_CODE_TTL_MS) throw new WeComError(41050);
  const follow = world.follow(issued.userid, issued.external_userid);
  if (!follow) throw new WeComError(41050);
  // Used already (by this app or another one that got the same code), or the chat has begun.
  if (issued.used || follow.chatStarted) throw new WeComError(41051);
  const content = customerContent(body);
  issued.used = true;
  follow.chatStarted = true;
  world.record({ kind: 'welcome', to: issued.external_userid, from: issued.userid, at: Math.floor(now / 1000), ...recordedContent(content), ref: code });
  return {};
}

const MSG_TYPES = new Set(['text', 'image', 'voice', 'video', 'file', 'textcard', 'news', 'mpnews', 'markdown', 'miniprogram_notice', 'template_card']);
const INTERACTIVE_CARDS = new Set(['button_interaction', 'vote_interaction', 'multiple_interaction']);
const APP_PER_MEMBER = { perMinute: 30, perHour: 1000 };

function checkContent(msgtype: string, payload: Record<string, unknown>): void {
  const str = (k: string) => (typeof payload[k] === 'string' ? (payload[k] as string) : '');
  switch (msgtype) {
    case 'text':
    case 'markdown':
      if (!str('content')) throw new WeComError(44004);
      if (bytes(str('content')) > 2048) throw new WeComError(45002);
      return;
    case 'textcard':
      if (!str('title') || !str('description') || !str('url')) throw new WeComError(40058, 'textcard needs title, description and url');
      if (bytes(str('title')) > 128 || bytes(str('description')) > 512 || bytes(str('url')) > 2048) throw new WeComError(45002);
      if (chars(str('btntxt')) > 4) throw new WeComError(45002);
      return;
    case 'news': {
      const articles = payload.articles;
      if (!Array.isArray(articles) || articles.length < 1 || articles.length > 8) throw new WeComError(40058, 'news needs 1-8 articles');
      for (const a of articles as Record<string, unknown>[]) {
        if (typeof a?.title !== 'string' || !a.title) throw new WeComError(40058, 'article needs a title');
        if (bytes(a.title) > 128 || (typeof a.description === 'string' && bytes(a.description) > 512)) throw new WeComError(45002);
      }
      return;
    }
    case 'image':
    case 'voice':
    case 'video':
    case 'file':
      if (!str('media_id')) throw new WeComError(40058, 'missing media_id');
      return;
    case 'template_card':
      if (!str('card_type')) throw new WeComError(40058, 'missing card_type');
      return;
  }
}

/** Everyone the message addresses, and what WeCom reports back as invalid. */
function recipients(world: World, body: JsonBody) {
  const split = (v: unknown) => (typeof v === 'string' && v ? v.split('|').filter(Boolean) : []);
  const users = split(body.touser);
  const parties = split(body.toparty);
  const tags = split(body.totag);
  if (users.length > 1000 || parties.length > 100 || tags.length > 100) throw new WeComError(40058, 'too many recipients');
  if (!users.length && !parties.length && !tags.length) throw new WeComError(40058, 'touser, toparty and totag cannot all be empty');
  const to = new Set<string>();
  const invalidUsers: string[] = [];
  const invalidParties: string[] = [];
  for (const u of users) {
    if (u === '@all') for (const m of world.members.values()) to.add(m.userid);
    else if (world.member(u)) to.add(u);
    else invalidUsers.push(u.toLowerCase());
  }
  for (const p of parties) {
    const id = Number(p);
    if (!world.departments.some((d) => d.id === id)) {
      invalidParties.push(p);
      continue;
    }
    const ids = new Set([id]);
    for (const d of world.departments) if (ids.has(d.parentid)) ids.add(d.id);
    for (const m of world.members.values()) if (m.department.some((d) => ids.has(d))) to.add(m.userid);
  }
  // The sandbox corp has no member tags, so every tag is invalid.
  return { to: [...to], invaliduser: invalidUsers.join('|'), invalidparty: invalidParties.join('|'), invalidtag: tags.join('|') };
}

function messageSend({ core, world, body, now }: ApiCall) {
  const agentid = optionalInt(body.agentid, 'agentid', 40056);
  if (agentid === undefined || agentid !== world.agentId) throw new WeComError(40056);
  const msgtype = requireString(body.msgtype, 40008, 'msgtype');
  if (!MSG_TYPES.has(msgtype)) throw new WeComError(40008);
  const payload = body[msgtype];
  if (!payload || typeof payload !== 'object') throw new WeComError(44004);
  checkContent(msgtype, payload as Record<string, unknown>);
  const r = recipients(world, body);
  const invalid = { invaliduser: r.invaliduser, invalidparty: r.invalidparty, invalidtag: r.invalidtag, unlicenseduser: '' };
  if (!r.to.length) throw new WeComError(81013, undefined, invalid);
  const msgid = randomBytes(36).toString('base64url');
  const duplicateCheck = body.enable_duplicate_check === 1;
  const interval = (optionalInt(body.duplicate_check_interval, 'duplicate_check_interval') ?? 1800) * 1000;
  if (duplicateCheck && (interval <= 0 || interval > 4 * HOUR)) throw new WeComError(40058, 'duplicate_check_interval must be at most 4 hours');
  const digest = createHash('sha1').update(msgtype + JSON.stringify(payload)).digest('hex');
  for (const userid of r.to) {
    const dupKey = `${userid}|${digest}`;
    if (duplicateCheck && now - (world.appDuplicates.get(dupKey) ?? -Infinity) < interval) continue;
    world.appDuplicates.set(dupKey, now);
    // Over 30/min or 1000/h to one member the message is dropped, not refused (SHAPES §11).
    const key = `app|${agentid}|${userid}`;
    const minuteOk = core.counters.hit(`${key}|m`, APP_PER_MEMBER.perMinute, MINUTE, now);
    const hourOk = core.counters.hit(`${key}|h`, APP_PER_MEMBER.perHour, HOUR, now);
    world.record({ kind: 'app', to: userid, from: `agent:${agentid}`, at: Math.floor(now / 1000), msgtype, content: { [msgtype]: payload }, ref: msgid }, !(minuteOk && hourOk));
  }
  const cardType = msgtype === 'template_card' ? (payload as { card_type?: string }).card_type : undefined;
  return { ...invalid, msgid, ...(cardType && INTERACTIVE_CARDS.has(cardType) ? { response_code: randomBytes(24).toString('base64url') } : {}) };
}

export const messageRoutes: ApiRoute[] = [
  { path: 'externalcontact/send_welcome_msg', method: 'POST', handler: sendWelcomeMsg },
  { path: 'message/send', method: 'POST', handler: messageSend, secrets: ['agent'] },
];
