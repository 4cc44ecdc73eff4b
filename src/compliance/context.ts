import { GAP, normalizePattern, occurrences, strongestGapWithin, unitIds, type NormalizedText } from './normalize.js';
import type { CompiledRuleSet } from './rules.js';
import { PRODUCTS, genericMentions, productsNamedIn } from './products.js';

/**
 * Context: why a rule phrase found in a message may not count. Four mechanisms, each explainable
 * with the cue that triggered it (returned as `suppressed[].cue`):
 *
 * 1. allow — the hit lies wholly inside an allow-phrase (刚兑换 covers 刚兑; 存款保险 covers 保险).
 * 2. negation — a negation cue ends right before the hit, in the same clause, separated at most
 *    by a few connective words (对, 任何, 承诺, 使用, …, ≤ 4 characters): 非保本, 不承诺保本,
 *    不构成对保本收益的承诺, 没有零风险的投资. A negated negation is a promise (不会不保本).
 * 3. anti_fraud — the hit is quoted, not claimed: its sentence contains a fraud cue (诈骗, 骗局,
 *    冒充 …) in either direction, or a warning cue (警惕, 不要相信 …) earlier in its clause, or the
 *    hit is inside quotation marks and the message has either cue. A cue that is itself negated
 *    (这不是骗局) does not count, and a contrast, assertion or sales urgency (但, 我们的, 这款, 真的,
 *    错过 …) between cue and hit ends the cue's reach.
 * 4. deposit_insurance — in a message anchored by a deposit-insurance phrase (存款保险 …) that
 *    names no wealth, fund or insurance product anywhere, vague guarantees (有保障) are a truthful
 *    statement about deposits. Block phrases stay blocked even there.
 */
export type ContextKind = 'allow' | 'negation' | 'anti_fraud' | 'deposit_insurance';

export interface Hit {
  ruleId: string;
  kind: 'block' | 'warn';
  category: string;
  from: number;
  to: number;
}

/** Connective words allowed between a negation cue and the phrase it negates. */
const BRIDGES = ['任何', '承诺', '保证', '作出', '使用', '宣传', '构成', '代表', '提供', '等于', '属于', '对', '是', '为', '作', '做', '说', '能', '会', '可'];
const BRIDGE_WINDOW = 4;
/** Reassurances that negate a fraud cue (别担心被骗 is not a fraud warning). */
const REASSURANCES = ['别担心', '不用担心', '不必担心', '无需担心', '放心'].map(normalizePattern);
/** Words that end a fraud cue's reach: a contrast, the author speaking for a product, sales urgency. */
const CONTRASTS = ['但', '不过', '可是', '然而', '我们的', '我行的', '本行的', '这款', '本产品', '真的', '真正', '放心', '错过', '抢购', '赶紧', '名额'].map(normalizePattern);

const endsAt = (text: string, word: string, at: number) => at - word.length >= 0 && text.startsWith(word, at - word.length);

/**
 * The negation cue governing position `at`, if any: a cue ending at `at`, or before a run of
 * bridge words ending at `at`, with no clause boundary in between.
 */
export function negationBefore(norm: NormalizedText, at: number, cues: readonly string[], depth = 0): string | null {
  const text = norm.text;
  const ends = new Set<number>([at]);
  const queue = [at];
  while (queue.length) {
    const end = queue.shift()!;
    for (const cue of cues) {
      if (!cue || !endsAt(text, cue, end)) continue;
      const cueStart = end - cue.length;
      if (strongestGapWithin(norm, cueStart, at + 1) >= GAP.clause) continue;
      // 不会不保本: a negated negation asserts.
      if (depth === 0 && negationBefore(norm, cueStart, cues, 1)) continue;
      return cue;
    }
    for (const bridge of BRIDGES) {
      const next = end - bridge.length;
      if (at - next <= BRIDGE_WINDOW && endsAt(text, bridge, end) && !ends.has(next)) {
        ends.add(next);
        queue.push(next);
      }
    }
  }
  return null;
}

const containsAny = (norm: NormalizedText, from: number, to: number, words: readonly string[]) =>
  words.some((w) => w && to - from >= w.length && norm.text.slice(from, to).includes(w));

interface Cue { cue: string; from: number; to: number }

function liveCues(norm: NormalizedText, cues: readonly string[], negations: readonly string[]): Cue[] {
  const found: Cue[] = [];
  for (const cue of cues) {
    for (const [from, to] of occurrences(norm, cue)) {
      if (negationBefore(norm, from, negations)) continue;
      if (REASSURANCES.some((r) => endsAt(norm.text, r, from) || norm.text.slice(Math.max(0, from - 6), from).includes(r))) continue;
      found.push({ cue, from, to });
    }
  }
  return found;
}

export interface ContextAnalysis {
  /** Why the hit does not count, or null when it does. */
  explain(hit: Hit): { context: ContextKind; cue: string } | null;
  /** True when normalized position `at` lies in a fraud-warning sentence. */
  inAntiFraudSentence(at: number): boolean;
}

export function analyseContext(norm: NormalizedText, rules: CompiledRuleSet): ContextAnalysis {
  const allowSpans = rules.allows.flatMap((allow) => occurrences(norm, allow.norm).map(([from, to]) => ({ from, to, cue: allow.rule.pattern })));
  const fraud = liveCues(norm, rules.fraudCues, rules.negations);
  const warnings = liveCues(norm, rules.warningCues, rules.negations);
  const anchors = rules.depositAnchors.flatMap((a) => occurrences(norm, a).map(([from]) => ({ cue: a, from })));
  // Non-deposit products named anywhere: by a generic word (理财, 基金, 保险 …) or a catalogue name.
  const nonDeposit = genericMentions(norm).length + productsNamedIn(norm).filter((id) => PRODUCTS.get(id)?.type !== 'deposit').length;

  const sentences = unitIds(norm, GAP.line);
  const clauses = unitIds(norm, GAP.clause);
  const sameSentence = (a: number, b: number) => sentences[a] === sentences[b];
  const sameClause = (a: number, b: number) => clauses[a] === clauses[b];
  const contrastBetween = (cue: Cue, hit: Hit) =>
    cue.to <= hit.from ? containsAny(norm, cue.to, hit.from, CONTRASTS) : containsAny(norm, hit.to, cue.from, CONTRASTS);

  function antiFraud(hit: Hit): Cue | undefined {
    const fraudHere = fraud.find((c) => sameSentence(c.from, hit.from) && !contrastBetween(c, hit) && (c.to <= hit.from || c.from >= hit.to));
    if (fraudHere) return fraudHere;
    const warningHere = warnings.find((c) => c.to <= hit.from && sameClause(c.from, hit.from) && !contrastBetween(c, hit));
    if (warningHere) return warningHere;
    if (norm.quoted[hit.from]) {
      return [...fraud, ...warnings].find((c) => !sameSentence(c.from, hit.from) || !contrastBetween(c, hit));
    }
    return undefined;
  }

  function depositInsurance(hit: Hit): string | undefined {
    if (hit.kind !== 'warn' || hit.category !== 'vague_guarantee') return undefined;
    return nonDeposit === 0 ? anchors[0]?.cue : undefined;
  }

  return {
    explain(hit) {
      const allow = allowSpans.find((s) => s.from <= hit.from && hit.to <= s.to);
      if (allow) return { context: 'allow', cue: allow.cue };
      const negation = negationBefore(norm, hit.from, rules.negations);
      if (negation) return { context: 'negation', cue: negation };
      const fraudCue = antiFraud(hit);
      if (fraudCue) return { context: 'anti_fraud', cue: fraudCue.cue };
      const anchor = depositInsurance(hit);
      if (anchor) return { context: 'deposit_insurance', cue: anchor };
      return null;
    },
    inAntiFraudSentence(at) {
      return fraud.some((c) => sameSentence(c.from, at));
    },
  };
}
