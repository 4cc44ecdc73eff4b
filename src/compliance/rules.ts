import { z } from 'zod';
import { normalizePattern } from './normalize.js';

/**
 * The rule model. A rule set is a numbered, immutable version; the rules inside it are data:
 * - block: a forbidden phrase (promise of principal or return, absolute safety, …) → verdict block;
 * - warn: a superlative or vague guarantee → verdict warn (sendable after a human looks);
 * - disclosure: a sentence appended to wealth, fund and insurance content when missing;
 * - context_allow: what keeps clean messages clean. Its category says how it acts:
 *   phrase (an allow-phrase; a hit wholly inside it does not count: 刚兑换 covers 刚兑),
 *   deposit_insurance (an allow-phrase that also anchors a deposit-insurance sentence),
 *   negation (a cue such as 不承诺 that negates a phrase right after it),
 *   anti_fraud (a cue such as 诈骗 that marks a sentence as a fraud warning),
 *   warning (a cue such as 警惕 that marks what follows it in its clause as quoted, not claimed).
 * A rule's id is `kind:normalized pattern`, stable across versions, so a diff can name it.
 */
export const RULE_KINDS = ['block', 'warn', 'disclosure', 'context_allow'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

export const CATEGORIES = {
  block: ['promise', 'absolute_safety', 'rigid_payment', 'exaggeration', 'catalogue', 'custom'],
  warn: ['superlative', 'vague_guarantee', 'catalogue', 'custom'],
  disclosure: ['wealth'],
  context_allow: ['phrase', 'deposit_insurance', 'negation', 'anti_fraud', 'warning'],
} as const satisfies Record<RuleKind, readonly string[]>;

export const CATEGORY_LABELS: Record<string, string> = {
  promise: '承诺保本保收益',
  absolute_safety: '宣称无风险或绝对安全',
  rigid_payment: '刚性兑付表述',
  exaggeration: '夸大收益',
  catalogue: '产品合规要点禁用表述',
  custom: '合规自定义禁用语',
  superlative: '绝对化用语',
  vague_guarantee: '含糊的保障性表述',
};

export interface RuleInput {
  kind: RuleKind;
  pattern: string;
  /** Pinyin initials the bank lists for this phrase (bb for 保本); block and warn only. */
  pinyin?: string | null;
  category: string;
  note?: string | null;
}

export interface Rule extends RuleInput {
  id: string;
  pinyin: string | null;
  note: string | null;
}

export const ruleId = (kind: RuleKind, pattern: string) => `${kind}:${normalizePattern(pattern)}`;

export const ruleInputSchema = z
  .object({
    kind: z.enum(RULE_KINDS),
    pattern: z.string().trim().min(1).max(60),
    pinyin: z.string().trim().toLowerCase().regex(/^[a-z]{2,12}$/, 'must be 2 to 12 latin letters').nullish(),
    category: z.string().trim().min(1).max(40),
    note: z.string().trim().max(500).nullish(),
  })
  .superRefine((rule, ctx) => {
    const allowed: readonly string[] = CATEGORIES[rule.kind];
    if (!allowed.includes(rule.category)) {
      ctx.addIssue({ code: 'custom', path: ['category'], message: `must be one of ${allowed.join(', ')} for kind ${rule.kind}` });
    }
    if (rule.pinyin && rule.kind !== 'block' && rule.kind !== 'warn') {
      ctx.addIssue({ code: 'custom', path: ['pinyin'], message: 'only block and warn rules have pinyin initials' });
    }
    const normalized = normalizePattern(rule.pattern);
    if (!normalized) ctx.addIssue({ code: 'custom', path: ['pattern'], message: 'must contain letters or digits' });
    else if ((rule.kind === 'block' || rule.kind === 'warn') && normalized.length < 2) {
      ctx.addIssue({ code: 'custom', path: ['pattern'], message: 'must be at least 2 characters (a single character matches too much)' });
    }
  });

/** Problems with a whole list, each at the index of the offending rule. */
export function listIssues(rules: readonly RuleInput[]): { index: number; field: string; message: string }[] {
  const issues: { index: number; field: string; message: string }[] = [];
  const seen = new Map<string, number>();
  rules.forEach((rule, index) => {
    const id = ruleId(rule.kind, rule.pattern);
    const first = seen.get(id);
    if (first !== undefined) issues.push({ index, field: 'pattern', message: `duplicates rule ${first} (${id})` });
    else seen.set(id, index);
  });
  if (!rules.some((r) => r.kind === 'block')) issues.push({ index: -1, field: '', message: 'a rule set needs at least one block rule' });
  if (!rules.some((r) => r.kind === 'disclosure')) issues.push({ index: -1, field: '', message: 'a rule set needs the required disclosure (kind disclosure)' });
  return issues;
}

export function toRule(input: RuleInput): Rule {
  return {
    id: ruleId(input.kind, input.pattern),
    kind: input.kind,
    pattern: input.pattern.trim(),
    pinyin: input.pinyin ? input.pinyin.trim().toLowerCase() : null,
    category: input.category,
    note: input.note ?? null,
  };
}

export interface Term {
  rule: Rule;
  /** Normalized pattern. */
  norm: string;
}

/** A version ready for matching: patterns normalized once, grouped by what they do. */
export interface CompiledRuleSet {
  version: number;
  rules: readonly Rule[];
  terms: readonly Term[];
  allows: readonly Term[];
  depositAnchors: readonly string[];
  negations: readonly string[];
  fraudCues: readonly string[];
  warningCues: readonly string[];
  disclosures: readonly string[];
}

export function compileRuleSet(version: number, rules: readonly Rule[]): CompiledRuleSet {
  const norms = (kind: RuleKind, category?: string) =>
    rules.filter((r) => r.kind === kind && (category === undefined || r.category === category)).map((r) => normalizePattern(r.pattern));
  return {
    version,
    rules,
    terms: rules.filter((r) => r.kind === 'block' || r.kind === 'warn').map((rule) => ({ rule, norm: normalizePattern(rule.pattern) })),
    allows: rules
      .filter((r) => r.kind === 'context_allow' && (r.category === 'phrase' || r.category === 'deposit_insurance'))
      .map((rule) => ({ rule, norm: normalizePattern(rule.pattern) })),
    depositAnchors: norms('context_allow', 'deposit_insurance'),
    negations: norms('context_allow', 'negation'),
    fraudCues: norms('context_allow', 'anti_fraud'),
    warningCues: norms('context_allow', 'warning'),
    disclosures: rules.filter((r) => r.kind === 'disclosure').map((r) => r.pattern),
  };
}
