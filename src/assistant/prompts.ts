import { checkSuitability, type CompiledRuleSet } from '../compliance/index.js';
import { redactString } from '../platform/logger.js';
import type { CustomerContext } from './customer.js';
import type { KnowledgeHit } from './knowledge.js';
import { PRODUCT_FACTS, TYPE_LABELS } from './products.js';

/**
 * Everything the model is told. The bank's rules come first in every system prompt; the
 * forbidden and cautioned phrases and the required disclosure are read from the compliance
 * gate's active rule set, so what compliance staff publish is what the model is told to avoid.
 * Customer text is redacted (mobile, ID and card numbers) before it is sent anywhere.
 */
const MAX_LISTED_PHRASES = 60;

export function bankRules(rules: CompiledRuleSet): string {
  const phrases = (kind: string) => [...new Set(rules.rules.filter((r) => r.kind === kind).map((r) => r.pattern))].slice(0, MAX_LISTED_PHRASES).join('、');
  const disclosure = rules.disclosures[0] ?? '理财非存款、产品有风险、投资须谨慎';
  return [
    '【星河银行合规要求，必须遵守】',
    `1. 不得承诺或暗示保本、保息、保收益、无风险、稳赚不赔；禁止使用：${phrases('block')}。`,
    `2. 不使用无依据的绝对化、最高级用语，慎用：${phrases('warn')}。`,
    `3. 涉及理财、基金、保险、养老理财等产品时须提示“${disclosure}”；业绩比较基准、过往业绩不代表未来表现。`,
    '4. 适当性：只介绍风险等级不高于客户风险承受等级、且客户风险测评在有效期内的产品；测评过期或未测评时，提醒客户先完成风险测评。',
    '5. 绝不索要或让客户发送密码、短信验证码、CVV、完整卡号或身份证号；如客户主动提供，提醒其不要在聊天中发送。',
    '6. 只根据下方提供的资料回答；资料没有覆盖或你不确定时，明确说“这个问题我不确定”，并建议由客户经理跟进，不要编造利率、费用、额度、期限等数字。',
    '7. 投诉、疑似诈骗、交易争议或盗刷、账户冻结或止付等问题，不要自行处理，转人工。',
    '8. 不代客户完成购买或签约；购买、签约与双录须在手机银行或网点办理。',
  ].join('\n');
}

export function knowledgeBlock(hits: readonly KnowledgeHit[]): string {
  if (!hits.length) return '【知识库】（没有找到相关条目）';
  return ['【知识库】', ...hits.map((h) => `[${h.id}] 问：${h.question}\n答：${h.answer}`)].join('\n');
}

/** Facts of the products the retrieved entries name, with whether each suits this customer. */
export function productBlock(productIds: readonly string[], customer: CustomerContext | null, now: Date): string {
  const ids = [...new Set(productIds)].filter((id) => PRODUCT_FACTS.has(id));
  if (!ids.length) return '';
  const suitability = customer ? new Map(checkSuitability(ids, customer.facts, now).map((s) => [s.productId, s])) : new Map();
  const lines = ids.map((id) => {
    const p = PRODUCT_FACTS.get(id)!;
    const parts = [
      `${p.name}（${TYPE_LABELS[p.type] ?? p.type}${p.riskLevel ? `，风险等级${p.riskLevel}` : ''}）`,
      p.minAmount !== null ? `起点金额${p.minAmount}元` : null,
      p.termDays !== null ? `期限${p.termDays}天` : null,
      p.indicativeRate ? `参考：${p.indicativeRate}` : null,
      p.sellingPoints.length ? `要点：${p.sellingPoints.join('；')}` : null,
      `合规提示：${p.complianceNotes}`,
    ].filter(Boolean);
    const fit = suitability.get(id);
    if (fit) parts.push(fit.ok ? '适合该客户' : `不适合向该客户介绍（${fit.reason}）`);
    return `- ${parts.join('；')}`;
  });
  return ['【产品信息】', ...lines].join('\n');
}

export function customerBlock(customer: CustomerContext | null): string {
  if (!customer) return '【客户】身份未关联，称呼“您”；不了解其风险承受等级，不推荐任何有风险等级的产品。';
  const risk = customer.riskLevel
    ? `风险承受等级${customer.riskLevel}（测评${customer.assessmentValid ? '有效' : '已过期'}）`
    : '未做风险测评';
  return `【客户】称呼：${customer.salutation}；${risk}。`;
}

/** A customer's words, without identifiers the task never needs. */
export const scrub = (text: string) => redactString(text);

export function answerSystemPrompt(rules: CompiledRuleSet, context: { hits: readonly KnowledgeHit[]; customer: CustomerContext | null; branches: readonly { id: string; name: string }[]; now: Date }): string {
  const productIds = context.hits.flatMap((h) => h.productIds);
  return [
    '你是星河银行的AI助手，在微信里回答客户的问题。',
    bankRules(rules),
    '【回答要求】用简体中文，简洁友好，不超过200字。每一处事实后用方括号注明所依据的知识库条目编号，例如 [kb-001]；只能引用下方给出的编号。',
    '【工具】客户问自己持有哪些产品时调用 my_products；客户要预约网点时调用 book_appointment（日期格式YYYY-MM-DD）；遇到第7条的问题或客户要求人工时调用 handoff。',
    `【今天】${chinaDate(context.now)}`,
    `【网点】${context.branches.map((b) => `${b.id}：${b.name}`).join('；')}`,
    customerBlock(context.customer),
    knowledgeBlock(context.hits),
    productBlock(productIds, context.customer, context.now),
  ].filter(Boolean).join('\n\n');
}

export const chinaDate = (at: Date) => new Date(at.getTime() + 8 * 3_600_000).toISOString().slice(0, 10);
