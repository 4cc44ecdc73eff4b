/**
 * SOP automation: templates as data (definition.ts, load.ts), published as versions (store.ts),
 * enrolments by triggers (triggers.ts, enroll.ts), steps run by the engine (engine.ts, steps.ts),
 * dry runs (dryrun.ts), member tasks (tasks.ts). See docs/sop.md.
 */
export { templateSchema, VARIABLES, type SopTemplate, type SopStep, type SopTrigger } from './definition.js';
export { parseTemplate, loadTemplateDir } from './load.js';
export { checkDefinition, saveDraft, publishTemplate, setTemplateStatus, importTemplates, listTemplates, getTemplate, currentVersion, activeVersions } from './store.js';
export { enrollSelection, enrollTarget, type EnrollTarget } from './enroll.js';
export { advanceDueSteps, setEnrollmentStatus, exitDeletedContact, type EngineDeps, type AdvanceResult } from './engine.js';
export { runClock, handleSopEvent, dateSelection, firings, SOP_JOBS, type SopEvent } from './triggers.js';
export { dryRun, type DryRunResult } from './dryrun.js';
export { defineSopJobs, scheduleSopJobs, wakeAtFor, wakeBranchesOnReply } from './jobs.js';
export { registerSopRoutes } from './routes.js';
export { SopProgress, monitorCounts, SOP_PROGRESS_EVENT, SOP_PROGRESS_EVERY_MS, type SopProgressSink, type ProgressChange } from './progress.js';
export { listTasks, completeTask, snoozeTask } from './tasks.js';
