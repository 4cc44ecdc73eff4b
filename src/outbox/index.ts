/**
 * The outbox: every outbound message in the product is a row under an idempotency key, judged by
 * the compliance gate, before any provider call. See README.md in this folder.
 */
export { queueMessage, queueMessages, customerFacts, blockReason, type QueueInput, type QueuedMessage, type OutboundChannel, type OutboundContent, type OutboxPayload } from './queue.js';
export { recordOutbound, deliver, type OutboundMessage, type OutboxRow, type SendOutcome } from './deliver.js';
export { OutboxDispatcher, defaultSenders, type DispatcherOptions, type DrainSummary } from './dispatch.js';
export { syncSendResults, defineOutboxJobs, scheduleOutboxJobs, RESULT_SYNC_JOB, type SyncSummary } from './results.js';
export { NotSendableError, type Sender, type Batch, type BatchRow, type SendResult, type Resolution, type SendContext, type ResolveContext } from './senders.js';
export { quietHoursEnd, quotaPeriod, type QuietHours, type QuotaPeriod } from './rules.js';
