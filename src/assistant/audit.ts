import type { Db } from '../platform/db/database.js';
import type { AssistantDecision, AssistantPurpose } from '../platform/db/schema.js';
import { redactValue } from '../platform/logger.js';
import type { ChatMessage } from './llm.js';
import type { ToolCallRecord } from './tools.js';

/**
 * The assistant's audit trail (生成式人工智能服务管理暂行办法: logs are kept): one `assistant_audit`
 * row per task, opened when the task starts and closed with what happened. Prompts and answers go
 * through the logger's redaction before they are stored, so an identifier that slipped into a
 * customer's message is masked here as it is in the log.
 */
export interface AuditStart {
  purpose: AssistantPurpose;
  mode: 'llm' | 'retrieval_only';
  channel?: string | null;
  staffId?: string | null;
  customerId?: string | null;
  corpId?: string | null;
  externalUserid?: string | null;
  model?: string | null;
}

/** Token counts and calls, accumulated while a task runs (kept when it fails half-way). */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  calls: number;
}

export const emptyUsage = (): Usage => ({ promptTokens: 0, completionTokens: 0, calls: 0 });

export interface AuditEnd {
  decision: AssistantDecision;
  reason?: string | null;
  prompt?: readonly ChatMessage[];
  modelAnswer?: string | null;
  answer?: string | null;
  toolCalls?: readonly ToolCallRecord[];
  citations?: readonly string[];
  dropped?: readonly string[];
  usage?: Usage;
  gateVerdict?: 'pass' | 'warn' | 'block' | null;
  gateFindings?: readonly unknown[];
  startedAt: number;
}

export async function openAudit(db: Db, start: AuditStart): Promise<string> {
  const row = await db
    .insertInto('assistant_audit')
    .values({
      purpose: start.purpose,
      mode: start.mode,
      channel: start.channel ?? null,
      staff_id: start.staffId ?? null,
      customer_id: start.customerId ?? null,
      corp_id: start.corpId ?? null,
      external_userid: start.externalUserid ?? null,
      model: start.mode === 'llm' ? (start.model ?? null) : null,
      prompt: '[]',
      model_answer: null,
      answer: null,
      tool_calls: '[]',
      latency_ms: null,
      decision: null,
      reason: null,
      gate_verdict: null,
      gate_findings: '[]',
      finished_at: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

const redacted = (value: string | null | undefined) => (value === null || value === undefined ? null : (redactValue(value) as string));

export async function closeAudit(db: Db, id: string, end: AuditEnd): Promise<void> {
  const usage = end.usage ?? emptyUsage();
  await db
    .updateTable('assistant_audit')
    .set({
      decision: end.decision,
      reason: end.reason ?? null,
      prompt: JSON.stringify(redactValue(end.prompt ?? [])),
      model_answer: redacted(end.modelAnswer),
      answer: redacted(end.answer),
      tool_calls: JSON.stringify(redactValue(end.toolCalls ?? [])),
      citations: [...(end.citations ?? [])],
      dropped_citations: [...(end.dropped ?? [])],
      prompt_tokens: usage.promptTokens,
      completion_tokens: usage.completionTokens,
      model_calls: usage.calls,
      latency_ms: Math.max(0, Math.round(Date.now() - end.startedAt)),
      gate_verdict: end.gateVerdict ?? null,
      gate_findings: JSON.stringify(end.gateFindings ?? []),
      finished_at: new Date(),
    })
    .where('id', '=', id)
    .execute();
}

/** Deletes the rows created more than `keepDays` days before `now`; returns how many. */
export async function purgeAudit(db: Db, keepDays: number, now = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - keepDays * 86_400_000);
  const result = await db.deleteFrom('assistant_audit').where('created_at', '<', cutoff).executeTakeFirst();
  return Number(result.numDeletedRows);
}
