import { rolesFor } from '../auth/index.js';
import type { Db } from '../platform/db/database.js';
import type { Api } from '../platform/http/api.js';
import { contactsReport, conversationsReport, funnelReport, sopReport } from './queries.js';
import { rangeQuerySchema, resolveRange } from './range.js';
import { memberScope } from './scope.js';

/**
 * The console's 数据看板: four reads over one date range (`from`, `to`: YYYY-MM-DD, China days, both ends
 * included; default the last 30 days). Each answers the days of the range and one value per day.
 */
export function registerDashboardRoutes(api: Api, deps: { db: Db; now?: () => Date }): void {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());
  const auth = rolesFor('dashboard.read');
  const reports = [
    { path: '/dashboard/contacts', summary: 'WeCom contacts added and lost per day, in total and per channel', run: contactsReport },
    { path: '/dashboard/sop', summary: 'SOP enrollments and SOP messages per day, and per template', run: sopReport },
    { path: '/dashboard/conversations', summary: 'customer messages, automatic answers and handoffs per day', run: conversationsReport },
    { path: '/dashboard/funnel', summary: 'the funnel added → replied → bound → bought for contacts added in the range', run: funnelReport },
  ] as const;
  for (const report of reports) {
    api.route({
      method: 'get', path: report.path, summary: report.summary, tag: 'dashboard', auth,
      query: rangeQuerySchema,
      handler: async ({ query, actor }) => report.run(db, resolveRange(query, now()), memberScope(actor!)),
    });
  }
}
