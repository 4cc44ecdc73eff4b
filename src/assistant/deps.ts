import type { ComplianceGate } from '../compliance/index.js';
import type { Config } from '../platform/config.js';
import type { Db } from '../platform/db/database.js';
import type { Logger } from '../platform/logger.js';
import type { KnowledgeBase } from './knowledge.js';
import { openAiPort, type LlmPort } from './llm.js';

/**
 * What every assistant function takes. `llm` is null in retrieval-only mode (no OPENAI_API_KEY):
 * nothing is generated, answers come from the knowledge base and templates, and every reply and
 * audit row says so.
 */
export interface AssistantDeps {
  db: Db;
  gate: ComplianceGate;
  logger: Logger;
  llm: LlmPort | null;
  knowledge: KnowledgeBase;
  /** Overall time for one task: every model call, retry and tool round. */
  deadlineMs: number;
  now?: () => Date;
}

export type AssistantMode = 'llm' | 'retrieval_only';

export interface AssistantSettings {
  baseUrl?: string;
  apiKey?: string;
  model: string;
  timeoutMs: number;
  maxRetries: number;
  stream: boolean;
  deadlineMs: number;
  retentionDays: number;
}

export function assistantSettings(config: Config): AssistantSettings {
  return {
    baseUrl: config.OPENAI_BASE_URL,
    apiKey: config.OPENAI_API_KEY,
    model: config.OPENAI_MODEL,
    timeoutMs: config.OPENAI_TIMEOUT_MS,
    maxRetries: config.OPENAI_MAX_RETRIES,
    stream: config.OPENAI_STREAM,
    deadlineMs: config.ASSISTANT_DEADLINE_MS,
    retentionDays: config.ASSISTANT_AUDIT_RETENTION_DAYS,
  };
}

export function createAssistant(
  base: { db: Db; gate: ComplianceGate; logger: Logger; knowledge: KnowledgeBase; now?: () => Date },
  settings: AssistantSettings,
): AssistantDeps {
  const llm = settings.apiKey
    ? openAiPort({ baseUrl: settings.baseUrl, apiKey: settings.apiKey, model: settings.model, timeoutMs: settings.timeoutMs, maxRetries: settings.maxRetries, stream: settings.stream })
    : null;
  return {
    db: base.db,
    gate: base.gate,
    logger: base.logger,
    llm,
    knowledge: base.knowledge,
    deadlineMs: settings.deadlineMs,
    ...(base.now ? { now: base.now } : {}),
  };
}

export const modeOf = (deps: AssistantDeps): AssistantMode => (deps.llm ? 'llm' : 'retrieval_only');

export function assistantStatus(deps: AssistantDeps): { mode: AssistantMode; model: string | null; streaming: boolean } {
  return { mode: modeOf(deps), model: deps.llm?.model ?? null, streaming: deps.llm?.streaming ?? false };
}
