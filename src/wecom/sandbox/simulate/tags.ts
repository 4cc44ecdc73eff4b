import type { Core } from '../core.js';
import { SandboxControlError } from '../errors.js';
import type { CorpTag, TagGroup } from '../types.js';
import { eventHeader } from './contacts.js';

/** An administrator edits corp tags in the WeCom admin console (change_external_tag, SHAPES §13.3). */
export type TagChangeInput =
  | { action: 'create'; groupId?: string; groupName?: string; tags: string[]; silent?: boolean }
  | { action: 'update'; id: string; name?: string; order?: number; silent?: boolean }
  | { action: 'delete'; id: string; silent?: boolean }
  | { action: 'shuffle'; groupId?: string; silent?: boolean };

export interface TagChangeResult {
  groupId?: string;
  tagIds: string[];
  deliveryIds: number[];
}

function tagEvent(core: Core, changeType: string, id: string, tagType?: 'tag' | 'tag_group'): number {
  return core.callbacks.push({ ...eventHeader(core, 'change_external_tag'), Id: id, ...(tagType ? { TagType: tagType } : {}), ChangeType: changeType }).id;
}

function create(core: Core, input: Extract<TagChangeInput, { action: 'create' }>): TagChangeResult {
  const { world } = core;
  const names = [...new Set(input.tags.map((t) => t.trim()).filter(Boolean))];
  if (!names.length) throw new SandboxControlError('a tag group cannot be empty: give at least one tag name');
  const sec = core.clock.seconds();
  let group: TagGroup | undefined = input.groupId ? world.findGroup(input.groupId) : world.tagGroups.find((g) => !g.deleted && g.group_name === input.groupName);
  if (input.groupId && !group) throw new SandboxControlError(`no tag group ${input.groupId}`, 404);
  const isNewGroup = !group;
  if (!group) {
    if (!input.groupName) throw new SandboxControlError('give a groupId or a groupName');
    group = { group_id: world.newTagId(), group_name: input.groupName, create_time: sec, order: 0, deleted: false, createdBy: 'console', tag: [] };
    world.tagGroups.push(group);
  }
  const existing = group.tag.filter((t) => !t.deleted).map((t) => t.name);
  const clash = names.filter((n) => existing.includes(n));
  if (clash.length) throw new SandboxControlError(`tags already exist in ${group.group_name}: ${clash.join(', ')}`, 409);
  const tags = names.map((name): CorpTag => ({ id: world.newTagId(), name, create_time: sec, order: 0, deleted: false, createdBy: 'console' }));
  group.tag.push(...tags);
  const tagIds = tags.map((t) => t.id);
  if (input.silent) return { groupId: group.group_id, tagIds, deliveryIds: [] };
  // A new group is announced once as a group; tags added to an existing group one by one.
  const deliveryIds = isNewGroup ? [tagEvent(core, 'create', group.group_id, 'tag_group')] : tagIds.map((id) => tagEvent(core, 'create', id, 'tag'));
  return { groupId: group.group_id, tagIds, deliveryIds };
}

function update(core: Core, input: Extract<TagChangeInput, { action: 'update' }>): TagChangeResult {
  const { world } = core;
  const group = world.findGroup(input.id);
  const found = group ? undefined : world.findTag(input.id);
  const target = group ?? found?.tag;
  if (!target) throw new SandboxControlError(`no tag or tag group ${input.id}`, 404);
  if (input.name !== undefined) {
    if (group) group.group_name = input.name;
    else found!.tag.name = input.name;
  }
  if (input.order !== undefined) target.order = input.order;
  return { tagIds: group ? [] : [input.id], ...(group ? { groupId: group.group_id } : {}), deliveryIds: input.silent ? [] : [tagEvent(core, 'update', input.id, group ? 'tag_group' : 'tag')] };
}

function remove(core: Core, input: Extract<TagChangeInput, { action: 'delete' }>): TagChangeResult {
  const { world } = core;
  const group = world.findGroup(input.id);
  if (group) {
    world.deleteGroup(group);
    // Deleting a group does not also call back for its tags (SHAPES §13.3).
    return { groupId: group.group_id, tagIds: [], deliveryIds: input.silent ? [] : [tagEvent(core, 'delete', group.group_id, 'tag_group')] };
  }
  const found = world.findTag(input.id);
  if (!found) throw new SandboxControlError(`no tag or tag group ${input.id}`, 404);
  world.deleteTag(found.tag, found.group);
  return { groupId: found.group.group_id, tagIds: [input.id], deliveryIds: input.silent ? [] : [tagEvent(core, 'delete', input.id, 'tag')] };
}

function shuffle(core: Core, input: Extract<TagChangeInput, { action: 'shuffle' }>): TagChangeResult {
  const { world } = core;
  const groups = input.groupId ? [world.findGroup(input.groupId)] : world.tagGroups.filter((g) => !g.deleted);
  if (groups.some((g) => !g)) throw new SandboxControlError(`no tag group ${input.groupId}`, 404);
  for (const g of groups as TagGroup[]) {
    const live = g.tag.filter((t) => !t.deleted);
    const orders = live.map((t) => t.order).reverse();
    live.forEach((t, i) => (t.order = orders[i]!));
  }
  // shuffle carries the group id (empty: every group) and no TagType.
  return { ...(input.groupId ? { groupId: input.groupId } : {}), tagIds: [], deliveryIds: input.silent ? [] : [tagEvent(core, 'shuffle', input.groupId ?? '')] };
}

export function tagChange(core: Core, input: TagChangeInput): TagChangeResult {
  switch (input.action) {
    case 'create':
      return create(core, input);
    case 'update':
      return update(core, input);
    case 'delete':
      return remove(core, input);
    case 'shuffle':
      return shuffle(core, input);
  }
}
