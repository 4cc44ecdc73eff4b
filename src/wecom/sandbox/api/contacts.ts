import type { ApiCall, ApiRoute } from '../core.js';
import { WeComError } from '../errors.js';
import type { ExternalContact, FollowRelation } from '../types.js';
import type { World } from '../world.js';
import { maxChars, optionalInt, optionalString, page, requireString, stringList } from './params.js';

/** Customers and follow relations (SHAPES §3, §5). */

export function contactJson(c: ExternalContact) {
  return {
    external_userid: c.external_userid,
    name: c.name,
    ...(c.avatar ? { avatar: c.avatar } : {}),
    type: c.type,
    gender: c.gender,
    ...(c.unionid ? { unionid: c.unionid } : {}),
  };
}

function followCommon(f: FollowRelation) {
  return {
    userid: f.userid,
    remark: f.remark,
    description: f.description,
    createtime: f.createtime,
  };
}

function followTail(f: FollowRelation) {
  return {
    remark_corp_name: f.remark_corp_name,
    remark_mobiles: [...f.remark_mobiles],
    oper_userid: f.oper_userid,
    add_way: f.add_way,
    // state only when the customer came through a contact way that set one (SHAPES §3.1).
    ...(f.state ? { state: f.state } : {}),
  };
}

/** `follow_user[]` of externalcontact/get: corp tags with names, then the member's personal tags. */
export function followUserJson(world: World, f: FollowRelation) {
  const tags = [
    ...f.tagIds.flatMap((id) => {
      const found = world.findTag(id);
      return found ? [{ group_name: found.group.group_name, tag_name: found.tag.name, type: 1, tag_id: id }] : [];
    }),
    ...f.personalTags.map((name) => ({ group_name: '', tag_name: name, type: 2 })),
  ];
  return { ...followCommon(f), tags, ...followTail(f) };
}

/** `follow_info` of batch/get_by_user: corp tag ids only, no personal tags (SHAPES §3.2). */
export function followInfoJson(f: FollowRelation) {
  return { ...followCommon(f), tag_id: [...f.tagIds], ...followTail(f) };
}

/** A known customer, or 40096 for an id WeCom never issued. */
export function knownContact(world: World, externalUserid: string): ExternalContact {
  const contact = world.contacts.get(externalUserid);
  if (!contact) throw new WeComError(40096);
  return contact;
}

/** The member's relation with the customer, or 84061. */
export function relation(world: World, userid: string, externalUserid: string): FollowRelation {
  knownContact(world, externalUserid);
  const follow = world.follow(userid, externalUserid);
  if (!follow) throw new WeComError(84061);
  return follow;
}

function get({ world, query }: ApiCall) {
  const contact = knownContact(world, requireString(query.external_userid, 41035, 'external_userid'));
  const follows = world.followsOf(contact.external_userid);
  if (!follows.length) throw new WeComError(84061);
  return { external_contact: contactJson(contact), follow_user: follows.map((f) => followUserJson(world, f)), next_cursor: '' };
}

function batchGetByUser({ world, body }: ApiCall) {
  const userids = stringList(body.userid_list, 'userid_list', 100);
  if (!userids.length) throw new WeComError(40058, 'missing userid_list');
  let limit = optionalInt(body.limit, 'limit') ?? 50;
  if (limit < 1) limit = 50;
  if (limit > 100) limit = 100; // larger limits are served as 100 (SHAPES §3.2)
  const wanted = new Set(userids);
  // Ordered by relation creation: new relations land at the end and deletions shift nothing,
  // so a cursor taken mid-way stays valid across calls.
  const rows = [...world.follows.values()].filter((f) => wanted.has(f.userid)).sort((a, b) => a.seq - b.seq);
  const { items, next } = page(rows, (f) => f.seq, body.cursor, limit, 'get_by_user');
  return {
    external_contact_list: items.map((f) => ({ external_contact: contactJson(world.contacts.get(f.external_userid)!), follow_info: followInfoJson(f) })),
    next_cursor: next,
    fail_info: { unlicensed_userid_list: [] },
  };
}

function list({ world, query }: ApiCall) {
  const userid = requireString(query.userid, 41009, 'userid');
  if (!world.member(userid)) throw new WeComError(60111);
  const ids = world.followsOfUser(userid).map((f) => f.external_userid);
  if (!ids.length) throw new WeComError(84061);
  return { external_userid: ids };
}

function remark({ world, body }: ApiCall) {
  const userid = requireString(body.userid, 41009, 'userid');
  const follow = relation(world, userid, requireString(body.external_userid, 41035, 'external_userid'));
  const remarkText = optionalString(body.remark, 'remark');
  const description = optionalString(body.description, 'description');
  const company = optionalString(body.remark_company, 'remark_company');
  const pic = optionalString(body.remark_pic_mediaid, 'remark_pic_mediaid');
  maxChars(remarkText, 20, 'remark');
  maxChars(description, 150, 'description');
  maxChars(company, 20, 'remark_company');
  let mobiles: string[] | undefined;
  if (body.remark_mobiles === '') mobiles = [];
  else if (body.remark_mobiles !== undefined) mobiles = stringList(body.remark_mobiles, 'remark_mobiles').filter((m) => m !== '');
  if (remarkText === undefined && description === undefined && company === undefined && mobiles === undefined && pic === undefined) {
    throw new WeComError(40058, 'remark, description, remark_company, remark_mobiles and remark_pic_mediaid cannot all be empty');
  }
  if (mobiles?.some((m) => !/^[0-9+\-() ]{3,32}$/.test(m))) throw new WeComError(40058, 'invalid remark_mobiles');
  if (remarkText !== undefined) follow.remark = remarkText;
  if (description !== undefined) follow.description = description;
  if (company !== undefined) follow.remark_corp_name = company;
  if (mobiles !== undefined) follow.remark_mobiles = mobiles;
  // Changes made through the API raise no callback (SHAPES §0).
  return {};
}

export const contactRoutes: ApiRoute[] = [
  { path: 'externalcontact/get', method: 'GET', handler: get, keepOnError: { follow_user: [] } },
  { path: 'externalcontact/batch/get_by_user', method: 'POST', handler: batchGetByUser, keepOnError: { external_contact_list: [] } },
  { path: 'externalcontact/list', method: 'GET', handler: list, keepOnError: { external_userid: [] } },
  { path: 'externalcontact/remark', method: 'POST', handler: remark },
];
