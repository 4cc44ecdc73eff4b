import { invalid } from '../platform/errors.js';
import { analyseContext, type ContextKind, type Hit } from './context.js';
import { normalizeText, occurrences, originalRange, type NormalizedText } from './normalize.js';
import {
  PRODUCTS, disclosureKey, genericMentions, needsRiskDisclosure, productsNamedIn, requiredSentences, type RiskLevel,
} from './products.js';
import { CATEGORY_LABELS, type CompiledRuleSet, type Rule } from './rules.js';

/**
 * The gate's verdict on one message: pure, synchronous, given a compiled rule set. The service
 * (gate.ts) supplies the active rule set and records the decision.
 */
export interface CustomerFacts {
  riskLevel: RiskLevel | null;
  /** Date of the customer's last risk assessment (YYYY-MM-DD or ISO), null when never assessed. */
  riskAssessedAt: string | null;
  marketingConsent: boolean;
}

export interface CheckInput {
  text: string;
  productIds?: readonly string[];
  customer?: CustomerFacts;
  /** Given by the sending channel (mass send: marketing, auto-reply: service); inferred when absent. */
  purpose?: 'marketing' | 'service';
  now?: Date;
}

export interface Finding {
  rule: string;
  match: string;
  start: number;
  end: number;
  kind: 'block' | 'warn';
  severity: 'high' | 'medium';
  message: string;
}

export interface Suppressed {
  rule: string;
  match: string;
  start: number;
  end: number;
  context: ContextKind;
  cue: string;
}

export interface SuitabilityResult { productId: string; ok: boolean; reason: string }

export interface CheckResult {
  verdict: 'pass' | 'warn' | 'block';
  findings: Finding[];
  /** Rule phrases found but not counted, with the context that cleared them. */
  suppressed: Suppressed[];
  /** Disclosures this content requires (present or appended). */
  disclosures: string[];
  /** The ones that were missing and were appended to `text`. */
  appended: string[];
  /** The message to send: the original with any missing disclosure appended. */
  text: string;
  products: string[];
  suitability: SuitabilityResult[];
  purpose: 'marketing' | 'service';
  consent: { required: boolean; ok: boolean };
  ruleSetVersion: number;
}

const RISK_ORDER: Record<RiskLevel, number> = { R1: 1, R2: 2, R3: 3, R4: 4, R5: 5 };
const ASSESSMENT_VALID_DAYS = 365;
const DAY_MS = 86_400_000;
const SALES_WORDS = /收益|利率|年化|业绩|净值|认购|申购|抢购|起购|起投|优惠|推荐|限时|专享|额度有限|开售|发售|配置/;
const RATE = /\d(?:\.\d+)?\s*[%％]/;

function pinyinHits(norm: NormalizedText, rule: Rule): Array<[number, number]> {
  if (!rule.pinyin) return [];
  const isLatin = (i: number) => /[a-z]/.test(norm.text[i] ?? '');
  // Initials count only as a word of their own: not glued to other latin letters (hobby, bbc.com).
  return occurrences(norm, rule.pinyin).filter(
    ([from, to]) => !(isLatin(from - 1) && norm.gap[from] === 0) && !(isLatin(to) && norm.gap[to] === 0),
  );
}

function findHits(norm: NormalizedText, rules: CompiledRuleSet): Array<Hit & { rule: Rule }> {
  const hits: Array<Hit & { rule: Rule }> = [];
  for (const { rule, norm: pattern } of rules.terms) {
    const kind = rule.kind as 'block' | 'warn';
    for (const [from, to] of [...occurrences(norm, pattern), ...pinyinHits(norm, rule)]) {
      hits.push({ rule, ruleId: rule.id, kind, category: rule.category, from, to });
    }
  }
  return hits;
}

/** Drops a hit wholly inside a longer (or equally long and more severe) one: 保本保息 reports once. */
function outermost<T extends Hit>(hits: T[]): T[] {
  const weight = (h: Hit) => (h.kind === 'block' ? 2 : 1);
  return hits.filter(
    (h) =>
      !hits.some(
        (o) => o !== h && o.from <= h.from && h.to <= o.to && (o.to - o.from > h.to - h.from || (o.to - o.from === h.to - h.from && weight(o) > weight(h))),
      ),
  );
}

function findingMessage(rule: Rule): string {
  const label = CATEGORY_LABELS[rule.category] ?? rule.category;
  const note = rule.note ? `（${rule.note}）` : '';
  return rule.kind === 'block'
    ? `禁止使用「${rule.pattern}」：${label}${note}，请删除或改写后再发送`
    : `慎用「${rule.pattern}」：${label}${note}，请确认有依据或改写`;
}

export function checkSuitability(productIds: readonly string[], customer: CustomerFacts, now: Date): SuitabilityResult[] {
  return productIds.map((productId) => {
    const product = PRODUCTS.get(productId);
    if (!product?.riskLevel) return { productId, ok: true, reason: '该产品无风险等级要求' };
    if (!customer.riskLevel || !customer.riskAssessedAt) return { productId, ok: false, reason: `客户未完成风险测评，不得推介${product.riskLevel}产品` };
    const assessed = new Date(customer.riskAssessedAt);
    if (Number.isNaN(assessed.getTime())) return { productId, ok: false, reason: '客户风险测评日期无效' };
    if ((now.getTime() - assessed.getTime()) / DAY_MS > ASSESSMENT_VALID_DAYS) {
      return { productId, ok: false, reason: `客户风险测评已超过${ASSESSMENT_VALID_DAYS}天有效期，须重新测评` };
    }
    if (RISK_ORDER[product.riskLevel] > RISK_ORDER[customer.riskLevel]) {
      return { productId, ok: false, reason: `产品风险等级${product.riskLevel}高于客户风险承受等级${customer.riskLevel}` };
    }
    return { productId, ok: true, reason: `产品风险等级${product.riskLevel}不高于客户风险承受等级${customer.riskLevel}` };
  });
}

export function checkMessage(input: CheckInput, rules: CompiledRuleSet): CheckResult {
  const given = input.productIds ?? [];
  const unknown = given.flatMap((id, i) => (PRODUCTS.has(id) ? [] : [{ path: `productIds.${i}`, message: `unknown product ${id}` }]));
  if (unknown.length) throw invalid('unknown product', unknown);

  const norm = normalizeText(input.text);
  const context = analyseContext(norm, rules);
  const hits = findHits(norm, rules).map((hit) => ({ hit, why: context.explain(hit) }));
  // A phrase inside a cleared phrase is cleared with it: in 不存在保本保息, 保息 goes with 保本保息.
  for (const h of hits) {
    h.why ??= hits.find((o) => o.why && o.hit.from <= h.hit.from && h.hit.to <= o.hit.to)?.why ?? null;
  }
  const active = hits.filter((h) => !h.why).map((h) => h.hit);
  const suppressed: Suppressed[] = hits.flatMap(({ hit, why }) => {
    if (!why) return [];
    const range = originalRange(norm, hit.from, hit.to);
    return [{ rule: hit.ruleId, match: input.text.slice(range.start, range.end), ...range, ...why }];
  });
  const findings: Finding[] = outermost(active)
    .sort((a, b) => a.from - b.from || b.to - a.to)
    .map((hit) => {
      const range = originalRange(norm, hit.from, hit.to);
      return {
        rule: hit.ruleId,
        match: input.text.slice(range.start, range.end),
        ...range,
        kind: hit.kind,
        severity: hit.kind === 'block' ? 'high' : 'medium',
        message: findingMessage(hit.rule),
      };
    });

  // Products: those the caller names and those the text names.
  const products = [...new Set([...given, ...productsNamedIn(norm)])];
  const generic = genericMentions(norm).filter((m) => !context.inAntiFraudSentence(m.from));
  const selling = SALES_WORDS.test(norm.text) || RATE.test(input.text);
  const catalogueProducts = products.map((id) => PRODUCTS.get(id)!);
  const riskContent = catalogueProducts.some((p) => needsRiskDisclosure(p, rules.disclosures)) || (generic.length > 0 && selling);

  const required: { sentence: string; equivalents: string[] }[] = [];
  if (riskContent) required.push(...rules.disclosures.map((d) => ({ sentence: d, equivalents: [] })));
  for (const p of catalogueProducts) required.push(...requiredSentences(p, norm));
  const present = disclosureKey(input.text);
  const disclosures: string[] = [];
  const appended: string[] = [];
  for (const r of required) {
    if (disclosures.includes(r.sentence)) continue;
    disclosures.push(r.sentence);
    if (![r.sentence, ...r.equivalents].some((s) => present.includes(disclosureKey(s)))) appended.push(r.sentence);
  }
  const text = appended.length ? `${input.text.trimEnd()}\n${appended.map((s) => s.replace(/[。.]$/, '') + '。').join('')}` : input.text;

  const purpose = input.purpose ?? (products.length > 0 || generic.length > 0 || selling ? 'marketing' : 'service');
  const suitability = input.customer ? checkSuitability(products, input.customer, input.now ?? new Date()) : [];
  const consentRequired = purpose === 'marketing' && input.customer !== undefined;
  const consent = { required: consentRequired, ok: !consentRequired || input.customer!.marketingConsent };

  const blocked = findings.some((f) => f.kind === 'block') || suitability.some((s) => !s.ok) || !consent.ok;
  const verdict = blocked ? 'block' : findings.length > 0 ? 'warn' : 'pass';
  return { verdict, findings, suppressed, disclosures, appended, text, products, suitability, purpose, consent, ruleSetVersion: rules.version };
}

/** Free text that reads like marketing (products, rates, returns): held for review when not clean. */
export function looksLikeMarketing(text: string): boolean {
  const norm = normalizeText(text);
  return productsNamedIn(norm).length > 0 || genericMentions(norm).length > 0 || SALES_WORDS.test(norm.text) || RATE.test(text);
}
