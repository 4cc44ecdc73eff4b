/**
 * Mass sends (企业群发): an approved material to a segment or snapshot at a time, fanned out as one
 * outbox row per customer with a live WeCom relation, grouped per member so each member confirms
 * one task; progress and per-customer results counted from the rows, live on socket.io; remind and
 * cancel. See README.md in this folder.
 */
export {
  createMassSendSchema, audienceSchema, PROGRESS_EVENT, FANOUT_JOB, WATCH_JOB, CONFIRM_WINDOW_MS,
  type MassSendDeps, type Audience, type CreateMassSend, type MassSendContent, type RequestInfo,
} from './types.js';
export { createMassSend, getMassSend, listMassSends, STATUS_LABELS, type MassSendView, type CreateMassSendInput } from './store.js';
export { fanOutMassSend, completeIfDone, idempotencyKeyOf, groupKeyOf, type FanOutResult, type FanOutOptions } from './fanout.js';
export { massSendProgress, publishProgress, type MassSendProgress, type MemberProgress, type ConfirmState } from './progress.js';
export { massSendRecipients, RECIPIENT_RESULTS, type RecipientItem, type RecipientResult } from './recipients.js';
export { remindMassSend, cancelMassSend, type RemindResult, type CancelResult, type TaskOutcome, type TaskFailure } from './actions.js';
export { defineMassSendJobs, scheduleMassSendJobs, watchMassSends, type MassSendJobOptions, type WatchSummary } from './jobs.js';
export { massSendPreflight, type PreflightResult, type PreflightMember } from './preflight.js';
export { registerMassSendRoutes } from './routes.js';
