import type { WeComClient } from './client/index.js';

/** Typed wrappers for the WeCom endpoints the product uses (SHAPES.md). */
export interface Department {
  id: number;
  name: string;
  parentid: number;
  order: number;
}

export interface Member {
  userid: string;
  name: string;
  department: number[];
  main_department?: number;
  position?: string;
  status?: number;
}

export interface ExternalContact {
  external_userid: string;
  name: string;
  type: number;
  gender?: number;
  unionid?: string;
  avatar?: string;
}

export interface FollowInfo {
  userid: string;
  remark?: string;
  description?: string;
  createtime: number;
  tag_id?: string[];
  remark_mobiles?: string[];
  add_way?: number;
  state?: string;
  oper_userid?: string;
}

export interface FollowUser extends Omit<FollowInfo, 'tag_id'> {
  tags?: { group_name: string; tag_name: string; type: number; tag_id?: string }[];
}

export interface TagGroup {
  group_id: string;
  group_name: string;
  create_time: number;
  order: number;
  deleted?: boolean;
  tag: { id: string; name: string; create_time: number; order: number; deleted?: boolean }[];
}

export interface GroupChat {
  chat_id: string;
  name: string;
  owner: string;
  create_time: number;
  notice?: string;
  member_list: { userid: string; type: number; join_time: number; join_scene: number; invitor?: { userid: string }; group_nickname?: string; name?: string; unionid?: string }[];
  admin_list?: { userid: string }[];
  member_version?: string;
}

export interface ContactWayInput {
  type: 1 | 2;
  scene: 1 | 2;
  remark?: string;
  skip_verify?: boolean;
  state: string;
  user: string[];
}

export const wecomApi = (client: WeComClient) => ({
  departments: async () => (await client.call<{ department: Department[] }>('department/list')).department,
  members: async (departmentId: number) => (await client.call<{ userlist: Member[] }>('user/list', { query: { department_id: departmentId } })).userlist,
  contactsByMembers: (useridList: string[], cursor = '', limit = 100) =>
    client.call<{ external_contact_list: { external_contact: ExternalContact; follow_info: FollowInfo }[]; next_cursor: string }>('externalcontact/batch/get_by_user', {
      body: { userid_list: useridList, cursor, limit },
    }),
  contact: (externalUserid: string) =>
    client.call<{ external_contact: ExternalContact; follow_user: FollowUser[]; next_cursor?: string }>('externalcontact/get', { query: { external_userid: externalUserid } }),
  corpTags: async (filter: { tag_id?: string[]; group_id?: string[] } = {}) =>
    (await client.call<{ tag_group: TagGroup[] }>('externalcontact/get_corp_tag_list', { body: filter })).tag_group,
  addCorpTags: async (input: { group_id?: string; group_name?: string; order?: number; tag: { name: string; order?: number }[] }) =>
    (await client.call<{ tag_group: TagGroup }>('externalcontact/add_corp_tag', { body: input })).tag_group,
  editCorpTag: (input: { id: string; name?: string; order?: number }) => client.call('externalcontact/edit_corp_tag', { body: input }),
  deleteCorpTags: (input: { tag_id?: string[]; group_id?: string[] }) => client.call('externalcontact/del_corp_tag', { body: { tag_id: input.tag_id ?? [], group_id: input.group_id ?? [] } }),
  markTags: (input: { userid: string; external_userid: string; add_tag?: string[]; remove_tag?: string[] }) =>
    client.call('externalcontact/mark_tag', { body: { add_tag: [], remove_tag: [], ...input } }),
  addContactWay: (input: ContactWayInput) => client.call<{ config_id: string; qr_code?: string }>('externalcontact/add_contact_way', { body: input, idempotent: false }),
  updateContactWay: (input: { config_id: string } & Partial<Omit<ContactWayInput, 'type' | 'scene'>>) => client.call('externalcontact/update_contact_way', { body: input }),
  deleteContactWay: (configId: string) => client.call('externalcontact/del_contact_way', { body: { config_id: configId } }),
  sendWelcome: (input: { welcome_code: string; text?: { content: string }; attachments?: unknown[] }) => client.call('externalcontact/send_welcome_msg', { body: input }),
  groupChats: (cursor = '', limit = 1000) =>
    client.call<{ group_chat_list: { chat_id: string; status: number }[]; next_cursor?: string }>('externalcontact/groupchat/list', { body: { status_filter: 0, cursor, limit } }),
  groupChat: async (chatId: string) => (await client.call<{ group_chat: GroupChat }>('externalcontact/groupchat/get', { body: { chat_id: chatId, need_name: 1 } })).group_chat,
  userIdFromCode: (code: string) => client.call<{ userid?: string; openid?: string; external_userid?: string }>('auth/getuserinfo', { query: { code } }),
  jsapiTicket: () => client.call<{ ticket: string; expires_in: number }>('get_jsapi_ticket'),
  agentTicket: () => client.call<{ ticket: string; expires_in: number }>('ticket/get', { query: { type: 'agent_config' } }),
  kfSync: (input: { cursor?: string; token?: string; limit?: number; open_kfid?: string }) =>
    client.call<{ next_cursor: string; has_more: number; msg_list: KfMessage[] }>('kf/sync_msg', { body: input }),
});

export interface KfMessage {
  msgid: string;
  open_kfid?: string;
  external_userid?: string;
  send_time: number;
  origin: number;
  msgtype: string;
  text?: { content: string };
  event?: { event_type: string; open_kfid?: string; external_userid?: string; welcome_code?: string; [key: string]: unknown };
}

export type WeComApi = ReturnType<typeof wecomApi>;
