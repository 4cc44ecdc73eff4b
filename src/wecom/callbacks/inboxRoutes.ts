import { z } from 'zod';
import { rolesFor } from '../../auth/index.js';
import type { Api } from '../../platform/http/api.js';
import type { Inbox, InboxRow } from './inbox.js';

/**
 * `GET /api/v1/wecom/events` (DESIGN "Contracts"): the received events, newest first, with their
 * type, change type, dedupe key, received and processed times, status, times seen and failed
 * processing attempts. The payload is not shown: it carries short-lived credentials (WelcomeCode,
 * the kf Token). The same items arrive live in the console room as `wecom.inbox`.
 */
const STATUSES = ['received', 'processed', 'failed', 'ignored'] as const;

const item = z.object({
  id: z.string(),
  corpId: z.string(),
  event: z.string(),
  changeType: z.string().nullable(),
  dedupeKey: z.string(),
  receivedAt: z.string(),
  processedAt: z.string().nullable(),
  status: z.enum(STATUSES),
  error: z.string().nullable(),
  seenCount: z.number().int(),
  /** Processing attempts that failed while the row is still `received` (being retried) or `failed`; 0 once processed. */
  failedAttempts: z.number().int(),
});

export type InboxItem = z.infer<typeof item>;

export const inboxItemOf = (row: InboxRow): InboxItem => ({
  id: row.id,
  corpId: row.corpId,
  event: row.event,
  changeType: row.changeType,
  dedupeKey: row.dedupeKey,
  receivedAt: row.receivedAt.toISOString(),
  processedAt: row.processedAt ? row.processedAt.toISOString() : null,
  status: row.status,
  error: row.error,
  seenCount: row.seenCount,
  failedAttempts: row.failedAttempts,
});

export function registerInboxRoutes(api: Api, deps: { inbox: Pick<Inbox, 'list'> }): void {
  api.route({
    method: 'get',
    path: '/wecom/events',
    summary: 'list received WeCom callback events, newest first',
    tag: 'wecom',
    auth: rolesFor('settings.read'),
    query: z.object({
      corpId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
      status: z.enum(STATUSES).optional(),
      event: z.string().regex(/^[A-Za-z0-9_]{1,100}$/).optional(),
      limit: z.coerce.number().int().min(1).max(500).default(50),
      beforeId: z.string().regex(/^\d{1,18}$/).optional(),
    }),
    response: z.object({ items: z.array(item) }),
    handler: async ({ query }) => ({ items: (await deps.inbox.list(query)).map(inboxItemOf) }),
  });
}
