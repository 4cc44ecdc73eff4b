import { z } from 'zod';
import type { Api } from '../platform/http/api.js';
import type { Db } from '../platform/db/database.js';
import { listAudit } from './index.js';

export function registerAuditRoutes(api: Api, deps: { db: Db }): void {
  api.route({
    method: 'get',
    path: '/audit',
    summary: 'list audit log entries, newest first',
    tag: 'audit',
    auth: ['admin', 'compliance'],
    query: z.object({
      action: z.string().max(100).optional(),
      actorId: z.string().max(100).optional(),
      targetType: z.string().max(50).optional(),
      targetId: z.string().max(100).optional(),
      since: z.coerce.date().optional(),
      until: z.coerce.date().optional(),
      beforeId: z.string().regex(/^\d+$/).optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
    handler: async ({ query }) => ({ items: await listAudit(deps.db, query) }),
  });
}
