import { closeAudit, emptyUsage, openAudit, type Usage } from './audit.js';
import { extractCitations } from './citations.js';
import { customerIdOf, loadCustomerContext } from './customer.js';
import { modeOf, type AssistantDeps } from './deps.js';
import { asFailure, LlmFailure, withDeadline, type ChatMessage, type LlmPort } from './llm.js';
import { answerSystemPrompt, scrub } from './prompts.js';
import { runTool, TOOL_SPECS, type ToolCallRecord, type ToolContext } from './tools.js';

/**
 * The reply engine's entry point: one customer message in, one decision out.
 *
 * - `answer`: send `text` (labelled 「AI助手」, checked by the compliance gate, any required
 *   disclosure appended). `citations` are the knowledge-base entries it rests on.
 * - `handoff`: send `text` (a fixed, safe message) and hand the conversation to a person. Caused by
 *   a question the knowledge base routes to people, the model's `handoff` tool, or an answer the
 *   gate blocked (reason `gate_block`: the model's answer is never sent).
 * - `unavailable`: nothing to send; fall back to knowledge-base answers and templates. Reasons:
 *   `retrieval_only` (no model configured), `deadline`, `timeout`, `rate_limited`, `http_<status>`,
 *   `connection` (slow or down), `malformed`, `empty_answer`, `tool_rounds` (an unusable answer).
 *
 * Every call writes one assistant_audit row (its id is `auditId`) and never throws for a model
 * failure; database errors do propagate.
 */
export interface HistoryTurn {
  from: 'customer' | 'assistant' | 'member';
  text: string;
}

export interface AnswerInput {
  customerId?: string | null;
  corpId?: string | null;
  externalUserid?: string | null;
  /** The customer's message. */
  text: string;
  /** Earlier turns, oldest first; the last MAX_HISTORY are sent. */
  history?: readonly HistoryTurn[];
  /** Where the message came from (kf, bot, wecom, ...); recorded. */
  channel: string;
  /** A tighter deadline than the configured one, in ms. */
  deadlineMs?: number;
}

export type AssistantReply =
  | { kind: 'answer'; text: string; citations: string[]; toolCalls: ToolCallRecord[]; verdict: 'pass' | 'warn'; auditId: string }
  | { kind: 'handoff'; reason: string; text: string; toolCalls: ToolCallRecord[]; auditId: string }
  | { kind: 'unavailable'; reason: string; auditId: string };

export const AI_LABEL = '「AI助手」';
/** Sent instead of an answer the gate blocked, and with every handoff. */
export const HANDOFF_TEXT = `${AI_LABEL}您的问题需要客户经理为您进一步确认，已为您转接人工服务，请稍候。`;
export const MAX_TOOL_ROUNDS = 3;
export const MAX_HISTORY = 6;
const TOP_K = 4;

export async function answerCustomer(deps: AssistantDeps, input: AnswerInput): Promise<AssistantReply> {
  const startedAt = Date.now();
  const now = deps.now?.() ?? new Date();
  const customerId = await customerIdOf(deps.db, input);
  const customer = customerId ? await loadCustomerContext(deps.db, customerId, now) : null;
  const corpId = input.corpId ?? null;
  const externalUserid = input.externalUserid ?? null;
  const auditId = await openAudit(deps.db, {
    purpose: 'answer', mode: modeOf(deps), channel: input.channel, customerId: customer?.id ?? null, corpId, externalUserid, model: deps.llm?.model,
  });
  const text = scrub(input.text);
  const knowledge = await deps.knowledge.search(text, TOP_K);

  if (knowledge.handoff) {
    const reason = knowledge.handoffReason ?? 'kb';
    await closeAudit(deps.db, auditId, { decision: 'handoff', reason, answer: HANDOFF_TEXT, startedAt });
    return { kind: 'handoff', reason, text: HANDOFF_TEXT, toolCalls: [], auditId };
  }
  if (!deps.llm) {
    await closeAudit(deps.db, auditId, { decision: 'fallback', reason: 'retrieval_only', startedAt });
    return { kind: 'unavailable', reason: 'retrieval_only', auditId };
  }

  const rules = await deps.gate.rules();
  const branches = await deps.db.selectFrom('branches').select(['id', 'name']).orderBy('id').execute();
  const messages: ChatMessage[] = [
    { role: 'system', content: answerSystemPrompt(rules, { hits: knowledge.hits, customer, branches, now }) },
    ...(input.history ?? []).slice(-MAX_HISTORY).map(historyMessage),
    { role: 'user', content: text },
  ];
  const usage = emptyUsage();
  const toolCalls: ToolCallRecord[] = [];
  const toolContext: Omit<ToolContext, 'now'> = { db: deps.db, customer, corpId, externalUserid, auditId };

  let outcome: Conversation;
  try {
    outcome = await withDeadline(input.deadlineMs ?? deps.deadlineMs, (signal) =>
      converse(deps.llm!, messages, { ...toolContext, now }, usage, toolCalls, signal),
    );
  } catch (error) {
    const failure = asFailure(error);
    deps.logger.warn({ auditId, reason: failure.reason, err: failure }, 'assistant answer unavailable');
    await closeAudit(deps.db, auditId, { decision: failure.transient ? 'fallback' : 'error', reason: failure.reason, prompt: messages, toolCalls, usage, startedAt });
    return { kind: 'unavailable', reason: failure.reason, auditId };
  }

  if (outcome.kind === 'handoff') {
    const reason = `model:${outcome.reason}`;
    await closeAudit(deps.db, auditId, { decision: 'handoff', reason, prompt: messages, toolCalls, usage, answer: HANDOFF_TEXT, startedAt });
    return { kind: 'handoff', reason, text: HANDOFF_TEXT, toolCalls, auditId };
  }
  if (outcome.kind === 'unusable') {
    await closeAudit(deps.db, auditId, { decision: 'error', reason: outcome.reason, prompt: messages, modelAnswer: outcome.text, toolCalls, usage, startedAt });
    return { kind: 'unavailable', reason: outcome.reason, auditId };
  }

  const cited = extractCitations(outcome.text, knowledge.hits.map((h) => h.id));
  if (!cited.text) {
    await closeAudit(deps.db, auditId, { decision: 'error', reason: 'empty_answer', prompt: messages, modelAnswer: outcome.text, toolCalls, usage, startedAt });
    return { kind: 'unavailable', reason: 'empty_answer', auditId };
  }
  const decision = await deps.gate.checkAndRecord(
    { text: `${AI_LABEL}${cited.text}`, purpose: 'service', ...(customer ? { customer: customer.facts } : {}), now },
    { actorType: 'system', actorId: null, source: 'ai_reply', target: { type: 'assistant_audit', id: auditId } },
  );
  const common = { prompt: messages, modelAnswer: outcome.text, toolCalls, usage, citations: cited.citations, dropped: cited.dropped, gateVerdict: decision.verdict, gateFindings: decision.findings, startedAt };
  if (decision.verdict === 'block') {
    await closeAudit(deps.db, auditId, { ...common, decision: 'blocked', reason: 'gate_block', answer: HANDOFF_TEXT });
    return { kind: 'handoff', reason: 'gate_block', text: HANDOFF_TEXT, toolCalls, auditId };
  }
  await closeAudit(deps.db, auditId, { ...common, decision: 'answered', answer: decision.text });
  return { kind: 'answer', text: decision.text, citations: cited.citations, toolCalls, verdict: decision.verdict, auditId };
}

function historyMessage(turn: HistoryTurn): ChatMessage {
  if (turn.from === 'customer') return { role: 'user', content: scrub(turn.text) };
  return { role: 'assistant', content: turn.from === 'member' ? `（客户经理）${scrub(turn.text)}` : scrub(turn.text) };
}

type Conversation = { kind: 'text'; text: string } | { kind: 'handoff'; reason: string } | { kind: 'unusable'; reason: string; text: string | null };

/**
 * The model and its tools, round by round. After MAX_TOOL_ROUNDS rounds of tool calls the model is
 * asked once more without tools, so it has to answer in words. `messages`, `usage` and `toolCalls`
 * grow in place, so the audit row keeps them when the deadline cuts the conversation short.
 */
async function converse(
  llm: LlmPort, messages: ChatMessage[], ctx: ToolContext, usage: Usage, toolCalls: ToolCallRecord[], signal: AbortSignal,
): Promise<Conversation> {
  for (let round = 0; ; round++) {
    const withTools = round < MAX_TOOL_ROUNDS;
    const turn = await llm.complete({ messages, ...(withTools ? { tools: TOOL_SPECS } : {}), temperature: 0.2, signal });
    usage.calls++;
    usage.promptTokens += turn.promptTokens;
    usage.completionTokens += turn.completionTokens;
    if (!withTools || !turn.toolCalls.length) {
      if (turn.toolCalls.length) return { kind: 'unusable', reason: 'tool_rounds', text: turn.content || null };
      return turn.content.trim() ? { kind: 'text', text: turn.content } : { kind: 'unusable', reason: 'empty_answer', text: null };
    }
    messages.push({
      role: 'assistant',
      content: turn.content || null,
      tool_calls: turn.toolCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })),
    });
    for (const call of turn.toolCalls) {
      if (signal.aborted) throw new LlmFailure('deadline', 'the task deadline passed during a tool call');
      const { record, outcome } = await runTool(call, ctx);
      toolCalls.push(record);
      if (outcome.handoff) return { kind: 'handoff', reason: outcome.handoff };
      messages.push({ role: 'tool', tool_call_id: call.id, content: outcome.result });
    }
  }
}
