import type { Finding, Verdict } from '../../content/labels';

export type RuleKind = 'block' | 'warn' | 'disclosure' | 'context_allow';

export interface Rule {
  id: string;
  kind: RuleKind;
  pattern: string;
  pinyin: string | null;
  category: string;
  note: string | null;
}

export interface RuleSet {
  version: number;
  basedOn: number | null;
  note: string;
  createdBy: string | null;
  createdAt: string;
  active: boolean;
  rules: Rule[];
}

export interface RuleSetVersion {
  version: number;
  basedOn: number | null;
  note: string;
  createdBy: string | null;
  createdByUsername: string | null;
  createdAt: string;
  active: boolean;
  ruleCount: number;
}

export interface CheckResult {
  verdict: Verdict;
  findings: Finding[];
  disclosures: string[];
  appended: string[];
  text: string;
  suppressed: { rule: string; match: string; start: number; end: number; context: string; cue: string }[];
  suitability: { productId: string; ok: boolean; reason: string }[];
  consent: { required: boolean; ok: boolean };
  ruleSetVersion: number;
  reviewId?: string;
}

export interface Review {
  id: string;
  text: string;
  authorId: string | null;
  authorName: string | null;
  source: string;
  verdict: 'warn' | 'block';
  findings: Finding[];
  productIds: string[];
  ruleSetVersion: number | null;
  status: 'pending' | 'approved' | 'rejected';
  reviewerId: string | null;
  reviewerName: string | null;
  decisionNote: string | null;
  decidedAt: string | null;
  createdAt: string;
}

export const KINDS: Record<RuleKind, string> = { block: '禁止用语', warn: '慎用语', disclosure: '披露语', context_allow: '上下文放行' };

/** The categories each kind allows (src/compliance/rules.ts), in Chinese. */
export const CATEGORIES: Record<RuleKind, Record<string, string>> = {
  block: {
    promise: '承诺保本保收益', absolute_safety: '宣称无风险或绝对安全', rigid_payment: '刚性兑付表述', exaggeration: '夸大收益',
    catalogue: '产品合规要点禁用表述', custom: '合规自定义禁用语',
  },
  warn: { superlative: '绝对化用语', vague_guarantee: '含糊的保障性表述', catalogue: '产品合规要点禁用表述', custom: '合规自定义禁用语' },
  disclosure: { wealth: '理财、基金、保险风险提示' },
  context_allow: { phrase: '放行短语', deposit_insurance: '存款保险表述', negation: '否定词', anti_fraud: '反诈提示词', warning: '警示词' },
};

export const categoryLabel = (kind: RuleKind, category: string) => CATEGORIES[kind]?.[category] ?? category;

export const SOURCES: Record<string, string> = {
  sidebar: '侧边栏', mass_send: '群发', sop: 'SOP', ai_draft: 'AI 草稿', api: '合规检查', material: '素材', kb: '知识库', reply: '自动回复',
};

export const REVIEW_STATUSES: Record<Review['status'], string> = { pending: '待复核', approved: '已通过', rejected: '已驳回' };
