/** Shapes of the mass-send API (src/masssend) and their Chinese words. */
export type MassSendStatus = 'scheduled' | 'queued' | 'sending' | 'completed' | 'cancelled' | 'failed';

export interface MassSendContent {
  materialId: string;
  materialVersion: number;
  title: string;
  text: string;
  attachments: { msgtype?: string; link?: { title?: string }; image?: unknown; miniprogram?: { title?: string }; file?: unknown }[];
  productIds: string[];
  disclosures: string[];
}

export interface MassSend {
  id: string;
  name: string;
  audience: { segmentId: string } | { snapshotId: string };
  snapshotId: string | null;
  materialId: string | null;
  content: MassSendContent;
  purpose: 'marketing' | 'service';
  scheduledAt: string;
  status: MassSendStatus;
  error: string | null;
  createdAt: string;
  queuedAt: string | null;
  finishedAt: string | null;
  cancelledAt: string | null;
}

export interface MemberProgress {
  userid: string;
  name: string | null;
  total: number;
  byStatus: Record<string, number>;
  byDelivery: Record<string, number>;
  msgids: string[];
  confirm: string;
}

export interface Progress {
  id: string;
  status: MassSendStatus;
  audience: number | null;
  fannedOut: boolean;
  recipients: number;
  skipped: number | null;
  byStatus: Record<string, number>;
  byDelivery: Record<string, number>;
  unconfirmed: number;
  settled: number;
  percent: number;
  members: MemberProgress[];
}

export interface Recipient {
  customerId: string;
  cifNo: string;
  name: string;
  member: { userid: string; name: string | null } | null;
  status: string | null;
  delivery: string | null;
  result: string;
  reason: string;
  sentAt: string | null;
  deliveredAt: string | null;
}

export interface Preflight {
  content: { materialId: string; title: string; text: string; attachments: number; productIds: string[]; verdict: 'pass' | 'warn' | 'block'; findings: { rule: string; match: string; kind: 'block' | 'warn'; message: string }[]; appended: string[] };
  audience: number;
  reachable: number;
  skipped: number;
  members: { userid: string; name: string | null; customers: number }[];
  memberCount: number;
  gate: { pass: number; warn: number; block: number; reasons: { reason: string; count: number }[] };
  scheduledAt: string;
  quietUntil: string | null;
}

export const STATUS: Record<MassSendStatus, { label: string; tag: 'info' | 'primary' | 'success' | 'warning' | 'danger' }> = {
  scheduled: { label: '待发送', tag: 'info' },
  queued: { label: '生成任务中', tag: 'primary' },
  sending: { label: '发送中', tag: 'primary' },
  completed: { label: '已完成', tag: 'success' },
  cancelled: { label: '已取消', tag: 'warning' },
  failed: { label: '失败', tag: 'danger' },
};

export const CONFIRM: Record<string, { label: string; tag: 'info' | 'primary' | 'success' | 'warning' | 'danger' }> = {
  dispatching: { label: '下发中', tag: 'info' },
  awaiting: { label: '待成员确认', tag: 'warning' },
  unconfirmed: { label: '超时未确认', tag: 'danger' },
  confirmed: { label: '已确认发送', tag: 'success' },
  unsent: { label: '成员未发送', tag: 'danger' },
  cancelled: { label: '已取消', tag: 'info' },
  failed: { label: '未能发送', tag: 'danger' },
};

export const RESULTS: Record<string, { label: string; tag: 'info' | 'primary' | 'success' | 'warning' | 'danger' }> = {
  skipped: { label: '无企微好友', tag: 'info' },
  not_queued: { label: '未生成', tag: 'info' },
  pending: { label: '待下发', tag: 'info' },
  awaiting: { label: '待成员确认', tag: 'warning' },
  unconfirmed: { label: '超时未确认', tag: 'danger' },
  delivered: { label: '已送达', tag: 'success' },
  not_friend: { label: '已非好友', tag: 'danger' },
  quota_reached: { label: '超出接收上限', tag: 'warning' },
  unsent: { label: '成员未发送', tag: 'danger' },
  cancelled: { label: '已取消', tag: 'info' },
  blocked: { label: '合规拦截', tag: 'danger' },
  failed: { label: '发送失败', tag: 'danger' },
  expired: { label: '已过期', tag: 'danger' },
};

export const PURPOSE: Record<string, string> = { marketing: '营销', service: '服务通知' };
export const PROGRESS_EVENT = 'masssend.progress';
export const time = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString('zh-CN', { hour12: false }) : '—');
export const canSend = (role: string | undefined) => role === 'admin' || role === 'ops';
