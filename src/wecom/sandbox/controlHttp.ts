import type Koa from 'koa';
import { z } from 'zod';
import type { SandboxControl } from './control.js';
import type { Core } from './core.js';
import { SandboxControlError } from './errors.js';
import type { World } from './world.js';

/**
 * The control API over HTTP (JSON under /sandbox/...): the same operations as `sandbox.control`,
 * for rehearsals, scripts and tests in other processes. Off when `controlApi` is false.
 */
const str = z.string().min(1);
const silent = z.boolean().optional();
const customer = z.object({ name: z.string().optional(), mobile: z.string().optional(), gender: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional(), externalUserid: z.string().optional() }).optional();
const relation = z.object({ userid: str, externalUserid: str, silent });
const msgRef = z.object({ msgid: str, userid: z.string().optional() });

const schemas = {
  scan: z.object({ state: z.string().optional(), configId: z.string().optional(), userid: z.string().optional(), customer, chatStarted: z.boolean().optional(), half: z.boolean().optional(), silent }),
  edit: relation.extend({ remark: z.string().optional(), description: z.string().optional(), addTags: z.array(z.string()).optional(), removeTags: z.array(z.string()).optional() }),
  transferFail: z.object({ externalUserid: str, takeoverUserid: z.string().optional(), handoverUserid: z.string().optional(), reason: z.enum(['customer_refused', 'customer_limit_exceed']), silent }),
  tagChange: z.discriminatedUnion('action', [
    z.object({ action: z.literal('create'), groupId: z.string().optional(), groupName: z.string().optional(), tags: z.array(z.string()).min(1), silent }),
    z.object({ action: z.literal('update'), id: str, name: z.string().optional(), order: z.number().int().optional(), silent }),
    z.object({ action: z.literal('delete'), id: str, silent }),
    z.object({ action: z.literal('shuffle'), groupId: z.string().optional(), silent }),
  ]),
  groupChange: z.discriminatedUnion('type', [
    z.object({ type: z.literal('create'), owner: str, name: z.string().optional(), members: z.array(z.string()).optional(), silent }),
    z.object({ type: z.literal('add_member'), chatId: str, members: z.array(z.string()).min(1), joinScene: z.union([z.literal(0), z.literal(3)]).optional(), silent }),
    z.object({ type: z.literal('del_member'), chatId: str, members: z.array(z.string()).min(1), quitScene: z.union([z.literal(0), z.literal(1)]).optional(), silent }),
    z.object({ type: z.literal('change_name'), chatId: str, name: z.string(), silent }),
    z.object({ type: z.literal('change_notice'), chatId: str, notice: z.string(), silent }),
    z.object({ type: z.literal('change_owner'), chatId: str, owner: str, silent }),
    z.object({ type: z.literal('dismiss'), chatId: str, silent }),
  ]),
  kfMessage: z.object({ externalUserid: z.string().optional(), openKfid: z.string().optional(), text: str, silent }),
  kfEnter: z.object({ externalUserid: z.string().optional(), openKfid: z.string().optional(), scene: z.string().optional(), sceneParam: z.string().optional(), silent }),
  memberMessage: z.object({ userid: str, content: str }),
  driftAdd: z.object({ userid: str, state: z.string().optional(), customer }),
  driftDelete: z.object({ userid: str, externalUserid: str }),
  driftRename: z.object({ id: str, name: str }),
  fault: z.object({
    api: str, rate: z.number().min(0).max(1).optional(), count: z.number().int().positive().optional(), errcode: z.number().int().optional(), errmsg: z.string().optional(),
    httpStatus: z.number().int().min(400).max(599).optional(), delayMs: z.number().int().min(0).max(120_000).optional(), drop: z.boolean().optional(),
  }),
  quota: z.object({ api: str, limit: z.number().int().min(0).nullable(), per: z.enum(['minute', 'hour']).optional() }),
  receivingQuota: z.object({ period: z.enum(['day', 'week', 'month']), limit: z.number().int().min(0) }),
  settings: z.object({ receivingQuota: z.object({ period: z.enum(['day', 'week', 'month']), limit: z.number().int().min(0) }).optional(), tagsEditableOnlyByCreator: z.boolean().optional(), contactWayLimit: z.number().int().min(0).optional(), corpTagLimit: z.number().int().min(0).optional() }),
  clock: z.object({ ms: z.number().min(0) }),
  callbackUrl: z.object({ url: z.url().nullable() }),
  settle: z.object({ force: z.boolean().optional() }),
};

type Query = Record<string, string | undefined>;
type Handler = (body: unknown, query: Query, param: string | undefined) => unknown;

function worldViews(world: World): Record<string, Handler> {
  const followsOf = (q: Query) => [...world.follows.values()].filter((f) => (!q.userid || f.userid === q.userid) && (!q.externalUserid || f.external_userid === q.externalUserid)).sort((a, b) => a.seq - b.seq);
  return {
    'GET /sandbox/world/members': () => [...world.members.values()],
    'GET /sandbox/world/departments': () => world.departments,
    'GET /sandbox/world/contacts': (_b, q) => {
      const wanted = q.userid ? new Set(world.followsOfUser(q.userid).map((f) => f.external_userid)) : undefined;
      return [...world.contacts.values()].filter((c) => !wanted || wanted.has(c.external_userid)).map((c) => ({ ...c, follows: world.followsOf(c.external_userid) }));
    },
    'GET /sandbox/world/contacts/:id': (_b, _q, id) => {
      const contact = world.contacts.get(id ?? '');
      if (!contact) throw new SandboxControlError(`no contact ${id}`, 404);
      return { contact, follows: world.followsOf(contact.external_userid), endedFollows: world.endedFollows.filter((f) => f.external_userid === id), received: world.received.filter((r) => r.to === id) };
    },
    'GET /sandbox/world/follows': (_b, q) => followsOf(q),
    'GET /sandbox/world/ended-follows': () => world.endedFollows,
    'GET /sandbox/world/tags': () => world.tagGroups,
    'GET /sandbox/world/contact-ways': () => [...world.contactWays.values()],
    'GET /sandbox/world/welcome-codes': () => [...world.welcomeCodes.values()],
    'GET /sandbox/world/groups': () => [...world.groupChats.values()],
    'GET /sandbox/world/received': (_b, q) => world.received.filter((r) => (!q.to || r.to === q.to) && (!q.kind || r.kind === q.kind) && (!q.ref || r.ref === q.ref)),
    'GET /sandbox/world/dropped': () => world.droppedAppMessages,
    'GET /sandbox/world/mass-sends': () => [...world.massSends.values()],
    'GET /sandbox/world/transfers': () => world.transfers,
    'GET /sandbox/world/kf': () => ({ accounts: world.kfAccounts, sessions: [...world.kfSessions.values()], messages: world.kfMessages }),
    'GET /sandbox/world/settings': () => world.settings,
  };
}

function routes(core: Core, control: SandboxControl): Record<string, Handler> {
  const parse = <S extends z.ZodType>(schema: S, body: unknown): z.output<S> => schema.parse(body ?? {});
  return {
    'GET /sandbox/health': () => ({ status: 'ok', corpId: core.world.corpId, now: core.clock.now(), callbackUrl: core.callbacks.callbackUrl, pendingCallbacks: core.callbacks.deliveries.filter((d) => d.status === 'pending').length }),
    ...worldViews(core.world),
    'GET /sandbox/world/callbacks': async (_b, q) => {
      if (q.wait === '1' || q.wait === 'true') await control.waitForDeliveries();
      return control.deliveries({ ...(q.event ? { event: q.event } : {}), ...(q.changeType ? { changeType: q.changeType } : {}), ...(q.status ? { status: q.status as 'pending' } : {}) });
    },
    'POST /sandbox/callbacks/wait': () => control.waitForDeliveries(),
    'PUT /sandbox/callback-url': (b) => (control.setCallbackUrl(parse(schemas.callbackUrl, b).url), { url: core.callbacks.callbackUrl }),
    'POST /sandbox/callback-url/verify': () => control.verifyCallbackUrl(),
    'POST /sandbox/simulate/scan': (b) => control.scanQr(parse(schemas.scan, b)),
    'POST /sandbox/simulate/customer-deletes-member': (b) => control.customerDeletesMember(parse(relation, b)),
    'POST /sandbox/simulate/member-deletes-customer': (b) => control.memberDeletesCustomer(parse(relation, b)),
    'POST /sandbox/simulate/member-edits-contact': (b) => control.memberEditsContact(parse(schemas.edit, b)),
    'POST /sandbox/simulate/transfer-fail': (b) => control.transferFail(parse(schemas.transferFail, b)),
    'POST /sandbox/simulate/transfers/settle': (b) => control.settleTransfers(parse(schemas.settle, b)),
    'POST /sandbox/simulate/tag-change': (b) => control.tagChange(parse(schemas.tagChange, b)),
    'POST /sandbox/simulate/group-change': (b) => control.groupChange(parse(schemas.groupChange, b)),
    'POST /sandbox/simulate/kf-message': (b) => control.kfCustomerMessage(parse(schemas.kfMessage, b)),
    'POST /sandbox/simulate/kf-enter': (b) => control.kfEnterSession(parse(schemas.kfEnter, b)),
    'POST /sandbox/simulate/member-message': (b) => control.memberMessage(parse(schemas.memberMessage, b)),
    'POST /sandbox/simulate/mass-send/confirm': (b) => control.confirmMassSend(parse(msgRef, b)),
    'POST /sandbox/simulate/mass-send/ignore': (b) => control.ignoreMassSend(parse(msgRef, b)),
    'POST /sandbox/drift/add-contact': (b) => control.driftAddContact(parse(schemas.driftAdd, b)),
    'POST /sandbox/drift/delete-follow': (b) => (control.driftDeleteFollow(parse(schemas.driftDelete, b)), { ok: true }),
    'POST /sandbox/drift/rename-tag': (b) => (control.driftRenameTag(parse(schemas.driftRename, b)), { ok: true }),
    'GET /sandbox/faults': () => control.listFaults(),
    'POST /sandbox/faults': (b) => control.addFault(parse(schemas.fault, b)),
    'DELETE /sandbox/faults': () => (control.clearFaults(), { ok: true }),
    'DELETE /sandbox/faults/:id': (_b, _q, id) => {
      if (!control.removeFault(id ?? '')) throw new SandboxControlError(`no fault ${id}`, 404);
      return { ok: true };
    },
    'POST /sandbox/tokens/expire': () => control.expireTokens(),
    'PUT /sandbox/quotas': (b) => (control.setQuota(parse(schemas.quota, b)), { ok: true }),
    'PUT /sandbox/receiving-quota': (b) => (control.setReceivingQuota(parse(schemas.receivingQuota, b)), core.world.settings.receivingQuota),
    'PATCH /sandbox/settings': (b) => control.configure(parse(schemas.settings, b)),
    'POST /sandbox/clock/advance': (b) => control.advanceClock(parse(schemas.clock, b).ms),
  };
}

async function readJson(req: Koa.Context['req']): Promise<unknown> {
  let text = '';
  for await (const chunk of req) {
    text += (chunk as Buffer).toString('utf8');
    if (text.length > 1_000_000) throw new SandboxControlError('body too large');
  }
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new SandboxControlError('body is not valid JSON');
  }
}

export function controlMiddleware(core: Core, control: SandboxControl): Koa.Middleware {
  const table = Object.entries(routes(core, control)).map(([key, handler]) => {
    const [method, path] = key.split(' ') as [string, string];
    const prefix = path.endsWith('/:id') ? path.slice(0, -3) : undefined;
    return { method, path, prefix, handler };
  });
  return async (ctx) => {
    const exact = table.find((r) => r.method === ctx.method && !r.prefix && r.path === ctx.path);
    const param = exact ? undefined : table.find((r) => r.method === ctx.method && r.prefix && ctx.path.startsWith(r.prefix) && !ctx.path.slice(r.prefix.length).includes('/'));
    const route = exact ?? param;
    if (!route) {
      ctx.status = table.some((r) => r.path === ctx.path) ? 405 : 404;
      ctx.body = { error: ctx.status === 405 ? 'method not allowed' : 'no such control route' };
      return;
    }
    try {
      const body = ctx.method === 'GET' || ctx.method === 'DELETE' ? {} : await readJson(ctx.req);
      const query: Query = {};
      for (const [k, v] of Object.entries(ctx.query)) if (typeof v === 'string') query[k] = v;
      const id = route.prefix ? decodeURIComponent(ctx.path.slice(route.prefix.length)) : undefined;
      const result = await route.handler(body, query, id);
      ctx.body = result === undefined ? { ok: true } : result;
    } catch (error) {
      if (error instanceof z.ZodError) {
        ctx.status = 400;
        ctx.body = { error: 'invalid body', issues: error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) };
      } else if (error instanceof SandboxControlError) {
        ctx.status = error.status;
        ctx.body = { error: error.message };
      } else {
        core.logger?.error({ err: error, path: ctx.path }, 'sandbox control failed');
        ctx.status = 500;
        ctx.body = { error: 'internal error' };
      }
    }
  };
}
