import { assistantSettings, assistantStatus, createAssistant, knowledgeFrom, type AssistantDeps, type AssistantSettings } from '../assistant/index.js';
import { ComplianceGate } from '../compliance/index.js';
import { KnowledgeBase } from '../kb/index.js';
import type { Config } from '../platform/config.js';
import type { Db } from '../platform/db/database.js';
import type { EventBus } from '../platform/events.js';
import type { Logger } from '../platform/logger.js';
import type { WeComGateway } from '../wecom/client/index.js';
import { assistantPort } from './assistant.js';
import type { ReplyDeps } from './engine.js';
import { knowledgePort } from './ports.js';

export interface ReplyEngine {
  gate: ComplianceGate;
  kb: KnowledgeBase;
  assistant: AssistantDeps;
  assistantSettings: AssistantSettings;
  /** What `handleInbound` takes. */
  deps: ReplyDeps;
}

/**
 * The reply engine and what it answers from (the compliance gate, the knowledge base, the AI
 * assistant), built one way for every process that answers customers: the app (kf messages) and
 * the Wechaty bots. `events`, `gateway` and `alertMember` are what the process has; without them
 * the engine still answers, records and queues the member's alert.
 */
export function buildReplyEngine(base: {
  config: Config;
  db: Db;
  logger: Logger;
  events?: EventBus;
  gateway?: WeComGateway;
  alertMember?: ReplyDeps['alertMember'];
}): ReplyEngine {
  const { config, db, logger } = base;
  const gate = new ComplianceGate({ db });
  const kb = new KnowledgeBase({ db, gate });
  const settings = assistantSettings(config);
  const assistant = createAssistant({ db, gate, logger, knowledge: knowledgeFrom(kb) }, settings);
  logger.info(assistantStatus(assistant), assistant.llm ? 'assistant uses a language model' : 'assistant in retrieval-only mode: no OPENAI_API_KEY');
  const deps: ReplyDeps = {
    db, gate, events: base.events, gateway: base.gateway, logger, kb: knowledgePort(kb), assistant: assistantPort(assistant), alertMember: base.alertMember,
  };
  return { gate, kb, assistant, assistantSettings: settings, deps };
}
