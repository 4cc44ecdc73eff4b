import { z } from 'zod';
import { rolesFor } from '../../auth/index.js';
import type { Api } from '../../platform/http/api.js';
import type { Inbox, InboxRow } from './inbox.js';

/**
 * `GET /api/v1/wecom/events` (DESIGN "Contracts"): the received events, newest first, with their
 * type, change type, dedupe key, received and processed times, status and times seen. The payload
 * is not shown: it carries short-lived credentials (WelcomeCode, the kf Token).
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
      limit: z.coerce.number().int().min(1).max(500).default(50),
      beforeId: z.string().regex(/^\d{1,18}$/).optional(),
    }),
    response: z.object({ items: z.array(item) }),
    handler: async ({ query }) => ({ items: (await deps.inbox.list(query)).map(inboxItemOf) }),
  });
}
