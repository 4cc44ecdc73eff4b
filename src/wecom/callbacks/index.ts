/**
 * The WeCom callback gateway: the callback routes, the inbox they record into, the jobs that
 * process what was recorded, and the console's list of received events.
 */
export { callbackRouter, CALLBACK_PATH, type CallbackRouterDeps } from './routes.js';
export { Inbox, PROCESS_EVENT_JOB, INBOX_SWEEP_JOB, jobKeyOf, type InboxRow, type InboxQuery, type InboxOptions, type InboxChange } from './inbox.js';
export { defineCallbackJobs, scheduleCallbackJobs, dispatchCallbackEvent, type CallbackJobDeps } from './process.js';
export { parseCallbackEvent, describeUnhandled } from './parse.js';
export { dedupeKeyOf, eventNameOf } from './dedupe.js';
export { registerInboxRoutes, inboxItemOf, type InboxItem } from './inboxRoutes.js';
