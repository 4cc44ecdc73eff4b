import type { Core } from '../core.js';
import { SandboxControlError } from '../errors.js';
import { memberVersion } from '../seedWorld.js';
import type { GroupChat, GroupMember } from '../types.js';
import { eventHeader } from './contacts.js';

/** Customer group changes made in the client (change_external_chat, SHAPES §13.2). */
export type GroupChangeInput =
  | { type: 'create'; owner: string; name?: string; members?: string[]; silent?: boolean }
  /** joinScene as the callback says it: 0 invited by a member, 3 scanned the group QR code. */
  | { type: 'add_member'; chatId: string; members: string[]; joinScene?: 0 | 3; silent?: boolean }
  /** quitScene: 0 left, 1 removed by the owner or an admin. */
  | { type: 'del_member'; chatId: string; members: string[]; quitScene?: 0 | 1; silent?: boolean }
  | { type: 'change_name'; chatId: string; name: string; silent?: boolean }
  | { type: 'change_notice'; chatId: string; notice: string; silent?: boolean }
  | { type: 'change_owner'; chatId: string; owner: string; silent?: boolean }
  | { type: 'dismiss'; chatId: string; silent?: boolean };

export interface GroupChangeResult {
  chatId: string;
  deliveryId: number | null;
}

function newMembers(core: Core, ids: string[], joinScene: 1 | 3, invitor: string, sec: number): GroupMember[] {
  const { world } = core;
  return ids.map((id): GroupMember => {
    const member = world.member(id);
    if (member) return { userid: id, type: 1, join_time: sec, join_scene: joinScene, ...(joinScene === 3 ? {} : { invitor: { userid: invitor } }), group_nickname: '', name: member.name };
    const contact = world.contacts.get(id);
    if (!contact) throw new SandboxControlError(`unknown member or customer ${id}`, 404);
    return {
      userid: id, type: 2, ...(contact.unionid ? { unionid: contact.unionid } : {}), join_time: sec, join_scene: joinScene,
      ...(joinScene === 3 ? {} : { invitor: { userid: invitor } }), group_nickname: '', name: contact.name,
    };
  });
}

function chat(core: Core, chatId: string): GroupChat {
  const found = core.world.groupChats.get(chatId);
  if (!found || found.dismissed) throw new SandboxControlError(`no group chat ${chatId}`, 404);
  return found;
}

export function groupChange(core: Core, input: GroupChangeInput): GroupChangeResult {
  const { world } = core;
  const sec = core.clock.seconds();
  const push = (chatId: string, fields: Record<string, string | number | string[]>) =>
    input.silent ? null : core.callbacks.push({ ...eventHeader(core, 'change_external_chat'), ChatId: chatId, ...fields }).id;

  if (input.type === 'create') {
    const owner = world.member(input.owner);
    if (!owner) throw new SandboxControlError(`no member ${input.owner}`, 404);
    const chatId = world.newChatId();
    const list = [{ userid: owner.userid, type: 1 as const, join_time: sec, join_scene: 1 as const, group_nickname: '', name: owner.name }, ...newMembers(core, (input.members ?? []).filter((m) => m !== owner.userid), 1, owner.userid, sec)];
    world.groupChats.set(chatId, {
      seq: world.nextSeq('group'), chat_id: chatId, name: input.name ?? '', owner: owner.userid, create_time: sec, notice: '', member_list: list, admin_list: [],
      member_version: memberVersion(list.map((m) => m.userid)), status: 0, dismissed: false,
    });
    return { chatId, deliveryId: push(chatId, { ChangeType: 'create' }) };
  }

  const group = chat(core, input.chatId);
  switch (input.type) {
    case 'add_member':
    case 'del_member': {
      const last = group.member_version;
      let changed: string[];
      if (input.type === 'add_member') {
        const fresh = input.members.filter((id) => !group.member_list.some((m) => m.userid === id));
        if (!fresh.length) throw new SandboxControlError('everyone given is already in the group', 409);
        // The callback's JoinScene 0/3 is groupchat/get's join_scene 1/3 (SHAPES §13.2).
        group.member_list.push(...newMembers(core, fresh, input.joinScene === 3 ? 3 : 1, group.owner, sec));
        changed = fresh;
      } else {
        const gone = input.members.filter((id) => group.member_list.some((m) => m.userid === id));
        if (!gone.length) throw new SandboxControlError('nobody given is in the group', 404);
        if (gone.includes(group.owner)) throw new SandboxControlError('the owner cannot leave; change the owner first', 409);
        group.member_list = group.member_list.filter((m) => !gone.includes(m.userid));
        group.admin_list = group.admin_list.filter((a) => !gone.includes(a.userid));
        changed = gone;
      }
      group.member_version = memberVersion(group.member_list.map((m) => m.userid));
      return {
        chatId: group.chat_id,
        deliveryId: push(group.chat_id, {
          ChangeType: 'update', UpdateDetail: input.type,
          JoinScene: input.type === 'add_member' ? (input.joinScene ?? 0) : 0, QuitScene: input.type === 'del_member' ? (input.quitScene ?? 0) : 0,
          MemChangeCnt: changed.length, MemChangeList: changed, LastMemVer: last, CurMemVer: group.member_version,
        }),
      };
    }
    case 'change_name':
      group.name = input.name;
      return { chatId: group.chat_id, deliveryId: push(group.chat_id, { ChangeType: 'update', UpdateDetail: 'change_name' }) };
    case 'change_notice':
      group.notice = input.notice;
      return { chatId: group.chat_id, deliveryId: push(group.chat_id, { ChangeType: 'update', UpdateDetail: 'change_notice' }) };
    case 'change_owner': {
      if (!group.member_list.some((m) => m.userid === input.owner && m.type === 1)) throw new SandboxControlError(`${input.owner} is not a member of the group`);
      group.owner = input.owner;
      return { chatId: group.chat_id, deliveryId: push(group.chat_id, { ChangeType: 'update', UpdateDetail: 'change_owner' }) };
    }
    case 'dismiss':
      group.dismissed = true;
      return { chatId: group.chat_id, deliveryId: push(group.chat_id, { ChangeType: 'dismiss' }) };
  }
}
