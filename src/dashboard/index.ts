/**
 * The dashboard (数据看板): contacts added and lost per day and channel, SOP enrollments and messages,
 * customer messages and handoffs, and the funnel added → replied → bound → bought, over a date range, each
 * reader within their scope. See README.md in this folder for the definitions.
 */
export { registerDashboardRoutes } from './routes.js';
export { contactsReport, sopReport, conversationsReport, funnelReport, type ContactsReport, type SopReport, type ConversationsReport, type FunnelReport } from './queries.js';
export { resolveRange, rangeQuerySchema, DASHBOARD_TIMEZONE, MAX_RANGE_DAYS, type DayRange } from './range.js';
export { memberScope, type MemberScope } from './scope.js';
