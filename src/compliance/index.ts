/**
 * The compliance gate: every outbound message (1:1, mass send, SOP step, welcome, auto-reply, AI
 * draft) passes `gate.checkAndRecord` before it may leave, and is sent as `result.text` (the
 * original with any required disclosure appended) only when `result.verdict` allows it.
 * See docs/compliance.md.
 */
export { ComplianceGate, DEFAULT_RULES_TTL_MS, type CheckCaller, type GateDecision, type GateOptions } from './gate.js';
export { checkMessage, looksLikeMarketing, checkSuitability, type CheckInput, type CheckResult, type CustomerFacts, type Finding, type Suppressed } from './check.js';
export { normalizeText, type NormalizedText } from './normalize.js';
export { submitForReview, decideReview, listReviews, getReview, type Review, type ReviewSubmission } from './reviews.js';
export { ensureSeeded, loadActiveRuleSet, loadRuleSet, listVersions, publishRuleSet, type RuleChange, type RuleSetVersion } from './store.js';
export { compileRuleSet, toRule, type CompiledRuleSet, type Rule, type RuleInput, type RuleKind } from './rules.js';
export { registerComplianceRoutes } from './routes.js';
