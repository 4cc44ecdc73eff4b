/**
 * The sandbox world's records. Field names follow WeCom's JSON (SHAPES.md) where the record is served
 * as is, so handlers can copy them out without renaming; sandbox-only bookkeeping is camelCase.
 */
export interface Department {
  id: number;
  name: string;
  name_en: string;
  department_leader: string[];
  parentid: number;
  order: number;
}

export interface Member {
  userid: string;
  name: string;
  department: number[];
  order: number[];
  position: string;
  is_leader_in_dept: number[];
  direct_leader: string[];
  status: 1 | 2 | 4 | 5;
  main_department: number;
  alias: string;
  telephone: string;
  external_position: string;
  open_userid: string;
  /** The demo branch this member belongs to (sandbox only). */
  branchId: string | null;
}

export interface ExternalContact {
  external_userid: string;
  name: string;
  avatar?: string;
  type: 1 | 2;
  gender: 0 | 1 | 2;
  unionid?: string;
  /** The synthetic customer this contact was drawn from (sandbox only; null for simulated walk-ins). */
  cifNo: string | null;
  mobile: string | null;
}

export interface FollowRelation {
  /** Creation order; cursors page by it, so paging is stable while relations come and go. */
  seq: number;
  userid: string;
  external_userid: string;
  remark: string;
  description: string;
  createtime: number;
  tagIds: string[];
  /** The member's personal tags (type 2: name only, no id). */
  personalTags: string[];
  remark_corp_name: string;
  remark_mobiles: string[];
  oper_userid: string;
  add_way: number;
  state?: string;
  /** Once the chat has begun a welcome message can no longer be sent (41051). */
  chatStarted: boolean;
}

export interface EndedFollow extends FollowRelation {
  endedAt: number;
  endedBy: 'customer' | 'member' | 'transfer' | 'drift';
}

export interface CorpTag {
  id: string;
  name: string;
  create_time: number;
  order: number;
  deleted: boolean;
  /** Who made it: an app may edit or delete only the tags it created (SHAPES §4). */
  createdBy: 'console' | 'api';
}

export interface TagGroup {
  group_id: string;
  group_name: string;
  create_time: number;
  order: number;
  deleted: boolean;
  createdBy: 'console' | 'api';
  tag: CorpTag[];
}

export interface ContactWay {
  config_id: string;
  type: 1 | 2;
  scene: 1 | 2;
  style: number;
  remark: string;
  skip_verify: boolean;
  state: string;
  qr_code?: string;
  user: string[];
  party: number[];
  is_temp: boolean;
  expires_in: number;
  chat_expires_in: number;
  unionid: string;
  conclusions: Record<string, unknown>;
  /** Ways made in the admin console are usable by customers but invisible to the API. */
  viaApi: boolean;
  createdAt: number;
  deleted: boolean;
}

export interface WelcomeCode {
  code: string;
  userid: string;
  external_userid: string;
  issuedAtMs: number;
  used: boolean;
}

export type ReceivedKind = 'welcome' | 'mass' | 'app' | 'kf' | 'transfer';

/** One message that reached a customer, a member or a group: what tests count to prove "exactly once". */
export interface Received {
  seq: number;
  kind: ReceivedKind;
  /** external_userid (welcome, mass, kf), member userid (app) or chat_id (group mass send). */
  to: string;
  /** member userid, `agent:<id>` or open_kfid. */
  from: string;
  at: number;
  msgtype: string;
  content: Record<string, unknown>;
  /** welcome_code, mass-send msgid, app msgid or kf msgid. */
  ref: string;
}

export interface MassTarget {
  id: string;
  status: 0 | 1 | 2 | 3;
  send_time?: number;
}

export interface MassSender {
  userid: string;
  status: 0 | 2;
  send_time?: number;
  decision?: 'confirmed' | 'ignored';
  targets: MassTarget[];
}

export interface MassSend {
  seq: number;
  msgid: string;
  chat_type: 'single' | 'group';
  creator?: string;
  create_type: 0 | 1;
  create_time: number;
  text?: { content: string };
  attachments: unknown[];
  allow_select: boolean;
  cancelled: boolean;
  reminders: number[];
  senders: MassSender[];
}

export interface GroupMember {
  userid: string;
  type: 1 | 2;
  unionid?: string;
  join_time: number;
  join_scene: 1 | 2 | 3;
  invitor?: { userid: string };
  group_nickname: string;
  name: string;
}

export interface GroupChat {
  seq: number;
  chat_id: string;
  name: string;
  owner: string;
  create_time: number;
  notice: string;
  member_list: GroupMember[];
  admin_list: { userid: string }[];
  member_version: string;
  status: 0 | 1 | 2 | 3;
  dismissed: boolean;
}

export interface Transfer {
  seq: number;
  handover_userid: string;
  takeover_userid: string;
  external_userid: string;
  status: 1 | 2 | 3 | 4;
  takeover_time: number;
  createdAt: number;
  success_msg?: string;
}

export interface KfAccount {
  open_kfid: string;
  name: string;
}

export interface KfSession {
  open_kfid: string;
  external_userid: string;
  state: 0 | 1 | 2 | 3 | 4;
  servicer_userid?: string;
  lastCustomerMsgAt?: number;
  sentSinceCustomer: number;
}

/** A message kf/sync_msg returns (customer messages and system events; never what send_msg sent). */
export interface KfMessage {
  seq: number;
  msgid: string;
  open_kfid: string;
  external_userid: string;
  send_time: number;
  origin: 3 | 4 | 5;
  msgtype: string;
  payload: Record<string, unknown>;
}

export interface KfCode {
  code: string;
  kind: 'welcome' | 'msg_code';
  open_kfid: string;
  external_userid: string;
  issuedAtMs: number;
  used: boolean;
}

export interface ReceivingQuota {
  period: 'day' | 'week' | 'month';
  limit: number;
}

export interface WorldSettings {
  /** How many corp mass messages one customer may receive per period (WeCom's admin setting). */
  receivingQuota: ReceivingQuota;
  /** SHAPES §4: an app may edit or delete only the tags it created. */
  tagsEditableOnlyByCreator: boolean;
  /** API-created contact ways allowed per corp (41045). */
  contactWayLimit: number;
  /** Corp tags allowed per corp (40126). */
  corpTagLimit: number;
}
