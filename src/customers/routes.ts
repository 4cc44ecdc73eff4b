import { Readable } from 'node:stream';
import { z } from 'zod';
import type { Api } from '../platform/http/api.js';
import type { Db } from '../platform/db/database.js';
import type { FieldCipher } from '../platform/crypto.js';
import { auditBy, recordAudit } from '../audit/index.js';
import { rolesFor } from '../auth/index.js';
import { exportCustomers, getCustomer, listCustomers } from './records.js';

export function registerCustomerRoutes(api: Api, deps: { db: Db; cipher: FieldCipher }): void {
  const { db, cipher } = deps;
  const yes = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

  api.route({
    method: 'get',
    path: '/customers',
    summary: 'search customers in the caller’s scope (masked)',
    tag: 'customers',
    auth: rolesFor('customers.read'),
    query: z.object({
      q: z.string().trim().min(1).max(64).optional(),
      branchId: z.string().max(40).optional(),
      limit: z.coerce.number().int().min(1).max(200).default(50),
      offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
    }),
    handler: async ({ query, actor }) => listCustomers(db, cipher, actor!, query),
  });

  api.route({
    method: 'get',
    path: '/customers/export',
    summary: 'export the customers in the caller’s scope as CSV (audited)',
    tag: 'customers',
    auth: rolesFor('customers.export'),
    query: z.object({ reveal: yes.default(false) }),
    handler: async ({ query, actor, ctx }) => {
      await recordAudit(
        db,
        auditBy(actor!, { ip: ctx.ip, requestId: ctx.state.requestId })('customers.export', {
          targetType: 'customers',
          outcome: 'success',
          detail: { reveal: query.reveal, role: actor!.role },
        }),
      );
      ctx.set('Content-Type', 'text/csv; charset=utf-8');
      ctx.set('Content-Disposition', 'attachment; filename="customers.csv"');
      ctx.body = Readable.from(exportCustomers(db, cipher, actor!, query.reveal));
      return undefined;
    },
  });

  api.route({
    method: 'get',
    path: '/customers/:id',
    summary: 'one customer’s record; reveal=true shows it unmasked to allowed roles (audited)',
    tag: 'customers',
    auth: rolesFor('customers.read'),
    params: z.object({ id: z.uuid() }),
    query: z.object({ reveal: yes.default(false) }),
    handler: async ({ params, query, actor, ctx }) => {
      const audit = auditBy(actor!, { ip: ctx.ip, requestId: ctx.state.requestId });
      try {
        const customer = await getCustomer(db, cipher, actor!, params.id, query.reveal);
        await recordAudit(db, audit('customers.view', { targetType: 'customer', targetId: params.id, outcome: 'success', detail: { revealed: customer.revealed } }));
        return customer;
      } catch (error) {
        await recordAudit(db, audit('customers.view', { targetType: 'customer', targetId: params.id, outcome: 'denied', detail: { reason: 'not found or out of scope' } }));
        throw error;
      }
    },
  });
}
