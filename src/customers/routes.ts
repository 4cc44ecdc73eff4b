import { Readable } from 'node:stream';
import { z } from 'zod';
import type { Api } from '../platform/http/api.js';
import type { Db } from '../platform/db/database.js';
import type { FieldCipher } from '../platform/crypto.js';
import { auditBy, recordAudit } from '../audit/index.js';
import { customerScope, rolesFor } from '../auth/index.js';
import { notFound } from '../platform/errors.js';
import { filterNodeSchema } from '../filters/index.js';
import type { CorpRegistry } from '../wecom/corps.js';
import { bindContact, linkHistory, unlinkContact } from './links.js';
import { exportCustomers, getCustomer, listCustomers } from './records.js';
import { listTimeline, memberCauseNames } from './timeline.js';

export function registerCustomerRoutes(api: Api, deps: { db: Db; cipher: FieldCipher; corps: CorpRegistry }): void {
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

  api.route({
    method: 'post',
    path: '/customers/search',
    summary: 'search customers in the caller’s scope with the filter grammar (masked)',
    tag: 'customers',
    auth: rolesFor('customers.read'),
    body: z.object({
      q: z.string().trim().min(1).max(64).optional(),
      filter: filterNodeSchema.optional(),
      limit: z.number().int().min(1).max(200).default(50),
      offset: z.number().int().min(0).max(1_000_000).default(0),
    }),
    handler: async ({ body, actor }) => listCustomers(db, cipher, actor!, body),
  });

  api.route({
    method: 'get',
    path: '/customers/:id/timeline',
    summary: 'a customer’s timeline, newest first, each entry with its cause (a staff member by name), and the link history',
    tag: 'customers',
    auth: rolesFor('customers.read'),
    params: z.object({ id: z.uuid() }),
    query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), beforeId: z.string().regex(/^\d+$/).optional() }),
    handler: async ({ params, query, actor }) => {
      await getCustomer(db, cipher, actor!, params.id, false); // scope check: 404 outside it
      const [items, links] = await Promise.all([listTimeline(db, params.id, query), linkHistory(db, params.id)]);
      // Who a staff cause was, by name: the staff list itself is for administrators and branch managers.
      const [causeNames, actorNames] = await Promise.all([
        memberCauseNames(db, items.map((e) => ({ corpId: e.corp_id, type: e.cause_type, id: e.cause_id }))),
        memberCauseNames(db, links.map((l) => ({ corpId: l.corp_id, type: l.actor_type, id: l.actor_id }))),
      ]);
      return {
        items: items.map((e, i) => ({ ...e, cause_name: causeNames[i] })),
        links: links.map((l, i) => ({ ...l, actor_name: actorNames[i] })),
      };
    },
  });

  api.route({
    method: 'get',
    path: '/customers/by-contact/:externalUserid',
    summary: 'the customer a WeCom contact is linked to (the sidebar’s first call)',
    tag: 'customers',
    auth: rolesFor('customers.read'),
    params: z.object({ externalUserid: z.string().min(1).max(64) }),
    query: z.object({ corpId: z.string().max(64).optional() }),
    handler: async ({ params, query, actor }) => {
      const corpId = await deps.corps.resolve(query.corpId);
      const contact = await db
        .selectFrom('external_contacts')
        .select(['external_userid', 'name', 'customer_id'])
        .where('corp_id', '=', corpId)
        .where('external_userid', '=', params.externalUserid)
        .executeTakeFirst();
      if (!contact) throw notFound('WeCom contact');
      const visible = contact.customer_id
        ? await db.selectFrom('customers').select('id').where('id', '=', contact.customer_id).where(customerScope(actor!)).executeTakeFirst()
        : undefined;
      return { corpId, externalUserid: contact.external_userid, name: contact.name, customerId: visible?.id ?? null, linked: Boolean(contact.customer_id) };
    },
  });

  api.route({
    method: 'post',
    path: '/customers/links',
    summary: 'bind a WeCom contact to a customer after checking identity (audited)',
    tag: 'customers',
    auth: rolesFor('customers.write'),
    body: z.object({
      corpId: z.string().max(64).optional(),
      externalUserid: z.string().min(1).max(64),
      cifNo: z.string().trim().min(1).max(32),
      mobile: z.string().trim().regex(/^(\+?86)?1[3-9]\d{9}$/, 'a mainland mobile number').optional(),
      idNumberLast4: z.string().trim().regex(/^\d{3}[\dXx]$/, 'the last 4 characters of the ID number').optional(),
      reason: z.string().trim().min(2).max(200),
      replace: z.boolean().optional(),
    }),
    handler: async ({ body, actor, ctx }) => bindContact(db, cipher, actor!, { ...body, corpId: await deps.corps.resolve(body.corpId, 'body.corpId') }, ctx.ip),
  });

  api.route({
    method: 'post',
    path: '/customers/links/unlink',
    summary: 'unlink a WeCom contact from its customer (audited; never relinked automatically)',
    tag: 'customers',
    auth: rolesFor('customers.write'),
    body: z.object({ corpId: z.string().max(64).optional(), externalUserid: z.string().min(1).max(64), reason: z.string().trim().min(2).max(200) }),
    handler: async ({ body, actor, ctx }) => {
      await unlinkContact(db, actor!, { ...body, corpId: await deps.corps.resolve(body.corpId, 'body.corpId') }, ctx.ip);
      return undefined;
    },
  });
}
