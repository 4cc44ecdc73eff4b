/** The shapes of /api/v1/sandbox/... as the simulator uses them. */
export interface SandboxMember {
  userid: string;
  name: string;
  branchId: string | null;
  staff: { id: string; displayName: string } | null;
  customers: number;
}

export interface SandboxCode {
  configId: string;
  state: string;
  members: string[];
  remark: string;
  /** The product's name for the code; null for codes made in the WeCom admin console. */
  name: string | null;
  contactWayId: string | null;
}

export interface SandboxWorld {
  corpId: string;
  members: SandboxMember[];
  contactWays: SandboxCode[];
  kfAccounts: { openKfid: string; name: string }[];
  tagGroups: { groupId: string; name: string; tags: { id: string; name: string }[] }[];
}

export interface SandboxContact {
  externalUserid: string;
  name: string;
  mobile: string | null;
  state: string | null;
  tagIds: string[];
  addedAt: string;
}

export interface SandboxDelivery {
  id: number;
  event: string;
  changeType: string | null;
  userid: string | null;
  externalUserid: string | null;
  state: string | null;
  openKfid: string | null;
  status: 'pending' | 'delivered' | 'failed' | 'skipped';
  attempts: number;
  lastHttpStatus: number | null;
  lastError: string | null;
  createdAt: string;
}

export interface SandboxReceived {
  seq: number;
  kind: 'welcome' | 'mass' | 'app' | 'kf' | 'transfer';
  from: string;
  msgtype: string;
  text: string;
  at: string;
}

/** contact.added on the console room (src/wecom/live.ts). */
export interface ContactAdded {
  corpId: string;
  externalUserid: string;
  userid: string;
  memberName: string | null;
  staffId: string | null;
  branchId: string | null;
  state: string | null;
  contactWay: { id: string; name: string } | null;
  linked: boolean;
  addedAt: string;
}

export const DELIVERY_NAMES: Record<SandboxDelivery['status'], string> = { pending: '投递中', delivered: '已送达', failed: '投递失败', skipped: '未设置回调地址' };
export const DELIVERY_TAGS: Record<SandboxDelivery['status'], 'warning' | 'success' | 'danger' | 'info'> = { pending: 'warning', delivered: 'success', failed: 'danger', skipped: 'info' };
export const RECEIVED_NAMES: Record<SandboxReceived['kind'], string> = { welcome: '欢迎语', mass: '群发', app: '应用消息', kf: '客服回复', transfer: '接替提示' };
