/**
 * The AI assistant: answers customers through any OpenAI-compatible model, grounded in the
 * knowledge base, guarded by the compliance gate, audited; and the account managers' sidebar
 * helpers (suggested replies, summary, next best action, polish). See README.md.
 *
 * The reply engine calls `answerCustomer(assistant, input)`; `app.ts` builds `assistant` with
 * `createAssistant` from the configuration.
 */
export { answerCustomer, AI_LABEL, HANDOFF_TEXT, MAX_TOOL_ROUNDS, type AnswerInput, type AssistantReply, type HistoryTurn } from './answer.js';
export { createAssistant, assistantSettings, assistantStatus, modeOf, type AssistantDeps, type AssistantMode, type AssistantSettings } from './deps.js';
export { knowledgeFrom, type KbSearchService, type KnowledgeBase, type KnowledgeEntry, type KnowledgeHit, type KnowledgeResult } from './knowledge.js';
export { openAiPort, LlmFailure, type LlmPort, type ChatTurn, type ChatRequest } from './llm.js';
export { suggestReplies, type Suggestion, type SuggestResult } from './suggest.js';
export { summarizeCustomer, type SummaryResult } from './summary.js';
export { nextBestAction, type NextAction, type NextBestActionResult } from './nba.js';
export { polishDraft, type PolishResult } from './polish.js';
export { purgeAudit } from './audit.js';
export { defineAssistantJobs, scheduleAssistantJobs, ASSISTANT_RETENTION_JOB } from './jobs.js';
export { registerAssistantRoutes } from './routes.js';
export type { ToolCallRecord } from './tools.js';
