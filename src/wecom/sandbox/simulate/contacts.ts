import { randomBytes } from 'node:crypto';
import type { XmlFields } from '../callbacks.js';
import type { Core } from '../core.js';
import { SandboxControlError } from '../errors.js';
import type { ContactWay, FollowRelation, Transfer } from '../types.js';

/**
 * What customers and members do in their WeCom / WeChat clients, and the callbacks WeCom sends for
 * it (SHAPES §13.1). `silent` applies the change without a callback: drift for the product's reconcile.
 */
export interface ScanInput {
  state?: string;
  configId?: string;
  userid?: string;
  customer?: { name?: string; mobile?: string; gender?: 0 | 1 | 2; externalUserid?: string };
  /** The chat began before the event (or a console welcome is set): no WelcomeCode. */
  chatStarted?: boolean;
  /** add_half_external_contact: the customer added a skip-verify member who has not confirmed yet. */
  half?: boolean;
  silent?: boolean;
}

export interface ScanResult {
  externalUserid: string;
  userid: string;
  welcomeCode: string | null;
  state: string | null;
  deliveryId: number | null;
}

export interface RelationInput {
  userid: string;
  externalUserid: string;
  silent?: boolean;
}

export interface EditContactInput extends RelationInput {
  remark?: string;
  description?: string;
  addTags?: string[];
  removeTags?: string[];
}

export interface TransferFailInput {
  externalUserid: string;
  takeoverUserid?: string;
  handoverUserid?: string;
  reason: 'customer_refused' | 'customer_limit_exceed';
  silent?: boolean;
}

const SURNAMES = [...'王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高'];
const GIVEN = [...'伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰'];

/** The common header of a `sys` event (SHAPES §13). */
export function eventHeader(core: Core, event: string): XmlFields {
  return { ToUserName: core.world.corpId, FromUserName: 'sys', CreateTime: core.clock.seconds(), MsgType: 'event', Event: event };
}

export function contactEvent(core: Core, changeType: string, userid: string, externalUserid: string, extra: XmlFields = {}) {
  return core.callbacks.push({ ...eventHeader(core, 'change_external_contact'), ChangeType: changeType, UserID: userid, ExternalUserID: externalUserid, ...extra });
}

function wayMembers(core: Core, way: ContactWay): string[] {
  const { world } = core;
  const parties = new Set(way.party);
  for (const d of world.departments) if (parties.has(d.parentid)) parties.add(d.id);
  const fromParties = [...world.members.values()].filter((m) => m.department.some((d) => parties.has(d))).map((m) => m.userid);
  return [...new Set([...way.user, ...fromParties])].filter((u) => world.member(u));
}

/** Deleted ways and expired temporary ones no longer add anyone. */
const usable = (core: Core, way: ContactWay) => !way.deleted && !(way.is_temp && core.clock.now() > way.createdAt + way.expires_in * 1000);

function findWay(core: Core, input: ScanInput): ContactWay | undefined {
  const { world } = core;
  if (input.configId) {
    const way = world.contactWays.get(input.configId);
    if (!way || !usable(core, way)) throw new SandboxControlError(`no usable contact way ${input.configId}`, 404);
    return way;
  }
  if (!input.state) return undefined;
  return [...world.contactWays.values()].find((w) => w.state === input.state && usable(core, w));
}

/** A customer scans a channel QR code (or a shared card) and becomes a member's customer. */
export function scanQr(core: Core, input: ScanInput): ScanResult {
  const { world } = core;
  const way = findWay(core, input);
  let userid = input.userid;
  if (way) {
    const candidates = wayMembers(core, way);
    if (!candidates.length) throw new SandboxControlError('the contact way routes to no member', 409);
    if (userid && !candidates.includes(userid)) throw new SandboxControlError(`${userid} is not a member of that contact way`);
    userid ??= world.ids.pick(candidates);
  }
  if (!userid) throw new SandboxControlError('give a configId, the state of a known contact way, or a userid');
  if (!world.member(userid)) throw new SandboxControlError(`no member ${userid}`, 404);
  const state = way?.state || input.state || undefined;
  const c = input.customer ?? {};
  let externalUserid = c.externalUserid;
  if (externalUserid && world.follow(userid, externalUserid)) throw new SandboxControlError(`${externalUserid} already follows ${userid}`, 409);
  if (!externalUserid || !world.contacts.has(externalUserid)) {
    externalUserid ??= world.newExternalUserid();
    world.contacts.set(externalUserid, {
      external_userid: externalUserid, name: c.name ?? world.ids.pick(SURNAMES) + world.ids.pick(GIVEN) + (world.ids.next() < 0.6 ? world.ids.pick(GIVEN) : ''),
      type: 1, gender: c.gender ?? 0, unionid: world.newUnionid(), cifNo: null, mobile: c.mobile ?? null,
    });
  }
  const now = core.clock.now();
  world.addFollow({
    userid, external_userid: externalUserid, remark: '', description: '', createtime: Math.floor(now / 1000), tagIds: [], personalTags: [],
    remark_corp_name: '', remark_mobiles: c.mobile ? [c.mobile] : [], oper_userid: externalUserid, add_way: state && /^(card|cs)-/.test(state) ? 3 : 1,
    ...(state ? { state } : {}), chatStarted: input.chatStarted === true,
  });
  let welcomeCode: string | null = null;
  if (!input.chatStarted && !input.silent) {
    welcomeCode = randomBytes(24).toString('base64url');
    world.welcomeCodes.set(welcomeCode, { code: welcomeCode, userid, external_userid: externalUserid, issuedAtMs: now, used: false });
  }
  const delivery = input.silent
    ? null
    : contactEvent(core, input.half ? 'add_half_external_contact' : 'add_external_contact', userid, externalUserid, { State: state, WelcomeCode: welcomeCode ?? undefined });
  return { externalUserid, userid, welcomeCode, state: state ?? null, deliveryId: delivery?.id ?? null };
}

function endRelation(core: Core, input: RelationInput, by: 'customer' | 'member' | 'drift'): void {
  if (!core.world.endFollow(input.userid, input.externalUserid, by, core.clock.now())) {
    throw new SandboxControlError(`${input.externalUserid} does not follow ${input.userid}`, 404);
  }
}

/** The customer deleted the member (del_follow_user). */
export function customerDeletesMember(core: Core, input: RelationInput): number | null {
  endRelation(core, input, input.silent ? 'drift' : 'customer');
  return input.silent ? null : contactEvent(core, 'del_follow_user', input.userid, input.externalUserid).id;
}

/** The member deleted the customer (del_external_contact). */
export function memberDeletesCustomer(core: Core, input: RelationInput): number | null {
  endRelation(core, input, input.silent ? 'drift' : 'member');
  return input.silent ? null : contactEvent(core, 'del_external_contact', input.userid, input.externalUserid).id;
}

/** The member edits remark, description or corp tags in the client (edit_external_contact). */
export function memberEditsContact(core: Core, input: EditContactInput): number | null {
  const { world } = core;
  const follow: FollowRelation | undefined = world.follow(input.userid, input.externalUserid);
  if (!follow) throw new SandboxControlError(`${input.externalUserid} does not follow ${input.userid}`, 404);
  const unknown = [...(input.addTags ?? []), ...(input.removeTags ?? [])].filter((id) => !world.findTag(id));
  if (unknown.length) throw new SandboxControlError(`unknown tag ids: ${unknown.join(', ')}`);
  if (input.remark !== undefined) follow.remark = input.remark;
  if (input.description !== undefined) follow.description = input.description;
  follow.tagIds = follow.tagIds.filter((id) => !(input.removeTags ?? []).includes(id));
  for (const id of input.addTags ?? []) if (!follow.tagIds.includes(id)) follow.tagIds.push(id);
  return input.silent ? null : contactEvent(core, 'edit_external_contact', input.userid, input.externalUserid).id;
}

/** A waiting on-job transfer fails: the customer refused, or the taker has too many customers. */
export function transferFail(core: Core, input: TransferFailInput): { transfer: Transfer; deliveryId: number | null } {
  const transfer = core.world.transfers.find(
    (t) => t.status === 2 && t.external_userid === input.externalUserid &&
      (!input.takeoverUserid || t.takeover_userid === input.takeoverUserid) && (!input.handoverUserid || t.handover_userid === input.handoverUserid),
  );
  if (!transfer) throw new SandboxControlError(`no waiting transfer of ${input.externalUserid}`, 404);
  transfer.status = input.reason === 'customer_refused' ? 3 : 4;
  // FailReason sits before UserID in the doc (SHAPES §13.1); UserID is the member who did not get the customer.
  const delivery = input.silent
    ? null
    : core.callbacks.push({
        ...eventHeader(core, 'change_external_contact'), ChangeType: 'transfer_fail', FailReason: input.reason,
        UserID: transfer.takeover_userid, ExternalUserID: transfer.external_userid,
      });
  return { transfer, deliveryId: delivery?.id ?? null };
}
