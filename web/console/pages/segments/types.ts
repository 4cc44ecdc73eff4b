import type { FilterTree } from '../../filter/model';

/** The segments API's shapes (src/segments), as the pages read them. */
export type SegmentMethod = 'fixed' | 'rule' | 'derived' | 'score' | 'imported' | 'custom';

export type SegmentDefinition =
  | { method: 'fixed' }
  | { method: 'rule'; filter: FilterTree }
  | { method: 'derived'; op: 'union' | 'intersection' | 'difference'; segments: string[] }
  | { method: 'score'; filter?: FilterTree; propensity?: { productId: string; minScore: number } }
  | { method: 'imported'; source?: string }
  | { method: 'custom'; filter: FilterTree };

export interface SegmentView {
  id: string;
  name: string;
  method: SegmentMethod;
  description: string | null;
  definition: SegmentDefinition;
  summary: string;
  refreshCron: string | null;
  /** Bank-wide, for roles that see the whole bank; null otherwise. */
  memberCount: number | null;
  refreshedAt: string | null;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
  /** In the caller's scope (GET /segments/:id only). */
  count?: number;
}

export interface PreviewItem {
  id: string;
  cifNo: string;
  name: string;
  mobile: string | null;
  aum: string;
  riskLevel: string | null;
  branchName: string | null;
  tags: string[];
}

export interface ExplicitMember {
  id: string;
  cifNo: string;
  name: string;
  mobile: string | null;
  branchName: string | null;
  addedAt: string;
}

export interface Snapshot {
  id: string;
  memberCount: number;
  createdBy: string | null;
  createdAt: string;
}

export const METHODS: Record<SegmentMethod, { label: string; hint: string }> = {
  rule: { label: '规则圈选', hint: '按客户属性、资产、标签、企微关系等条件圈选，数据变化后自动更新。' },
  fixed: { label: '固定名单', hint: '手工添加指定客户（客户号），名单不随数据变化。' },
  derived: { label: '客群运算', hint: '对已有客群取并集、交集或差集。' },
  score: { label: '模型分圈选', hint: '按流失风险、RFM 分类等模型分，或产品倾向分阈值圈选。' },
  imported: { label: '导入名单', hint: '上传客户号名单，每次上传替换原名单。' },
  custom: { label: '自定义规则', hint: '规则圈选，再手工添加或排除个别客户；排除优先。' },
};

export const METHOD_ORDER: SegmentMethod[] = ['rule', 'fixed', 'derived', 'score', 'imported', 'custom'];

export const DERIVED_OPS = { union: '并集（任一客群）', intersection: '交集（同时在所有客群）', difference: '差集（第一个客群排除其余）' } as const;

/** Fields a model-score segment may test (src/segments SCORE_FIELDS). */
export const SCORE_FIELDS = ['churn_probability', 'churn_band', 'rfm_class', 'recency_score', 'frequency_score', 'monetary_score'] as const;

export const REFRESH_PRESETS: { cron: string | null; label: string }[] = [
  { cron: null, label: '不自动刷新' },
  { cron: '0 * * * *', label: '每小时整点' },
  { cron: '0 6 * * *', label: '每天 06:00' },
  { cron: '0 6 * * 1', label: '每周一 06:00' },
  { cron: '0 6 1 * *', label: '每月 1 日 06:00' },
];

export const refreshLabel = (cron: string | null) => REFRESH_PRESETS.find((p) => p.cron === cron)?.label ?? `自定义：${cron}`;

/** Customer references typed or pasted: CIF numbers (or ids) separated by lines, spaces or commas. */
export const parseRefs = (text: string): string[] => [...new Set(text.split(/[\s,，;；]+/).map((s) => s.trim()).filter(Boolean))];
