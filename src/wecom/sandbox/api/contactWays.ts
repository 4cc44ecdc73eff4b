import type { ApiCall, ApiRoute, JsonBody } from '../core.js';
import { WeComError } from '../errors.js';
import type { ContactWay } from '../types.js';
import type { World } from '../world.js';
import { maxChars, optionalBool, optionalInt, optionalString, page, requireString, stringList } from './params.js';

/** 「联系我」contact ways (SHAPES §6). */

const DAY = 86_400;
const MAX_USERS = 100;

function expandParties(world: World, party: number[]): string[] {
  const ids = new Set(party);
  for (const d of world.departments) if (ids.has(d.parentid)) ids.add(d.id);
  return [...world.members.values()].filter((m) => m.department.some((d) => ids.has(d))).map((m) => m.userid);
}

function partyList(value: unknown): number[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => !Number.isInteger(v))) throw new WeComError(40058, 'invalid party');
  return value as number[];
}

/** Checks the people a way would route to; type 1 is exactly one member, at most 100 after expanding parties. */
function checkPeople(world: World, type: 1 | 2, user: string[], party: number[]): void {
  if (type === 1 && (user.length !== 1 || party.length)) throw new WeComError(40058, 'a single-member contact way needs exactly one user');
  if (!user.length && !party.length) throw new WeComError(40058, 'missing user or party');
  if (user.some((u) => !world.member(u))) throw new WeComError(60111);
  if (party.some((p) => !world.departments.some((d) => d.id === p))) throw new WeComError(60003);
  if (new Set([...user, ...expandParties(world, party)]).size > MAX_USERS) throw new WeComError(41041);
}

function checkStyle(scene: number, style: number | undefined): void {
  if (style !== undefined && (style < 0 || style > 4 || (scene === 1 && style === 0))) throw new WeComError(41042);
}

function temporary(body: JsonBody, isTemp: boolean): { expires_in: number; chat_expires_in: number } {
  const expires = optionalInt(body.expires_in, 'expires_in');
  const chat = optionalInt(body.chat_expires_in, 'chat_expires_in');
  if (!isTemp) return { expires_in: 0, chat_expires_in: 0 };
  if (expires !== undefined && (expires <= 0 || expires > 14 * DAY)) throw new WeComError(40058, 'expires_in must be at most 14 days');
  if (chat !== undefined && (chat <= 0 || chat > 14 * DAY)) throw new WeComError(40058, 'chat_expires_in must be at most 14 days');
  return { expires_in: expires ?? 7 * DAY, chat_expires_in: chat ?? DAY };
}

function text(body: JsonBody) {
  const state = optionalString(body.state, 'state');
  const remark = optionalString(body.remark, 'remark');
  maxChars(state, 30, 'state');
  maxChars(remark, 30, 'remark');
  return { state, remark };
}

function addContactWay({ world, body, now }: ApiCall) {
  if (body.type === undefined || body.type === null) throw new WeComError(41037);
  if (body.scene === undefined || body.scene === null) throw new WeComError(41038);
  if (body.type !== 1 && body.type !== 2) throw new WeComError(41039);
  if (body.scene !== 1 && body.scene !== 2) throw new WeComError(41040);
  const type = body.type;
  const scene = body.scene;
  const style = optionalInt(body.style, 'style', 41042);
  checkStyle(scene, style);
  const { state, remark } = text(body);
  const user = stringList(body.user, 'user');
  const party = partyList(body.party);
  checkPeople(world, type, user, party);
  const isTemp = optionalBool(body.is_temp, 'is_temp') ?? false;
  const viaApi = [...world.contactWays.values()].filter((w) => w.viaApi && !w.deleted).length;
  if (viaApi >= world.settings.contactWayLimit) throw new WeComError(41045);
  const configId = world.newConfigId();
  const way: ContactWay = {
    config_id: configId, type, scene, style: style ?? (scene === 1 ? 1 : 0), remark: remark ?? '', skip_verify: optionalBool(body.skip_verify, 'skip_verify') ?? true,
    state: state ?? '', user, party, is_temp: isTemp, ...temporary(body, isTemp), unionid: optionalString(body.unionid, 'unionid') ?? '',
    conclusions: isTemp && body.conclusions && typeof body.conclusions === 'object' ? (body.conclusions as Record<string, unknown>) : {},
    viaApi: true, createdAt: now, deleted: false,
    // qr_code only for scene 2 (SHAPES §6.1).
    ...(scene === 2 ? { qr_code: `https://wework.qpic.cn/wwpic/${world.ids.int(1e6)}_${configId.slice(0, 12)}/0` } : {}),
  };
  world.contactWays.set(configId, way);
  return { config_id: configId, ...(way.qr_code ? { qr_code: way.qr_code } : {}) };
}

/** A live way the API may see: made through the API, not deleted, and a temporary one not yet expired. */
export function apiWay(world: World, configId: unknown, nowMs: number): ContactWay {
  const id = requireString(configId, 41043, 'config_id');
  const way = world.contactWays.get(id);
  if (!way || way.deleted || !way.viaApi) throw new WeComError(41044);
  if (way.is_temp && nowMs > way.createdAt + way.expires_in * 1000) throw new WeComError(41044);
  return way;
}

function wayJson(w: ContactWay) {
  return {
    config_id: w.config_id, type: w.type, scene: w.scene, style: w.style, remark: w.remark, skip_verify: w.skip_verify, state: w.state,
    ...(w.qr_code ? { qr_code: w.qr_code } : {}), user: [...w.user], party: [...w.party], is_temp: w.is_temp, expires_in: w.expires_in,
    chat_expires_in: w.chat_expires_in, unionid: w.unionid, conclusions: w.conclusions,
  };
}

function getContactWay({ world, body, now }: ApiCall) {
  return { contact_way: wayJson(apiWay(world, body.config_id, now)) };
}

function updateContactWay({ world, body, now }: ApiCall) {
  const way = apiWay(world, body.config_id, now);
  const { state, remark } = text(body);
  const style = optionalInt(body.style, 'style', 41042);
  checkStyle(way.scene, style);
  const user = body.user === undefined ? way.user : stringList(body.user, 'user');
  const party = body.party === undefined ? way.party : partyList(body.party);
  checkPeople(world, way.type, user, party);
  const skip = optionalBool(body.skip_verify, 'skip_verify');
  const times = way.is_temp && (body.expires_in !== undefined || body.chat_expires_in !== undefined) ? temporary({ expires_in: body.expires_in ?? way.expires_in, chat_expires_in: body.chat_expires_in ?? way.chat_expires_in }, true) : undefined;
  // Validated in full above; only now change anything.
  if (state !== undefined) way.state = state;
  if (remark !== undefined) way.remark = remark;
  if (style !== undefined) way.style = style;
  if (skip !== undefined) way.skip_verify = skip;
  way.user = [...user];
  way.party = [...party];
  if (times) Object.assign(way, times);
  const unionid = optionalString(body.unionid, 'unionid');
  if (unionid !== undefined) way.unionid = unionid;
  if (way.is_temp && body.conclusions && typeof body.conclusions === 'object') way.conclusions = body.conclusions as Record<string, unknown>;
  return {};
}

function delContactWay({ world, body, now }: ApiCall) {
  apiWay(world, body.config_id, now).deleted = true;
  return {};
}

function listContactWay({ world, body, now }: ApiCall) {
  const start = optionalInt(body.start_time, 'start_time') ?? Math.floor(now / 1000) - 90 * DAY;
  const end = optionalInt(body.end_time, 'end_time') ?? Math.floor(now / 1000);
  const limit = optionalInt(body.limit, 'limit') ?? 100;
  if (limit < 1 || limit > 1000) throw new WeComError(40058, 'limit must be 1-1000');
  if (end < start || end - start > 90 * DAY) throw new WeComError(40058, 'time range must be within 90 days');
  const ways = [...world.contactWays.values()]
    .filter((w) => w.viaApi && !w.deleted && w.createdAt >= start * 1000 && w.createdAt <= end * 1000)
    .map((w, i) => ({ w, position: i + 1 }));
  const { items, next } = page(ways, (x) => x.position, body.cursor, limit, `ways:${start}:${end}`);
  return { contact_way: items.map((x) => ({ config_id: x.w.config_id })), next_cursor: next };
}

export const contactWayRoutes: ApiRoute[] = [
  { path: 'externalcontact/add_contact_way', method: 'POST', handler: addContactWay },
  { path: 'externalcontact/get_contact_way', method: 'POST', handler: getContactWay },
  { path: 'externalcontact/update_contact_way', method: 'POST', handler: updateContactWay },
  { path: 'externalcontact/del_contact_way', method: 'POST', handler: delContactWay },
  { path: 'externalcontact/list_contact_way', method: 'POST', handler: listContactWay },
];
