import type { ApiCall, ApiRoute } from '../core.js';
import { WeComError } from '../errors.js';
import type { CorpTag, TagGroup } from '../types.js';
import type { World } from '../world.js';
import { relation } from './contacts.js';
import { chars, optionalInt, optionalString, requireString, stringList } from './params.js';

/** Corp customer tags and tagging customers (SHAPES §4). */

const byOrder = <T extends { order: number; create_time: number }>(a: T, b: T) => b.order - a.order || a.create_time - b.create_time;

/** `deleted` appears only when the caller asked by id (SHAPES §4.1). */
function tagJson(t: CorpTag, withDeleted: boolean) {
  return { id: t.id, name: t.name, create_time: t.create_time, order: t.order, ...(withDeleted ? { deleted: t.deleted } : {}) };
}

function groupJson(g: TagGroup, tags: CorpTag[], withDeleted: boolean) {
  return {
    group_id: g.group_id, group_name: g.group_name, create_time: g.create_time, order: g.order,
    ...(withDeleted ? { deleted: g.deleted } : {}),
    tag: [...tags].sort(byOrder).map((t) => tagJson(t, withDeleted)),
  };
}

function getCorpTagList({ world, body }: ApiCall) {
  const tagIds = stringList(body.tag_id, 'tag_id');
  const groupIds = stringList(body.group_id, 'group_id');
  const groups = [...world.tagGroups].sort(byOrder);
  if (groupIds.length) {
    // Both given: tag_id is ignored.
    const wanted = new Set(groupIds);
    return { tag_group: groups.filter((g) => wanted.has(g.group_id)).map((g) => groupJson(g, g.tag, true)) };
  }
  if (tagIds.length) {
    const wanted = new Set(tagIds);
    return {
      tag_group: groups.flatMap((g) => {
        const tags = g.tag.filter((t) => wanted.has(t.id));
        return tags.length ? [groupJson(g, tags, true)] : [];
      }),
    };
  }
  return { tag_group: groups.filter((g) => !g.deleted).map((g) => groupJson(g, g.tag.filter((t) => !t.deleted), false)) };
}

function tagName(value: unknown): string {
  const name = requireString(value, 40058, 'tag name').trim();
  if (!name || chars(name) > 30) throw new WeComError(40058, 'tag name must be 1-30 characters');
  return name;
}

function addCorpTag({ world, body, now }: ApiCall) {
  if (!Array.isArray(body.tag) || body.tag.length === 0) throw new WeComError(40058, 'missing tag');
  const requested: { name: string; order: number }[] = [];
  for (const raw of body.tag as unknown[]) {
    if (!raw || typeof raw !== 'object') throw new WeComError(40058, 'invalid tag');
    const t = raw as Record<string, unknown>;
    const name = tagName(t.name);
    // Duplicate names in one request collapse into one tag.
    if (!requested.some((r) => r.name === name)) requested.push({ name, order: optionalInt(t.order, 'order') ?? 0 });
  }
  if (world.liveTagCount() + requested.length > world.settings.corpTagLimit) throw new WeComError(40126);
  const sec = Math.floor(now / 1000);
  const groupId = optionalString(body.group_id, 'group_id');
  let group: TagGroup | undefined;
  if (groupId) {
    group = world.findGroup(groupId);
    if (!group) throw new WeComError(40068);
  } else {
    const groupName = requireString(body.group_name, 40058, 'group_name').trim();
    if (!groupName || chars(groupName) > 30) throw new WeComError(40058, 'group_name must be 1-30 characters');
    // An existing group name reuses that group (SHAPES §4.2).
    group = world.tagGroups.find((g) => !g.deleted && g.group_name === groupName);
    if (!group) {
      group = { group_id: world.newTagId(), group_name: groupName, create_time: sec, order: optionalInt(body.order, 'order') ?? 0, deleted: false, createdBy: 'api', tag: [] };
      world.tagGroups.push(group);
    }
  }
  const live = group.tag.filter((t) => !t.deleted);
  if (requested.some((r) => live.some((t) => t.name === r.name))) throw new WeComError(40071);
  const created = requested.map((r): CorpTag => ({ id: world.newTagId(), name: r.name, create_time: sec, order: r.order, deleted: false, createdBy: 'api' }));
  group.tag.push(...created);
  return { tag_group: { group_id: group.group_id, group_name: group.group_name, create_time: group.create_time, order: group.order, tag: created.map((t) => tagJson(t, false)) } };
}

/** SHAPES §4: an app may change only what it created (configurable in the world settings). */
function mayChange(world: World, item: { createdBy: 'console' | 'api' }): void {
  if (world.settings.tagsEditableOnlyByCreator && item.createdBy !== 'api') throw new WeComError(60011, 'no privilege to modify a tag created in the admin console');
}

function editCorpTag({ world, body }: ApiCall) {
  const id = requireString(body.id, 41017, 'id');
  const name = body.name === undefined ? undefined : tagName(body.name);
  const order = optionalInt(body.order, 'order');
  const group = world.findGroup(id);
  if (group) {
    mayChange(world, group);
    if (name !== undefined && world.tagGroups.some((g) => g !== group && !g.deleted && g.group_name === name)) throw new WeComError(40071);
    if (name !== undefined) group.group_name = name;
    if (order !== undefined) group.order = order;
    return {};
  }
  const found = world.findTag(id);
  if (!found) throw new WeComError(40068);
  mayChange(world, found.tag);
  if (name !== undefined && found.group.tag.some((t) => t !== found.tag && !t.deleted && t.name === name)) throw new WeComError(40071);
  if (name !== undefined) found.tag.name = name;
  if (order !== undefined) found.tag.order = order;
  return {};
}

function delCorpTag({ world, body }: ApiCall) {
  const tagIds = stringList(body.tag_id, 'tag_id');
  const groupIds = stringList(body.group_id, 'group_id');
  if (!tagIds.length && !groupIds.length) throw new WeComError(41017);
  // Validate everything first, so a bad id changes nothing.
  const groups = groupIds.map((id) => world.findGroup(id) ?? fail(40068));
  const tags = tagIds.map((id) => world.findTag(id) ?? fail(40068));
  for (const g of groups) mayChange(world, g);
  for (const t of tags) mayChange(world, t.tag);
  for (const g of groups) world.deleteGroup(g);
  for (const t of tags) if (!t.tag.deleted) world.deleteTag(t.tag, t.group);
  return {};
}

function fail(code: number): never {
  throw new WeComError(code);
}

function markTag({ world, body }: ApiCall) {
  const userid = requireString(body.userid, 41009, 'userid');
  const externalUserid = requireString(body.external_userid, 41035, 'external_userid');
  const add = stringList(body.add_tag, 'add_tag');
  const remove = stringList(body.remove_tag, 'remove_tag');
  if (!add.length && !remove.length) throw new WeComError(40058, 'add_tag and remove_tag cannot both be empty');
  if (!world.member(userid)) throw new WeComError(60111);
  const follow = relation(world, userid, externalUserid);
  if ([...add, ...remove].some((id) => !world.findTag(id))) throw new WeComError(40068);
  const next = follow.tagIds.filter((id) => !remove.includes(id));
  for (const id of add) if (!next.includes(id)) next.push(id);
  if (next.length > 3000) throw new WeComError(40058, 'too many tags on one customer');
  follow.tagIds = next;
  return {};
}

export const tagRoutes: ApiRoute[] = [
  { path: 'externalcontact/get_corp_tag_list', method: 'POST', handler: getCorpTagList, keepOnError: { tag_group: [] } },
  { path: 'externalcontact/add_corp_tag', method: 'POST', handler: addCorpTag },
  { path: 'externalcontact/edit_corp_tag', method: 'POST', handler: editCorpTag },
  { path: 'externalcontact/del_corp_tag', method: 'POST', handler: delCorpTag },
  { path: 'externalcontact/mark_tag', method: 'POST', handler: markTag },
];
