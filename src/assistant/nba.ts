import { z } from 'zod';
import { checkSuitability } from '../compliance/index.js';
import type { AssistantDecision } from '../platform/db/schema.js';
import { closeAudit, emptyUsage, openAudit } from './audit.js';
import type { CustomerContext } from './customer.js';
import { modeOf, type AssistantDeps, type AssistantMode } from './deps.js';
import { generate, parseJsonObject } from './generate.js';
import { judgeDraft, worstVerdict } from './judge.js';
import type { ChatMessage } from './llm.js';
import { scoreFacts, tierLabel } from './profile.js';
import { bankRules, productBlock } from './prompts.js';

/**
 * The next best action for an account manager and one customer, ranked without a model:
 *
 * 1. a high churn risk: reach out first (with the model's reasons);
 * 2. a missing or expired risk assessment: nothing with a risk level may be recommended until it
 *    is redone;
 * 3. the nightly propensity recommendations, re-checked for suitability today (an assessment may
 *    have expired since the night), best score first; unsuitable ones are listed as excluded,
 *    never as actions. Without marketing consent a product is raised only if the customer asks.
 * A medium churn risk comes after the first product. At most MAX_ACTIONS actions.
 *
 * With a model, each action also gets a short script the member may send, judged by the gate
 * (a blocked script is left out). The model is told the tier label, never the balance.
 */
export interface NextAction {
  kind: 'retention' | 'risk_assessment' | 'product';
  title: string;
  reason: string;
  productId: string | null;
  score: number | null;
  /** For products: the gate's suitability check today. */
  suitability: { ok: boolean; reason: string } | null;
  /** Marketing a product needs the customer's consent. */
  consent: { required: boolean; ok: boolean };
  script: string | null;
  scriptVerdict: 'pass' | 'warn' | null;
}

export interface NextBestActionResult {
  mode: AssistantMode;
  tier: string;
  scoredAt: Date | null;
  actions: NextAction[];
  excluded: { productId: string; productName: string; reason: string }[];
  phrasedBy: 'llm' | null;
  note: string | null;
  auditId: string;
}

export const MAX_ACTIONS = 3;

export async function nextBestAction(deps: AssistantDeps, input: { staffId: string; customer: CustomerContext }): Promise<NextBestActionResult> {
  const startedAt = Date.now();
  const now = deps.now?.() ?? new Date();
  const mode = modeOf(deps);
  const { customer } = input;
  const auditId = await openAudit(deps.db, { purpose: 'next_best_action', mode, channel: 'sidebar', staffId: input.staffId, customerId: customer.id, model: deps.llm?.model });
  const [tier, scores] = await Promise.all([tierLabel(deps.db, customer.id), scoreFacts(deps.db, customer.id)]);

  const action = (a: Omit<NextAction, 'script' | 'scriptVerdict' | 'productId' | 'score' | 'suitability' | 'consent'> & Partial<NextAction>): NextAction => ({
    productId: null, score: null, suitability: null, consent: { required: false, ok: true }, script: null, scriptVerdict: null, ...a,
  });
  const retention = scores?.churnBand === 'high' || scores?.churnBand === 'medium'
    ? action({ kind: 'retention', title: '主动联系关怀，了解近况与需求', reason: `流失风险${scores.churnBand === 'high' ? '高' : '中'}${scores.churnReasons.length ? `：${scores.churnReasons.slice(0, 2).join('；')}` : ''}` })
    : null;
  const assessment = customer.assessmentValid
    ? null
    : action({ kind: 'risk_assessment', title: '邀请客户完成风险测评', reason: customer.riskAssessedAt ? `风险测评已过期（${customer.riskAssessedAt.slice(0, 10)}），过期期间不得推荐有风险等级的产品` : '客户尚未做风险测评，不得推荐有风险等级的产品' });

  const recommendations = scores?.recommendations ?? [];
  const fit = new Map(checkSuitability(recommendations.map((r) => r.productId), customer.facts, now).map((s) => [s.productId, s]));
  const products: NextAction[] = [];
  const excluded: NextBestActionResult['excluded'] = [];
  for (const r of [...recommendations].sort((a, b) => b.score - a.score)) {
    const s = fit.get(r.productId);
    if (!s?.ok) {
      excluded.push({ productId: r.productId, productName: r.productName, reason: s?.reason ?? '未知产品' });
      continue;
    }
    products.push(action({
      kind: 'product', title: `介绍「${r.productName}」`, reason: customer.marketingConsent ? r.reason : `${r.reason}；客户未授权营销，仅在客户主动咨询时介绍`,
      productId: r.productId, score: r.score, suitability: { ok: true, reason: s.reason }, consent: { required: true, ok: customer.marketingConsent },
    }));
  }
  const ranked = [
    ...(retention && scores?.churnBand === 'high' ? [retention] : []),
    ...(assessment ? [assessment] : []),
    ...products.slice(0, 1),
    ...(retention && scores?.churnBand === 'medium' ? [retention] : []),
    ...products.slice(1),
  ].slice(0, MAX_ACTIONS);

  const base = { mode, tier, scoredAt: scores?.computedAt ?? null, excluded, auditId };
  if (!deps.llm || !ranked.length) {
    const reason = deps.llm ? 'no_actions' : 'retrieval_only';
    await closeAudit(deps.db, auditId, { decision: deps.llm ? 'answered' : 'fallback', reason, answer: JSON.stringify(ranked), startedAt });
    return { ...base, actions: ranked, phrasedBy: null, note: deps.llm ? null : '未配置大模型（检索模式）：按评分排序，未生成话术' };
  }

  const prompt = scriptPrompt(await deps.gate.rules(), customer, tier, ranked, now);
  const phrased = await generate(deps.llm, prompt, {
    deadlineMs: deps.deadlineMs,
    parse: (text) => parseJsonObject(text, z.object({ scripts: z.array(z.string().max(1000)).length(ranked.length) }))?.scripts ?? null,
  });
  let decision: AssistantDecision = phrased.ok ? 'answered' : phrased.failure?.transient ? 'fallback' : 'error';
  const verdicts: { index: number; verdict: string; findings: unknown[] }[] = [];
  if (phrased.ok) {
    for (const [index, a] of ranked.entries()) {
      const script = phrased.value[index]?.trim();
      if (!script) continue;
      const judged = await judgeDraft(deps.gate, script, { customer, purpose: a.kind === 'product' ? 'marketing' : 'service', now });
      verdicts.push({ index, verdict: judged.verdict, findings: judged.findings });
      if (judged.verdict !== 'block') Object.assign(a, { script: judged.text, scriptVerdict: judged.verdict });
    }
    if (verdicts.length && verdicts.every((v) => v.verdict === 'block')) decision = 'blocked';
  }
  await closeAudit(deps.db, auditId, {
    decision, reason: phrased.ok ? null : phrased.reason, prompt, modelAnswer: phrased.raw, answer: JSON.stringify(ranked), usage: phrased.usage ?? emptyUsage(),
    gateVerdict: worstVerdict(verdicts.map((v) => v.verdict as 'pass' | 'warn' | 'block')), gateFindings: verdicts, startedAt,
  });
  return { ...base, actions: ranked, phrasedBy: phrased.ok ? 'llm' : null, note: phrased.ok ? null : `大模型暂不可用（${phrased.reason}）：未生成话术`, auditId };
}

function scriptPrompt(rules: Parameters<typeof bankRules>[0], customer: CustomerContext, tier: string, actions: readonly NextAction[], now: Date): ChatMessage[] {
  const system = [
    '你帮星河银行的客户经理起草发给客户的企业微信消息。',
    bankRules(rules),
    `【任务】为下面每个行动各写一条发给客户的简短消息（每条不超过80字），口吻亲切专业，不提及评分、流失风险等内部信息。只输出一个JSON对象：{"scripts": ["第1条", "第2条"]}，条数与行动数相同（${actions.length}条）。`,
    productBlock(actions.flatMap((a) => (a.productId ? [a.productId] : [])), customer, now),
  ].filter(Boolean).join('\n\n');
  const user = [
    `客户称呼：${customer.salutation}；客户分层：${tier}；${customer.riskLevel ? `风险承受等级${customer.riskLevel}` : '未做风险测评'}`,
    ...actions.map((a, i) => `${i + 1}. ${a.title}`),
  ].join('\n');
  return [{ role: 'system', content: system }, { role: 'user', content: user }];
}
