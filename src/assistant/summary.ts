import type { AssistantDecision } from '../platform/db/schema.js';
import { closeAudit, emptyUsage, openAudit } from './audit.js';
import type { CustomerContext } from './customer.js';
import { modeOf, type AssistantDeps, type AssistantMode } from './deps.js';
import { generate } from './generate.js';
import type { ChatMessage } from './llm.js';
import { productName } from './products.js';
import { recentTimeline, scoreFacts, tierLabel, type ScoreFacts, type TimelineFact } from './profile.js';
import { chinaDate, scrub } from './prompts.js';

/**
 * A three-line summary of a customer for the account manager: who they are, what happened
 * lately, what to watch. Built from the record, the timeline and the scores; with a model, the
 * same facts (minus the tier and, without consent, the holdings) are phrased by it, and its
 * answer is used only when it is exactly three lines.
 */
export interface SummaryResult {
  mode: AssistantMode;
  lines: [string, string, string];
  source: 'llm' | 'facts';
  note: string | null;
  auditId: string;
}

const RISK = (c: CustomerContext) => (c.riskLevel ? `风险承受等级${c.riskLevel}（测评${c.assessmentValid ? '有效' : '已过期'}）` : '未做风险测评');
const day = (at: Date) => chinaDate(at);

export function factLines(customer: CustomerContext, tier: string, timeline: readonly TimelineFact[], scores: ScoreFacts | null): [string, string, string] {
  const held = [...new Set(customer.products)].map(productName);
  const first = `${customer.salutation}，${tier}客户，${RISK(customer)}，${customer.marketingConsent ? '已授权营销' : '未授权营销'}。`;
  const latest = timeline[0];
  const second = `${latest ? `最近往来：${day(latest.at)} ${latest.summary}` : '近期无往来记录'}；持有${held.length ? `${held.length}项产品（${held.slice(0, 3).join('、')}${held.length > 3 ? '等' : ''}）` : '产品：无'}。`;
  const watch: string[] = [];
  if (scores?.churnBand) watch.push(`流失风险${{ low: '低', medium: '中', high: '高' }[scores.churnBand]}${scores.churnReasons[0] ? `（${scores.churnReasons[0]}）` : ''}`);
  const rec = scores?.recommendations[0];
  if (rec) watch.push(`可关注「${rec.productName}」`);
  if (!customer.assessmentValid) watch.push('需先完成风险测评');
  const third = watch.length ? `关注：${watch.join('；')}。` : '关注：暂无评分，保持日常服务。';
  return [first, second, third];
}

export async function summarizeCustomer(deps: AssistantDeps, input: { staffId: string; customer: CustomerContext }): Promise<SummaryResult> {
  const startedAt = Date.now();
  const mode = modeOf(deps);
  const { customer } = input;
  const auditId = await openAudit(deps.db, { purpose: 'summary', mode, channel: 'sidebar', staffId: input.staffId, customerId: customer.id, model: deps.llm?.model });
  const [tier, timeline, scores] = await Promise.all([tierLabel(deps.db, customer.id), recentTimeline(deps.db, customer.id), scoreFacts(deps.db, customer.id)]);
  const facts = factLines(customer, tier, timeline, scores);
  if (!deps.llm) {
    await closeAudit(deps.db, auditId, { decision: 'fallback', reason: 'retrieval_only', answer: facts.join('\n'), startedAt });
    return { mode, lines: facts, source: 'facts', note: '未配置大模型（检索模式）：摘要由客户资料生成', auditId };
  }
  const prompt = summaryPrompt(customer, timeline, scores);
  const phrased = await generate(deps.llm, prompt, { deadlineMs: deps.deadlineMs, parse: threeLines });
  const [lines, source, decision, reason]: [[string, string, string], 'llm' | 'facts', AssistantDecision, string | null] = phrased.ok
    ? [phrased.value, 'llm', 'answered', null]
    : [facts, 'facts', phrased.failure?.transient ? 'fallback' : 'error', phrased.reason];
  await closeAudit(deps.db, auditId, { decision, reason, prompt, modelAnswer: phrased.raw, answer: lines.join('\n'), usage: phrased.usage ?? emptyUsage(), startedAt });
  return { mode, lines, source, note: phrased.ok ? null : `大模型暂不可用（${phrased.reason}）：摘要由客户资料生成`, auditId };
}

/** Exactly three non-empty lines, list numbering and bullets removed. */
export function threeLines(text: string): [string, string, string] | null {
  const lines = text
    .split('\n')
    .map((l) => l.replace(/^\s*(?:[-*•]|\d+[.、)）]|[一二三][、.])\s*/, '').trim())
    .filter(Boolean);
  return lines.length === 3 ? [lines[0]!, lines[1]!, lines[2]!] : null;
}

function summaryPrompt(customer: CustomerContext, timeline: readonly TimelineFact[], scores: ScoreFacts | null): ChatMessage[] {
  const facts = [
    `称呼：${customer.salutation}`,
    RISK(customer),
    customer.marketingConsent ? '已授权营销' : '未授权营销',
    // Holdings are financial information: they reach the model only with the customer's consent.
    customer.marketingConsent ? `持有产品：${[...new Set(customer.products)].map(productName).join('、') || '无'}` : '持有产品：（客户未授权，不提供）',
    `近期往来：${timeline.length ? timeline.map((t) => `${day(t.at)} ${scrub(t.summary)}`).join('；') : '无'}`,
    scores?.churnBand ? `流失风险：${scores.churnBand}${scores.churnReasons.length ? `，原因：${scores.churnReasons.slice(0, 3).join('；')}` : ''}` : '流失风险：暂无评分',
    scores?.recommendations.length ? `推荐关注：${scores.recommendations.map((r) => `${r.productName}（${r.reason}）`).join('；')}` : '推荐关注：无',
  ];
  return [
    {
      role: 'system',
      content: '你帮星河银行的客户经理快速了解客户。根据给出的客户资料，用三行简体中文总结：第一行客户画像，第二行近期往来，第三行下一步关注点。每行不超过50字，只用资料中的信息，不编造；只输出这三行。',
    },
    { role: 'user', content: facts.join('\n') },
  ];
}
