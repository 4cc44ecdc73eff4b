import type { AssistantDecision } from '../platform/db/schema.js';
import { redactString } from '../platform/logger.js';
import { closeAudit, openAudit } from './audit.js';
import type { CustomerContext } from './customer.js';
import { modeOf, type AssistantDeps, type AssistantMode } from './deps.js';
import { generate } from './generate.js';
import { judgeDraft, type JudgedText } from './judge.js';
import type { ChatMessage } from './llm.js';
import { bankRules, customerBlock } from './prompts.js';

/**
 * "Polish my draft": the member's draft rewritten by the model (same meaning, no new facts,
 * forbidden phrases removed), with the gate's findings on both the original and the polished
 * text. Without a model, or when it fails, `polished` is the original and `note` says why.
 * Identifiers in the draft are masked before it is sent; the note says so, as the polished text
 * then carries the masks.
 */
export interface PolishResult {
  mode: AssistantMode;
  original: JudgedText;
  polished: JudgedText;
  /** The polished text came from the model. */
  changed: boolean;
  note: string | null;
  auditId: string;
}

export async function polishDraft(deps: AssistantDeps, input: { staffId: string; text: string; customer: CustomerContext | null }): Promise<PolishResult> {
  const startedAt = Date.now();
  const now = deps.now?.() ?? new Date();
  const mode = modeOf(deps);
  const { customer } = input;
  const auditId = await openAudit(deps.db, { purpose: 'polish', mode, channel: 'sidebar', staffId: input.staffId, customerId: customer?.id ?? null, model: deps.llm?.model });
  const original = await judgeDraft(deps.gate, input.text, { customer, now });
  const findings = (polished: JudgedText) => [{ of: 'original', verdict: original.verdict, findings: original.findings }, { of: 'polished', verdict: polished.verdict, findings: polished.findings }];

  if (!deps.llm) {
    await closeAudit(deps.db, auditId, { decision: 'fallback', reason: 'retrieval_only', answer: input.text, gateVerdict: original.verdict, gateFindings: findings(original), startedAt });
    return { mode, original, polished: original, changed: false, note: '未配置大模型（检索模式）：返回原文及合规检查结果', auditId };
  }

  const draft = redactString(input.text);
  const masked = draft !== input.text;
  const prompt: ChatMessage[] = [
    {
      role: 'system',
      content: [
        '你帮星河银行的客户经理润色准备发给客户的企业微信消息。',
        bankRules(await deps.gate.rules()),
        '【任务】保持原意和原有事实，不添加新的事实、数字或承诺；删除或改写违反上述要求的表述；语气亲切专业、简洁通顺；长度不超过原文的1.5倍。被掩码的号码（如138****1234）原样保留。只输出润色后的消息正文。',
        customerBlock(customer),
      ].join('\n\n'),
    },
    { role: 'user', content: draft },
  ];
  const maxChars = Math.max(60, Math.ceil(draft.length * 1.5) + 40);
  const result = await generate(deps.llm, prompt, {
    deadlineMs: deps.deadlineMs,
    temperature: 0.2,
    parse: (text) => {
      const t = text.trim().replace(/^["“]|["”]$/g, '');
      return t && t.length <= maxChars ? t : null;
    },
  });
  if (!result.ok) {
    const decision: AssistantDecision = result.failure?.transient ? 'fallback' : 'error';
    await closeAudit(deps.db, auditId, { decision, reason: result.reason, prompt, modelAnswer: result.raw, answer: input.text, usage: result.usage, gateVerdict: original.verdict, gateFindings: findings(original), startedAt });
    return { mode, original, polished: original, changed: false, note: `大模型暂不可用（${result.reason}）：返回原文及合规检查结果`, auditId };
  }
  const polished = await judgeDraft(deps.gate, result.value, { customer, now });
  await closeAudit(deps.db, auditId, {
    decision: polished.verdict === 'block' ? 'blocked' : 'answered', prompt, modelAnswer: result.raw, answer: polished.text, usage: result.usage,
    gateVerdict: polished.verdict, gateFindings: findings(polished), startedAt,
  });
  const notes = [
    masked ? '草稿中的手机号、证件号或卡号未发送给大模型，润色稿中以掩码显示，请发送前核对' : null,
    polished.verdict === 'block' ? '润色稿仍未通过合规检查，请按提示修改' : null,
  ].filter(Boolean);
  return { mode, original, polished, changed: true, note: notes.length ? notes.join('；') : null, auditId };
}
