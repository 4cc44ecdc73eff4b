import { z } from 'zod';
import type { AssistantDecision } from '../platform/db/schema.js';
import { closeAudit, emptyUsage, openAudit } from './audit.js';
import { extractCitations } from './citations.js';
import type { CustomerContext } from './customer.js';
import { modeOf, type AssistantDeps, type AssistantMode } from './deps.js';
import { generate, parseJsonObject } from './generate.js';
import { judgeDraft, worstVerdict, type JudgedText } from './judge.js';
import type { KnowledgeHit } from './knowledge.js';
import type { ChatMessage } from './llm.js';
import { bankRules, customerBlock, knowledgeBlock, productBlock, scrub } from './prompts.js';

/**
 * Suggested replies for an account manager: 2–3 drafts answering the customer's last message,
 * each with the gate's verdict. With a model they are written from the retrieved entries; without
 * one (or when it fails) they are the entries' answers and templates. Blocked drafts are never
 * offered. Replies to a customer's own question are service messages (no marketing consent
 * needed); products they name are still checked for suitability. The member sends them as
 * themselves after reading them, so they carry no AI label.
 */
export interface Suggestion extends JudgedText {
  source: 'llm' | 'kb' | 'template';
  citations: string[];
}

export interface SuggestResult {
  mode: AssistantMode;
  suggestions: Suggestion[];
  /** Why the model's drafts are not (all) there, when they are not. */
  note: string | null;
  auditId: string;
}

export interface SuggestInput {
  staffId: string;
  customer: CustomerContext | null;
  corpId?: string | null;
  externalUserid?: string | null;
  lastMessage: string;
}

const MIN = 2;
const MAX = 3;
const TOP_K = 3;

const templates = (salutation: string) => [
  `${salutation}您好，您的问题我已收到，正在为您确认，稍后给您答复。`,
  `${salutation}您好，这个问题涉及您的具体情况，方便的话我给您打个电话详细说明，或者您到网点时我当面为您办理。`,
];

const draftsSchema = z.object({
  suggestions: z.array(z.union([z.string().min(1).max(1000), z.object({ text: z.string().min(1).max(1000) }).transform((s) => s.text)])).min(1).max(5),
});

export async function suggestReplies(deps: AssistantDeps, input: SuggestInput): Promise<SuggestResult> {
  const startedAt = Date.now();
  const now = deps.now?.() ?? new Date();
  const mode = modeOf(deps);
  const { customer } = input;
  const auditId = await openAudit(deps.db, {
    purpose: 'suggest', mode, channel: 'sidebar', staffId: input.staffId, customerId: customer?.id ?? null,
    corpId: input.corpId ?? null, externalUserid: input.externalUserid ?? null, model: deps.llm?.model,
  });
  const lastMessage = scrub(input.lastMessage);
  const { hits } = await deps.knowledge.search(lastMessage, TOP_K);
  const judge = (text: string) => judgeDraft(deps.gate, text, { customer, purpose: 'service', now });

  const suggestions: Suggestion[] = [];
  const offer = async (text: string, source: Suggestion['source'], citations: string[]) => {
    if (suggestions.length >= MAX || suggestions.some((s) => s.text === text)) return;
    const judged = await judge(text);
    if (judged.verdict !== 'block') suggestions.push({ ...judged, source, citations });
  };

  let note: string | null = null;
  let prompt: ChatMessage[] = [];
  let usage = emptyUsage();
  let raw: string | null = null;
  let decision: AssistantDecision = 'fallback';
  let reason: string | null = 'retrieval_only';
  if (deps.llm) {
    prompt = suggestPrompt(await deps.gate.rules(), hits, customer, lastMessage, now);
    const drafts = await generate(deps.llm, prompt, { deadlineMs: deps.deadlineMs, parse: (text) => parseJsonObject(text, draftsSchema)?.suggestions ?? null });
    usage = drafts.usage;
    raw = drafts.raw;
    if (drafts.ok) {
      for (const draft of drafts.value) {
        const cited = extractCitations(draft, hits.map((h) => h.id));
        if (cited.text) await offer(cited.text, 'llm', cited.citations);
      }
      const fromModel = suggestions.length;
      [decision, reason] = fromModel ? ['answered', null] : ['blocked', 'gate_block'];
      if (fromModel < MIN) note = '部分模型建议未通过合规检查，已用知识库内容补足';
    } else {
      [decision, reason] = [drafts.failure?.transient ? 'fallback' : 'error', drafts.reason];
      note = `大模型暂不可用（${drafts.reason}）：建议来自知识库和模板`;
    }
  } else {
    note = '未配置大模型（检索模式）：建议来自知识库和模板';
  }
  for (const hit of hits) if (suggestions.length < MIN || !deps.llm) await offer(hit.answer, 'kb', [hit.id]);
  for (const text of templates(customer?.salutation ?? '')) if (suggestions.length < MIN) await offer(text, 'template', []);

  await closeAudit(deps.db, auditId, {
    decision,
    reason,
    prompt,
    modelAnswer: raw,
    answer: suggestions.map((s) => s.text).join('\n---\n'),
    citations: [...new Set(suggestions.flatMap((s) => s.citations))],
    usage,
    gateVerdict: worstVerdict(suggestions.map((s) => s.verdict)),
    gateFindings: suggestions.map((s, index) => ({ index, source: s.source, verdict: s.verdict, findings: s.findings })),
    startedAt,
  });
  return { mode, suggestions, note, auditId };
}

function suggestPrompt(rules: Parameters<typeof bankRules>[0], hits: readonly KnowledgeHit[], customer: CustomerContext | null, lastMessage: string, now: Date): ChatMessage[] {
  const system = [
    '你在企业微信侧边栏帮星河银行的客户经理起草回复客户的话，客户经理确认后以自己的名义发送。',
    bankRules(rules),
    `【任务】针对客户的最后一条消息，写${MIN}到${MAX}条不同的候选回复，每条不超过120字，口吻亲切专业，可直接发送。事实只能来自知识库，并在句末用方括号注明编号，如 [kb-001]。资料不足时，回复应说明会进一步确认。`,
    '【输出】只输出一个JSON对象：{"suggestions": ["回复1", "回复2"]}',
    customerBlock(customer),
    knowledgeBlock(hits),
    productBlock(hits.flatMap((h) => h.productIds), customer, now),
  ].filter(Boolean).join('\n\n');
  return [{ role: 'system', content: system }, { role: 'user', content: `客户的最后一条消息：${lastMessage}` }];
}
