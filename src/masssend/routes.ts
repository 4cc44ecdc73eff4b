import { z } from 'zod';
import { rolesFor } from '../auth/index.js';
import type { Role } from '../platform/db/schema.js';
import type { Api } from '../platform/http/api.js';
import { cancelMassSend, remindMassSend } from './actions.js';
import { massSendPreflight } from './preflight.js';
import { massSendProgress } from './progress.js';
import { massSendRecipients, RECIPIENT_RESULTS } from './recipients.js';
import { createMassSend, getMassSend, listMassSends } from './store.js';
import { createMassSendSchema, type MassSendDeps } from './types.js';

const TAG = 'mass-sends';
/** Operations create, remind and cancel (sop.manage); branch managers and compliance follow the results. */
const WRITE = rolesFor('sop.manage');
const READ: readonly Role[] = [...WRITE, 'compliance', 'branch_manager'];
const idParams = z.object({ id: z.uuid() });

export function registerMassSendRoutes(api: Api, deps: MassSendDeps): void {
  const { db } = deps;
  const requestOf = (ctx: { ip: string; state: { requestId: string } }) => ({ ip: ctx.ip, requestId: ctx.state.requestId });

  api.route({
    method: 'post', path: '/mass-sends', summary: 'create a mass send to a segment or snapshot with an approved material (audited)', tag: TAG, auth: WRITE, status: 201,
    body: createMassSendSchema,
    handler: async ({ body, actor, ctx }) => createMassSend(deps, actor!, body, requestOf(ctx)),
  });

  api.route({
    method: 'post', path: '/mass-sends/preflight', summary: 'what a send would do, without writing anything: the content as sent, reachable and skipped customers, members to confirm, the gate’s verdicts per customer', tag: TAG, auth: WRITE,
    body: createMassSendSchema.omit({ name: true }),
    handler: async ({ body, actor }) => massSendPreflight(deps, actor!, body),
  });

  api.route({
    method: 'get', path: '/mass-sends', summary: 'mass sends, newest first', tag: TAG, auth: READ,
    query: z.object({
      status: z.enum(['scheduled', 'queued', 'sending', 'completed', 'cancelled', 'failed']).optional(),
      limit: z.coerce.number().int().min(1).max(200).default(50),
      offset: z.coerce.number().int().min(0).default(0),
    }),
    handler: async ({ query }) => listMassSends(db, query),
  });

  api.route({
    method: 'get', path: '/mass-sends/:id', summary: 'one mass send with its progress counted from its rows', tag: TAG, auth: READ,
    params: idParams,
    handler: async ({ params }) => ({ ...(await getMassSend(db, params.id)), progress: await massSendProgress(db, params.id, deps.now?.()) }),
  });

  api.route({
    method: 'get', path: '/mass-sends/:id/recipients', summary: 'per-customer results of a mass send, in the caller’s scope (names masked unless the role may reveal)', tag: TAG, auth: READ,
    params: idParams,
    query: z.object({
      result: z.enum(RECIPIENT_RESULTS).optional(),
      member: z.string().min(1).max(64).optional(),
      limit: z.coerce.number().int().min(1).max(500).default(50),
      offset: z.coerce.number().int().min(0).default(0),
    }),
    handler: async ({ params, query, actor }) => massSendRecipients(db, actor!, params.id, query, deps.now?.()),
  });

  api.route({
    method: 'post', path: '/mass-sends/:id/remind', summary: 'remind members who have not confirmed their task (at most 3 times per task in 24 h; audited)', tag: TAG, auth: WRITE,
    params: idParams,
    handler: async ({ params, actor, ctx }) => remindMassSend(deps, actor!, params.id, requestOf(ctx)),
  });

  api.route({
    method: 'post', path: '/mass-sends/:id/cancel', summary: 'cancel a mass send: pending rows, and members’ unconfirmed WeCom tasks (audited)', tag: TAG, auth: WRITE,
    params: idParams,
    handler: async ({ params, actor, ctx }) => cancelMassSend(deps, actor!, params.id, requestOf(ctx)),
  });
}
