/** Chinese names for what the customer APIs return (src/customers, src/tags, src/scoring). */
export interface CustomerRow {
  id: string;
  cif_no: string;
  name: string;
  gender: 'M' | 'F' | null;
  mobile: string | null;
  branch_id: string | null;
  aum: string;
  risk_level: string | null;
  risk_assessed_at: string | null;
  segments: string[];
  marketing_consent: boolean;
}

export interface CustomerRecord extends Omit<CustomerRow, 'mobile'> {
  mobile: string | null;
  idNumber: string | null;
  revealed: boolean;
  birth_date: string | null;
  products: string[];
  last_txn_at: string | null;
  created_at: string;
  updated_at: string;
  attrs: Record<string, unknown>;
  contacts: { corp_id: string; external_userid: string; name: string; userid: string | null; state: string | null; added_at: string | null; deleted_at: string | null }[];
  tags: { id: string; name: string; group: string; layer: string; source: string; cause: string | null; assigned_at: string }[];
}

export interface Scores {
  computedAt: string | null;
  rfm: { class: string; recency: number | null; frequency: number | null; monetary: number | null } | null;
  churn: { probability: number | null; band: 'low' | 'medium' | 'high'; reasons: { feature: string; text: string; contribution: number }[] } | null;
  propensity: { productId: string; productName: string; score: number; reason: string; basisProductId?: string }[];
}

export interface TimelineEntry {
  id: string;
  at: string;
  kind: string;
  summary: string;
  detail: Record<string, unknown>;
  cause_type: string;
  cause_id: string | null;
  /** A staff member's display name when the cause is one (`member`), else null. */
  cause_name: string | null;
}

export interface LinkEntry {
  id: string;
  corp_id: string;
  external_userid: string;
  action: 'link' | 'unlink';
  method: 'mobile' | 'unionid' | 'manual' | 'import';
  reason: string | null;
  actor_type: string;
  actor_id: string | null;
  /** The staff member's display name when a member made the change. */
  actor_name: string | null;
  at: string;
}

export const GENDERS: Record<string, string> = { M: '男', F: '女' };
export const LAYERS: Record<string, string> = { fact: '事实标签', rule: '规则标签', model: '模型标签', manual: '手工标签' };
export const TAG_SOURCES: Record<string, string> = {
  fact: '客户数据', rule: '规则', model: '模型', member: '员工', sop: 'SOP旅程', import: '导入', wecom: '企业微信',
};
export const CAUSES: Record<string, string> = { member: '员工', customer: '客户', sop: 'SOP旅程', system: '系统', staff: '员工' };
export const LINK_METHODS: Record<string, string> = { mobile: '手机号匹配', unionid: 'UnionID 匹配', manual: '人工绑定', import: '导入' };
export const CHURN_BANDS: Record<string, { label: string; type: 'success' | 'warning' | 'danger' }> = {
  low: { label: '低', type: 'success' }, medium: { label: '中', type: 'warning' }, high: { label: '高', type: 'danger' },
};
export const TIMELINE_KINDS: Record<string, string> = {
  contact_added: '添加企微', contact_deleted: '删除好友', tags_changed: '企业标签', message_in: '客户消息', message_out: '发出消息',
  linked: '关联档案', unlinked: '解除关联', card_viewed: '查看名片', card_shared: '转发名片', card_scanned: '扫码名片', card_referral: '名片推荐',
  appointment_booked: '网点预约',
};

export const money = (v: string | number) => Number(v).toLocaleString('zh-CN', { maximumFractionDigits: 2 });
export const time = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString('zh-CN', { hour12: false }) : '—');
export const day = (iso: string | null | undefined) => (iso ? iso.slice(0, 10) : '—');

/** A risk assessment is valid for 365 days (src/filters: risk_assessment_valid). */
export function riskExpiry(assessedAt: string | null): { date: string; expired: boolean; daysLeft: number } | null {
  if (!assessedAt) return null;
  const start = Date.parse(`${assessedAt.slice(0, 10)}T00:00:00+08:00`);
  const expires = start + 365 * 86_400_000;
  const today = Date.parse(`${new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10)}T00:00:00+08:00`);
  const date = new Date(expires + 8 * 3_600_000).toISOString().slice(0, 10);
  const daysLeft = Math.round((expires - today) / 86_400_000);
  return { date, expired: daysLeft < 0, daysLeft };
}
