import { z } from 'zod';
import type { Api } from '../platform/http/api.js';
import { AppError, conflict, invalid } from '../platform/errors.js';
import { auditBy, recordAudit } from '../audit/index.js';
import { rolesFor } from '../auth/index.js';
import { filterNodeSchema, type FilterNode } from '../filters/index.js';
import { WeComApiError, WeComUnavailableError } from '../wecom/client/index.js';
import { createCorpTags } from '../wecom/tags.js';
import { changeCustomerTags } from './assign.js';
import { checkTagFits, createGroup, customerInScope, customerTags, deleteTag, groupById, insertTag, listCatalog, tagWithGroup, updateTag } from './catalog.js';
import { enqueueRuleRecompute, type TagDeps } from './jobs.js';
import { TagSyncError } from './wecom.js';

/**
 * The tags API: the catalogue (groups and tags, CRUD for admin and ops) and a customer's tags (read by anyone
 * who may see the customer, changed by tags.assign roles within their scope). Rule changes recompute in the
 * background job; linked tags reach WeCom before the local change is recorded.
 */
const STAFF = ['admin', 'ops'] as const;
const tagName = z.string().trim().min(1).max(30);
const description = z.string().trim().max(200);

type TagRow = { id: string; group_id: string; name: string; description: string | null; rule: unknown; wecom_corp_id: string | null; wecom_tag_id: string | null; created_at: Date; updated_at: Date };
const present = (t: TagRow) => ({
  id: t.id,
  groupId: t.group_id,
  name: t.name,
  description: t.description,
  rule: t.rule,
  wecom: t.wecom_tag_id ? { corpId: t.wecom_corp_id, tagId: t.wecom_tag_id } : null,
  createdAt: t.created_at,
  updatedAt: t.updated_at,
});

/** WeCom's refusal as a typed error the API can show. */
function wecomError(error: unknown): unknown {
  if (error instanceof WeComUnavailableError) return new AppError('unavailable', error.message, { retryAfterSeconds: 30 });
  if (error instanceof WeComApiError) return conflict(error.message);
  return error;
}

export function registerTagRoutes(api: Api, deps: TagDeps): void {
  const { db } = deps;
  const audit = (actor: Parameters<typeof auditBy>[0], ctx: { ip: string; state: { requestId: string } }) => auditBy(actor, { ip: ctx.ip, requestId: ctx.state.requestId });

  async function corpOf(given: string | undefined): Promise<string> {
    const corps = await deps.gateway.registry.list();
    if (given) {
      if (!corps.includes(given)) throw invalid('invalid body', [{ path: 'body.wecom.corpId', message: `no corp ${given}` }]);
      return given;
    }
    if (corps.length !== 1) throw invalid('invalid body', [{ path: 'body.wecom.corpId', message: `${corps.length} corps are configured: name one` }]);
    return corps[0]!;
  }

  /** The WeCom tag a new local tag links to: an existing corp tag, or one created now in WeCom. */
  async function wecomLink(input: { corpId?: string; tagId?: string; groupName?: string }, name: string, group: { id: string; name: string }) {
    const corpId = await corpOf(input.corpId);
    if (input.tagId) {
      const known = await db.selectFrom('wecom_tags').select('tag_id').where('corp_id', '=', corpId).where('tag_id', '=', input.tagId).where('deleted_at', 'is', null).executeTakeFirst();
      if (!known) throw invalid('invalid body', [{ path: 'body.wecom.tagId', message: 'no such corp tag (sync first if it was just created in WeCom)' }]);
      return { corpId, tagId: input.tagId };
    }
    // Refuse a local name clash before WeCom creates a tag nobody would link to.
    const clash = await db.selectFrom('tags').select('id').where('group_id', '=', group.id).where('name', '=', name).where('deleted_at', 'is', null).executeTakeFirst();
    if (clash) throw conflict(`tag ${name} exists in the group`);
    try {
      const created = await createCorpTags(deps, corpId, { groupName: input.groupName ?? group.name.slice(0, 30), tags: [name] });
      const tag = created.tag.find((t) => t.name === name) ?? created.tag[0];
      if (!tag) throw conflict('WeCom created no tag');
      return { corpId, tagId: tag.id };
    } catch (error) {
      throw wecomError(error);
    }
  }

  api.route({
    method: 'get',
    path: '/tags',
    summary: 'tag groups with their tags, layer, exclusivity and how many of the caller’s customers hold each',
    tag: 'tags',
    auth: rolesFor('customers.read'),
    handler: async ({ actor }) => ({ groups: await listCatalog(db, actor!) }),
  });

  api.route({
    method: 'post',
    path: '/tag-groups',
    summary: 'create a manual or rule tag group',
    tag: 'tags',
    auth: STAFF,
    status: 201,
    body: z.object({ name: tagName, layer: z.enum(['manual', 'rule']), exclusive: z.boolean().default(false), description: description.optional() }),
    handler: async ({ body, actor, ctx }) => {
      const group = await createGroup(db, body);
      await recordAudit(db, audit(actor!, ctx)('tags.group.create', { targetType: 'tag_group', targetId: group.id, outcome: 'success', detail: body }));
      return group;
    },
  });

  api.route({
    method: 'post',
    path: '/tags',
    summary: 'create a manual tag or a rule tag (computed in the background), optionally linked to a WeCom corp tag',
    tag: 'tags',
    auth: STAFF,
    status: 201,
    body: z.object({
      groupId: z.uuid(),
      name: tagName,
      description: description.optional(),
      rule: filterNodeSchema.optional(),
      wecom: z
        .object({
          corpId: z.string().min(1).max(64).optional(),
          /** Link this existing corp tag; without it the corp tag is created in WeCom (in groupName, default the local group's name). */
          tagId: z.string().min(1).max(64).optional(),
          groupName: z.string().trim().min(1).max(30).optional(),
        })
        .optional(),
    }),
    handler: async ({ body, actor, ctx }) => {
      const group = await groupById(db, body.groupId);
      checkTagFits(group, { rule: body.rule, linked: body.wecom !== undefined });
      const wecom = body.wecom ? await wecomLink(body.wecom, body.name, group) : undefined;
      const tag = await insertTag(db, { groupId: group.id, name: body.name, rule: body.rule as FilterNode | undefined, description: body.description, wecom, createdBy: actor!.id });
      await recordAudit(db, audit(actor!, ctx)('tags.create', { targetType: 'tag', targetId: tag.id, outcome: 'success', detail: { groupId: group.id, name: tag.name, rule: body.rule ?? null, wecom: wecom ?? null } }));
      if (tag.rule) await enqueueRuleRecompute(deps.jobs, tag, { type: 'member', id: actor!.id });
      return present(tag);
    },
  });

  api.route({
    method: 'patch',
    path: '/tags/:id',
    summary: 'rename a tag, change its description or its rule (a changed rule is recomputed in the background)',
    tag: 'tags',
    auth: STAFF,
    params: z.object({ id: z.uuid() }),
    body: z
      .object({ name: tagName.optional(), description: description.nullable().optional(), rule: filterNodeSchema.optional() })
      .refine((b) => b.name !== undefined || b.description !== undefined || b.rule !== undefined, { message: 'nothing to change', path: ['name'] }),
    handler: async ({ params, body, actor, ctx }) => {
      const before = await tagWithGroup(db, params.id);
      if (before.layer === 'fact' || before.layer === 'model') throw conflict(`${before.layer} tags are maintained by the system`);
      const tag = await updateTag(db, params.id, body);
      await recordAudit(db, audit(actor!, ctx)('tags.update', { targetType: 'tag', targetId: tag.id, outcome: 'success', detail: { before: { name: before.name, rule: before.rule }, change: body } }));
      if (body.rule !== undefined) await enqueueRuleRecompute(deps.jobs, tag, { type: 'member', id: actor!.id });
      return present(tag);
    },
  });

  api.route({
    method: 'delete',
    path: '/tags/:id',
    summary: 'delete a tag (soft) and every assignment of it; a linked corp tag stays in WeCom',
    tag: 'tags',
    auth: STAFF,
    params: z.object({ id: z.uuid() }),
    handler: async ({ params, actor, ctx }) => {
      const result = await deleteTag(db, params.id);
      await recordAudit(db, audit(actor!, ctx)('tags.delete', { targetType: 'tag', targetId: params.id, outcome: 'success', detail: result }));
      return result;
    },
  });

  api.route({
    method: 'get',
    path: '/customers/:id/tags',
    summary: 'a customer’s tags with their source, cause and time',
    tag: 'tags',
    auth: rolesFor('customers.read'),
    params: z.object({ id: z.uuid() }),
    handler: async ({ params, actor }) => {
      await customerInScope(db, actor!, params.id);
      return { items: await customerTags(db, params.id) };
    },
  });

  api.route({
    method: 'post',
    path: '/customers/:id/tags',
    summary: 'add and remove manual tags on a customer in the caller’s scope; linked tags are changed in WeCom first',
    tag: 'tags',
    auth: rolesFor('tags.assign'),
    params: z.object({ id: z.uuid() }),
    body: z
      .object({ add: z.array(z.uuid()).max(50).default([]), remove: z.array(z.uuid()).max(50).default([]) })
      .refine((b) => b.add.length + b.remove.length > 0, { message: 'nothing to change', path: ['add'] }),
    handler: async ({ params, body, actor, ctx }) => {
      await customerInScope(db, actor!, params.id);
      const entry = audit(actor!, ctx);
      try {
        const change = { customerId: params.id, add: body.add, remove: body.remove, source: 'member' as const, cause: { type: 'member' as const, id: actor!.id } };
        const result = await changeCustomerTags(deps, change, { layers: ['manual'], path: 'body.' });
        await recordAudit(db, entry('tags.assign', { targetType: 'customer', targetId: params.id, outcome: 'success', detail: { ...result } }));
        return { ...result, items: await customerTags(db, params.id) };
      } catch (error) {
        if (error instanceof TagSyncError) {
          await recordAudit(db, entry('tags.assign', { targetType: 'customer', targetId: params.id, outcome: 'failure', detail: { add: body.add, remove: body.remove, applied: error.applied, failed: error.failed } }));
        }
        throw error;
      }
    },
  });
}
