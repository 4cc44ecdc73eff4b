/**
 * The outbox: every outbound message in the product is a row under an idempotency key, judged by
 * the compliance gate, before any provider call. See README.md in this folder.
 */
export { queueMessage, customerFacts, blockReason, type QueueInput, type QueuedMessage, type OutboundChannel, type OutboundContent, type OutboxPayload } from './queue.js';
export { recordOutbound, deliver, type OutboundMessage, type OutboxRow, type SendOutcome } from './deliver.js';
