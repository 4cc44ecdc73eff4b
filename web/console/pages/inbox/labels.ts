/** Chinese names of WeCom callback events as the inbox and the simulator show them. */
export interface InboxItem {
  id: string;
  corpId: string;
  event: string;
  changeType: string | null;
  dedupeKey: string;
  status: 'received' | 'processed' | 'failed' | 'ignored';
  error: string | null;
  seenCount: number;
  failedAttempts: number;
  receivedAt: string;
  processedAt: string | null;
}

export const EVENT_NAMES: Record<string, string> = {
  change_external_contact: '客户联系变更',
  change_external_chat: '客户群变更',
  change_external_tag: '企业标签变更',
  kf_msg_or_event: '微信客服消息',
  text: '成员应用消息',
  unknown: '无法识别',
};

export const CHANGE_NAMES: Record<string, string> = {
  add_external_contact: '添加客户',
  add_half_external_contact: '免验证添加（待成员确认）',
  edit_external_contact: '编辑客户',
  del_external_contact: '成员删除客户',
  del_follow_user: '客户删除成员',
  transfer_fail: '客户接替失败',
  create: '创建',
  update: '变更',
  dismiss: '解散',
  delete: '删除',
  shuffle: '重新排序',
};

export const STATUS_NAMES: Record<InboxItem['status'], string> = { received: '待处理', processed: '已处理', failed: '失败', ignored: '已忽略' };
export const STATUS_TAGS: Record<InboxItem['status'], 'warning' | 'success' | 'danger' | 'info'> = { received: 'warning', processed: 'success', failed: 'danger', ignored: 'info' };

export const eventLabel = (item: { event: string; changeType: string | null }) =>
  `${EVENT_NAMES[item.event] ?? item.event}${item.changeType ? ` · ${CHANGE_NAMES[item.changeType] ?? item.changeType}` : ''}`;

export const clock = (iso: string | null) => (iso ? new Date(iso).toLocaleTimeString('zh-CN', { hour12: false }) : '');
export const dateTime = (iso: string | null) => (iso ? new Date(iso).toLocaleString('zh-CN', { hour12: false }) : '');

/**
 * Merges a live change into a list kept newest first (by id): a known row is replaced, a new one
 * put in its place by id; at most `max` rows are kept.
 */
export function mergeInbox(list: InboxItem[], change: InboxItem, max = 200): InboxItem[] {
  const without = list.filter((i) => i.id !== change.id);
  const at = without.findIndex((i) => BigInt(i.id) < BigInt(change.id));
  const next = at === -1 ? [...without, change] : [...without.slice(0, at), change, ...without.slice(at)];
  return next.slice(0, max);
}

/** The live event's data as an inbox item (the event id is the transport's, not the row's). */
export function inboxItemOf(data: Record<string, unknown>): InboxItem {
  const { eventId: _eventId, ...item } = data;
  return item as unknown as InboxItem;
}
