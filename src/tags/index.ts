/** Tags in three layers (fact, rule, model) plus manual and WeCom tags, with their API, jobs and the WeCom mirror. See README.md. */
export { registerTagRoutes } from './routes.js';
export { defineTagJobs, scheduleTagJobs, subscribeTagEvents, runNightly, enqueueRuleRecompute, TAG_JOBS, type TagDeps } from './jobs.js';
export { recomputeFactTags, ensureFactTags, AUM_GROUP, ATTRIBUTE_GROUP, AUM_TIERS, ATTRIBUTES, type FactResult } from './facts.js';
export { recomputeRuleTag, recomputeAllRuleTags, type RuleResult } from './rules.js';
export { changeCustomerTags, type TagChange, type ChangeResult, type AssignSource } from './assign.js';
export { mirrorWecomTags, pushToWecom, TagSyncError, ownCause, isOwnCause, WECOM_GROUP_PREFIX, type RelationRef } from './wecom.js';
export { customerTags, listCatalog, resolveTagNames } from './catalog.js';
