import { z } from 'zod';
import { customerScope, rolesFor } from '../auth/index.js';
import type { Db } from '../platform/db/database.js';
import { invalid, notFound } from '../platform/errors.js';
import type { Api } from '../platform/http/api.js';
import type { Actor } from '../platform/http/context.js';
import type { CorpRegistry } from '../wecom/corps.js';
import { loadCustomerContext, type CustomerContext } from './customer.js';
import { assistantStatus, type AssistantDeps } from './deps.js';
import { nextBestAction } from './nba.js';
import { polishDraft } from './polish.js';
import { suggestReplies } from './suggest.js';
import { summarizeCustomer } from './summary.js';

/**
 * The sidebar's assistant APIs. Members who work with customers (account managers, branch managers,
 * admins) call them, and only about customers in their data scope: anything else is 404, as
 * elsewhere, so a member cannot learn that a customer exists.
 */
const SIDEBAR_ROLES = rolesFor('customers.write');

export function registerAssistantRoutes(api: Api, deps: { assistant: AssistantDeps; corps: CorpRegistry }): void {
  const { assistant, corps } = deps;
  const { db } = assistant;

  api.route({
    method: 'get',
    path: '/assistant/status',
    summary: 'the assistant’s mode: llm (a model is configured) or retrieval_only, and the model',
    tag: 'assistant',
    auth: 'any',
    response: z.object({ mode: z.enum(['llm', 'retrieval_only']), model: z.string().nullable(), streaming: z.boolean() }),
    handler: async () => assistantStatus(assistant),
  });

  api.route({
    method: 'post',
    path: '/assistant/suggest-replies',
    summary: '2–3 suggested replies to the customer’s last message, each with the compliance gate’s verdict (audited)',
    tag: 'assistant',
    auth: SIDEBAR_ROLES,
    body: z
      .object({
        customerId: z.uuid().optional(),
        corpId: z.string().min(1).max(64).optional(),
        externalUserid: z.string().min(1).max(64).optional(),
        lastMessage: z.string().trim().min(1).max(2000),
      })
      .refine((b) => !(b.customerId && b.externalUserid), { message: 'give customerId or externalUserid, not both', path: ['externalUserid'] }),
    handler: async ({ body, actor }) => {
      const who = await sidebarCustomer(db, corps, actor!, body);
      return suggestReplies(assistant, { staffId: actor!.id, customer: who.customer, corpId: who.corpId, externalUserid: who.externalUserid, lastMessage: body.lastMessage });
    },
  });

  api.route({
    method: 'get',
    path: '/assistant/customers/:id/summary',
    summary: 'a three-line summary of a customer for their account manager (audited)',
    tag: 'assistant',
    auth: SIDEBAR_ROLES,
    params: z.object({ id: z.uuid() }),
    handler: async ({ params, actor }) => summarizeCustomer(assistant, { staffId: actor!.id, customer: await scopedCustomer(db, actor!, params.id) }),
  });

  api.route({
    method: 'get',
    path: '/assistant/customers/:id/next-best-action',
    summary: 'next best actions from churn risk, risk assessment and propensity with suitability, each with its reason (audited)',
    tag: 'assistant',
    auth: SIDEBAR_ROLES,
    params: z.object({ id: z.uuid() }),
    handler: async ({ params, actor }) => nextBestAction(assistant, { staffId: actor!.id, customer: await scopedCustomer(db, actor!, params.id) }),
  });

  api.route({
    method: 'post',
    path: '/assistant/polish',
    summary: 'polish a draft, with the compliance gate’s findings on the original and the polished text (audited)',
    tag: 'assistant',
    auth: SIDEBAR_ROLES,
    body: z.object({ text: z.string().trim().min(1).max(2000), customerId: z.uuid().optional() }),
    handler: async ({ body, actor }) =>
      polishDraft(assistant, { staffId: actor!.id, text: body.text, customer: body.customerId ? await scopedCustomer(db, actor!, body.customerId) : null }),
  });
}

async function scopedCustomer(db: Db, actor: Actor, customerId: string): Promise<CustomerContext> {
  const visible = await db.selectFrom('customers').select('id').where('id', '=', customerId).where(customerScope(actor)).executeTakeFirst();
  const customer = visible ? await loadCustomerContext(db, visible.id) : null;
  if (!customer) throw notFound('customer');
  return customer;
}

/**
 * The customer a sidebar call is about: by id, or by the WeCom contact the member is chatting
 * with. A contact linked to a customer is in scope when the customer is; an unlinked contact only
 * for the members who follow it (and the roles that see the whole bank).
 */
async function sidebarCustomer(
  db: Db, corps: CorpRegistry, actor: Actor, ref: { customerId?: string; corpId?: string; externalUserid?: string },
): Promise<{ customer: CustomerContext | null; corpId: string | null; externalUserid: string | null }> {
  if (ref.customerId) return { customer: await scopedCustomer(db, actor, ref.customerId), corpId: null, externalUserid: null };
  if (!ref.externalUserid) {
    if (ref.corpId) throw invalid('externalUserid required with corpId', [{ path: 'body.externalUserid', message: 'required with corpId' }]);
    return { customer: null, corpId: null, externalUserid: null };
  }
  const corpId = await corps.resolve(ref.corpId, 'body.corpId');
  const contact = await db
    .selectFrom('external_contacts')
    .select(['external_userid', 'customer_id'])
    .where('corp_id', '=', corpId)
    .where('external_userid', '=', ref.externalUserid)
    .executeTakeFirst();
  if (!contact) throw notFound('WeCom contact');
  if (contact.customer_id) return { customer: await scopedCustomer(db, actor, contact.customer_id), corpId, externalUserid: contact.external_userid };
  const wholeBank = actor.role === 'admin' || actor.role === 'ops' || actor.role === 'compliance';
  const follows =
    actor.role === 'account_manager' && actor.corpId === corpId && actor.wecomUserid
      ? await db
          .selectFrom('follow_relations')
          .select('userid')
          .where('corp_id', '=', corpId)
          .where('userid', '=', actor.wecomUserid)
          .where('external_userid', '=', contact.external_userid)
          .where('deleted_at', 'is', null)
          .executeTakeFirst()
      : undefined;
  if (!wholeBank && !follows) throw notFound('WeCom contact');
  return { customer: null, corpId, externalUserid: contact.external_userid };
}
