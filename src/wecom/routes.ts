import { z } from 'zod';
import type { Api } from '../platform/http/api.js';
import type { Db } from '../platform/db/database.js';
import type { EventBus } from '../platform/events.js';
import type { JobRunner } from '../platform/jobs.js';
import type { Logger } from '../platform/logger.js';
import { AppError, forbidden, invalid } from '../platform/errors.js';
import { auditBy, recordAudit } from '../audit/index.js';
import { rolesFor } from '../auth/index.js';
import type { WeComGateway } from './client/index.js';
import { contactWayImage, createContactWay, deleteContactWay, listContactWays, listMembers, updateContactWay } from './contactWays.js';
import { jsSdkSignatures, type TicketQuotas } from './jssdk.js';
import { createCorpTags, deleteCorpTags, listCorpTags, markContactTags, renameCorpTag } from './tags.js';
import { startReconcileUnlessRunning } from './sync/jobs.js';

export interface WecomRouteDeps {
  db: Db;
  gateway: WeComGateway;
  jobs: JobRunner;
  events: EventBus;
  logger: Logger;
  quotas: TicketQuotas;
  publicUrl?: string;
}

const corpIdSchema = z.string().min(1).max(64);

export function registerWecomRoutes(api: Api, deps: WecomRouteDeps): void {
  const { db } = deps;
  const corpOf = (given: string | undefined) => deps.gateway.registry.resolve(given);
  const withCorp = z.object({ corpId: corpIdSchema.optional() });

  api.route({
    method: 'get',
    path: '/wecom/corps',
    summary: 'list configured WeCom corps (no secrets)',
    tag: 'wecom',
    auth: rolesFor('wecom.read'),
    handler: async () => ({
      items: await db.selectFrom('corps').select(['corp_id', 'name', 'agent_id', 'api_base', 'source', 'active', 'updated_at']).orderBy('corp_id').execute(),
    }),
  });

  api.route({
    method: 'post',
    path: '/wecom/sync',
    summary: 'start a full reconcile of directory, tags, contacts and groups (409 while one of the corp is running); progress on the console room as wecom.sync.progress / done / failed',
    tag: 'wecom',
    auth: rolesFor('wecom.manage'),
    status: 202,
    body: withCorp,
    handler: async ({ body, actor, ctx }) => {
      const corpId = await corpOf(body.corpId);
      const { runId, started } = await startReconcileUnlessRunning(deps, corpId, `member:${actor!.id}`);
      if (!started) throw new AppError('conflict', `a sync of corp ${corpId} is already running (run ${runId})`, { code: 'sync_running' });
      await recordAudit(db, auditBy(actor!, { ip: ctx.ip, requestId: ctx.state.requestId })('wecom.sync', { targetType: 'corp', targetId: corpId, outcome: 'success', detail: { runId } }));
      return { runId };
    },
  });

  api.route({
    method: 'get',
    path: '/wecom/sync/runs',
    summary: 'recent sync runs with their reports (what each repaired), checkpoint, last error and who started them',
    tag: 'wecom',
    auth: rolesFor('wecom.read'),
    query: withCorp.extend({ limit: z.coerce.number().int().min(1).max(100).default(20) }),
    handler: async ({ query }) => {
      const runs = await db.selectFrom('wecom_sync_runs').selectAll().where('corp_id', '=', await corpOf(query.corpId)).orderBy('started_at', 'desc').limit(query.limit).execute();
      // A run a staff member started names them (cause `member:<staffId>`).
      const staffIds = [...new Set(runs.flatMap((r) => (r.cause?.startsWith('member:') ? [r.cause.slice(7)] : [])))].filter((id) => /^[0-9a-f-]{36}$/.test(id));
      const staff = staffIds.length ? await db.selectFrom('staff').select(['id', 'display_name']).where('id', 'in', staffIds).execute() : [];
      const names = new Map(staff.map((s) => [s.id, s.display_name]));
      return {
        items: runs.map((r) => {
          const id = r.cause?.startsWith('member:') ? r.cause.slice(7) : undefined;
          return { ...r, started_by: id ? { id, display_name: names.get(id) ?? null } : null };
        }),
      };
    },
  });

  const wayBody = z.object({
    corpId: corpIdSchema.optional(),
    name: z.string().trim().min(1).max(40),
    members: z.array(z.string().min(1).max(64)).min(1).max(100),
    state: z.string().regex(/^[A-Za-z0-9_.:-]{1,30}$/, 'at most 30 of A-Z a-z 0-9 _ . : -').optional(),
    remark: z.string().max(30).optional(),
    skipVerify: z.boolean().optional(),
    welcomeText: z.string().min(1).max(1000).nullable().optional(),
  });

  api.route({
    method: 'get',
    path: '/wecom/members',
    summary: 'WeCom members a channel code or a staff account can name: the synced directory and the staff bound to a member',
    tag: 'wecom',
    auth: rolesFor('wecom.manage'),
    query: withCorp,
    handler: async ({ query }) => ({ items: await listMembers(db, await corpOf(query.corpId)) }),
  });

  api.route({
    method: 'get',
    path: '/wecom/contact-ways/:id/qr',
    summary: "a channel QR code's image, fetched from WeCom (the sandbox's image host for the sandbox corp)",
    tag: 'wecom',
    auth: rolesFor('wecom.manage'),
    params: z.object({ id: z.uuid() }),
    handler: async ({ params, ctx }) => {
      const image = await contactWayImage(db, params.id);
      ctx.set('Cache-Control', 'private, max-age=3600');
      ctx.type = image.type;
      ctx.body = image.body;
      return undefined;
    },
  });

  api.route({
    method: 'get',
    path: '/wecom/contact-ways',
    summary: 'channel QR codes with the customers each brought',
    tag: 'wecom',
    auth: rolesFor('wecom.manage'),
    query: withCorp,
    handler: async ({ query }) => ({ items: await listContactWays(db, await corpOf(query.corpId)) }),
  });

  api.route({
    method: 'post',
    path: '/wecom/contact-ways',
    summary: 'create a channel QR code for one member or a group of members',
    tag: 'wecom',
    auth: rolesFor('wecom.manage'),
    status: 201,
    body: wayBody,
    handler: async ({ body, actor, ctx }) => {
      const corpId = await corpOf(body.corpId);
      const created = await createContactWay(deps, { ...body, corpId }, actor!.id);
      await recordAudit(db, auditBy(actor!, { ip: ctx.ip, requestId: ctx.state.requestId })('wecom.contact_way.create', { targetType: 'contact_way', targetId: created.id, outcome: 'success', detail: { state: created.state, members: body.members } }));
      return created;
    },
  });

  api.route({
    method: 'patch',
    path: '/wecom/contact-ways/:id',
    summary: 'change a channel QR code (members, remark, welcome message)',
    tag: 'wecom',
    auth: rolesFor('wecom.manage'),
    params: z.object({ id: z.uuid() }),
    body: wayBody.omit({ corpId: true, state: true }).partial(),
    handler: async ({ params, body, actor, ctx }) => {
      await updateContactWay(deps, params.id, body);
      await recordAudit(db, auditBy(actor!, { ip: ctx.ip, requestId: ctx.state.requestId })('wecom.contact_way.update', { targetType: 'contact_way', targetId: params.id, outcome: 'success', detail: body }));
      return undefined;
    },
  });

  api.route({
    method: 'delete',
    path: '/wecom/contact-ways/:id',
    summary: 'delete a channel QR code (customers it brought keep their attribution)',
    tag: 'wecom',
    auth: rolesFor('wecom.manage'),
    params: z.object({ id: z.uuid() }),
    handler: async ({ params, actor, ctx }) => {
      await deleteContactWay(deps, params.id);
      await recordAudit(db, auditBy(actor!, { ip: ctx.ip, requestId: ctx.state.requestId })('wecom.contact_way.delete', { targetType: 'contact_way', targetId: params.id, outcome: 'success' }));
      return undefined;
    },
  });

  api.route({
    method: 'get',
    path: '/wecom/tags',
    summary: 'corp tag groups and tags',
    tag: 'wecom',
    auth: 'any',
    query: withCorp,
    handler: async ({ query }) => ({ groups: await listCorpTags(db, await corpOf(query.corpId)) }),
  });

  api.route({
    method: 'post',
    path: '/wecom/tags',
    summary: 'create corp tags in a new or existing group (in WeCom and locally)',
    tag: 'wecom',
    auth: rolesFor('wecom.manage'),
    status: 201,
    body: z.object({
      corpId: corpIdSchema.optional(),
      groupId: z.string().max(64).optional(),
      groupName: z.string().trim().min(1).max(30).optional(),
      tags: z.array(z.string().trim().min(1).max(30)).min(1).max(100),
    }),
    handler: async ({ body, actor, ctx }) => {
      const corpId = await corpOf(body.corpId);
      const group = await createCorpTags(deps, corpId, body);
      await recordAudit(db, auditBy(actor!, { ip: ctx.ip, requestId: ctx.state.requestId })('wecom.tags.create', { targetType: 'tag_group', targetId: group.group_id, outcome: 'success', detail: { tags: body.tags } }));
      return { groupId: group.group_id, tags: group.tag.map((t) => ({ id: t.id, name: t.name })) };
    },
  });

  api.route({
    method: 'patch',
    path: '/wecom/tags/:id',
    summary: 'rename a corp tag or tag group',
    tag: 'wecom',
    auth: rolesFor('wecom.manage'),
    params: z.object({ id: z.string().min(1).max(64) }),
    body: z.object({ corpId: corpIdSchema.optional(), name: z.string().trim().min(1).max(30) }),
    handler: async ({ params, body, actor, ctx }) => {
      await renameCorpTag(deps, await corpOf(body.corpId), params.id, body.name);
      await recordAudit(db, auditBy(actor!, { ip: ctx.ip, requestId: ctx.state.requestId })('wecom.tags.rename', { targetType: 'tag', targetId: params.id, outcome: 'success', detail: { name: body.name } }));
      return undefined;
    },
  });

  api.route({
    method: 'post',
    path: '/wecom/tags/delete',
    summary: 'delete corp tags or whole tag groups',
    tag: 'wecom',
    auth: rolesFor('wecom.manage'),
    body: z
      .object({ corpId: corpIdSchema.optional(), tagIds: z.array(z.string().max(64)).max(1000).optional(), groupIds: z.array(z.string().max(64)).max(100).optional() })
      .refine((b) => (b.tagIds?.length ?? 0) + (b.groupIds?.length ?? 0) > 0, 'name tagIds or groupIds'),
    handler: async ({ body, actor, ctx }) => {
      await deleteCorpTags(deps, await corpOf(body.corpId), body);
      await recordAudit(db, auditBy(actor!, { ip: ctx.ip, requestId: ctx.state.requestId })('wecom.tags.delete', { targetType: 'tag', outcome: 'success', detail: body }));
      return undefined;
    },
  });

  api.route({
    method: 'post',
    path: '/wecom/contacts/:externalUserid/tags',
    summary: 'add and remove corp tags on a customer (as one member sees them); synced to WeCom',
    tag: 'wecom',
    auth: rolesFor('tags.assign'),
    params: z.object({ externalUserid: z.string().min(1).max(64) }),
    body: z
      .object({ corpId: corpIdSchema.optional(), userid: z.string().min(1).max(64), add: z.array(z.string().max(64)).max(100).default([]), remove: z.array(z.string().max(64)).max(100).default([]) })
      .refine((b) => b.add.length + b.remove.length > 0, 'nothing to change'),
    handler: async ({ params, body, actor, ctx }) => {
      const corpId = await corpOf(body.corpId);
      if (actor!.role === 'account_manager' && (actor!.wecomUserid !== body.userid || actor!.corpId !== corpId)) throw forbidden('account managers tag only their own customers');
      await markContactTags(deps, { corpId, userid: body.userid, externalUserid: params.externalUserid, add: body.add, remove: body.remove, source: 'member', cause: { type: 'member', id: actor!.id } });
      await recordAudit(db, auditBy(actor!, { ip: ctx.ip, requestId: ctx.state.requestId })('wecom.contact.tags', { targetType: 'external_contact', targetId: `${corpId}/${params.externalUserid}`, outcome: 'success', detail: { userid: body.userid, add: body.add, remove: body.remove } }));
      return undefined;
    },
  });

  api.route({
    method: 'get',
    path: '/wecom/jssdk',
    summary: 'JS-SDK wx.config and agentConfig signatures for a sidebar page URL',
    tag: 'wecom',
    auth: 'any',
    query: withCorp.extend({ url: z.url().max(2048) }),
    handler: async ({ query }) => {
      if (deps.publicUrl && new URL(query.url).origin !== new URL(deps.publicUrl).origin) {
        throw invalid('invalid query', [{ path: 'query.url', message: 'only pages of this service are signed' }]);
      }
      return jsSdkSignatures(deps, await corpOf(query.corpId), query.url);
    },
  });
}
