/**
 * The reply engine: every customer message (Wechaty bots, WeChat customer service) is recorded,
 * classified and answered by rules, the knowledge base, the AI assistant or a person — through the
 * compliance gate and the outbox. See README.md in this folder.
 */
import './schema.js';
export { handleInbound, HANDOFF_REPLY, AI_LABEL, type InboundMessage, type ReplyDecision, type ReplyDeps, type KnowledgePort, type AssistantPort, type AssistantAnswer } from './engine.js';
export { detectIntents, INTENT_NAMES, type Intent } from './intents.js';
export { ruleInputSchema, listRules, createRule, updateRule, deleteRule, ruleMatches, activeAt, type Rule, type RuleInput } from './rules.js';
export { kfSender, handOverSession, kfMsgid } from './kf.js';
export { knowledgePort } from './ports.js';
export { assistantPort } from './assistant.js';
export { buildReplyEngine, type ReplyEngine } from './build.js';
export { defineReplyJobs, REPLY_JOB } from './jobs.js';
export { registerReplyRoutes } from './routes.js';
