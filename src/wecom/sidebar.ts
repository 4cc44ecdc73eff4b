import { sql } from 'kysely';
import { z } from 'zod';
import type { Api } from '../platform/http/api.js';
import type { Actor } from '../platform/http/context.js';
import type { Db } from '../platform/db/database.js';
import { conflict, forbidden, notFound } from '../platform/errors.js';
import { auditBy, recordAudit } from '../audit/index.js';
import { customerScope } from '../auth/index.js';
import type { ComplianceGate } from '../compliance/index.js';
import { addTimeline, summarise } from '../customers/index.js';
import { getApprovedMaterial, materialContent, type WecomAttachment } from '../materials/index.js';
import { queueMessage, type OutboxPayload } from '../outbox/index.js';
import { getSetting } from '../settings/index.js';
import { AUM_GROUP, customerTags } from '../tags/index.js';
import type { CorpRegistry } from './corps.js';

/**
 * What the WeCom sidebar (web/sidebar) needs beyond the module APIs it shares with the console:
 *
 * - `GET /wecom/sidebar/config` (public): whether this is the sandbox, the corp and app to register
 *   the JS-SDK with, and in the sandbox the members one may sign in as (the page's simulated context).
 * - `GET /wecom/sidebar/contacts`: the member's own WeCom customers (the sandbox picker; a search).
 * - `GET /wecom/sidebar/contacts/:externalUserid`: the contact in the chat, the member's relation with
 *   its corp tags and channel, and the bank customer it is linked to when the caller may see them.
 * - `POST /wecom/sidebar/messages` then `POST /wecom/sidebar/messages/:id/outcome`: what the member puts
 *   into the chat (a suggested reply, a material, a product card, their own draft) is judged by the
 *   compliance gate and written to the outbox (channel `sidebar`, no API call) before the page hands it
 *   to the JS-SDK's sendChatMessage; the page then reports whether it was put in the chat, and a sent
 *   message joins the customer's timeline.
 */
export interface SidebarDeps {
  db: Db;
  gate: ComplianceGate;
  corps: CorpRegistry;
  /** The sandbox corp when the app runs against the sandbox. */
  sandboxCorpId?: string;
}

const WHOLE_BANK = new Set(['admin', 'ops', 'compliance']);
const corpIdSchema = z.string().min(1).max(64);

/** sendChatMessage's parameters (web/sidebar passes them to the JS-SDK as they are). */
export type ChatMessage =
  | { msgtype: 'text'; text: { content: string } }
  | { msgtype: 'image'; image: { mediaid: string } }
  | { msgtype: 'news'; news: { link: string; title: string; desc: string; imgUrl: string } }
  | { msgtype: 'file'; file: { mediaid: string } }
  | { msgtype: 'miniprogram'; miniprogram: { appid: string; title: string; imgUrl: string; page: string } };

/**
 * The outbox payload as sendChatMessage calls, one message each: the text first, then each attachment.
 * An image known only by URL goes as a link card to the picture (sendChatMessage takes images by media id).
 */
export function chatMessages(payload: OutboxPayload, title = ''): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (payload.text.trim()) out.push({ msgtype: 'text', text: { content: payload.text } });
  for (const a of payload.attachments as WecomAttachment[]) {
    switch (a.msgtype) {
      case 'link':
        out.push({ msgtype: 'news', news: { link: a.link.url, title: a.link.title, desc: a.link.desc ?? '', imgUrl: a.link.picurl ?? '' } });
        break;
      case 'image':
        if ('media_id' in a.image) out.push({ msgtype: 'image', image: { mediaid: a.image.media_id } });
        else out.push({ msgtype: 'news', news: { link: a.image.pic_url, title: title || '图片', desc: '', imgUrl: a.image.pic_url } });
        break;
      case 'file':
        out.push({ msgtype: 'file', file: { mediaid: a.file.media_id } });
        break;
      case 'miniprogram':
        out.push({ msgtype: 'miniprogram', miniprogram: { appid: a.miniprogram.appid, title: a.miniprogram.title, imgUrl: '', page: a.miniprogram.page } });
        break;
    }
  }
  return out;
}

/** The AUM分层 tag, or the tier by the current thresholds when the nightly fact tags have not run yet. */
async function aumTier(db: Db, customerId: string, aum: string | number): Promise<string> {
  const tag = (await customerTags(db, customerId)).find((t) => t.group === AUM_GROUP);
  if (tag) return tag.name;
  const t = await getSetting(db, 'customers.aumTiers');
  const value = Number(aum);
  return value >= t.private ? '私行' : value >= t.wealth ? '财富' : value >= t.potential ? '潜力' : '大众';
}

async function liveRelation(db: Db, actor: Actor, corpId: string, externalUserid: string) {
  if (!actor.wecomUserid || actor.corpId !== corpId) return undefined;
  return db
    .selectFrom('follow_relations')
    .selectAll()
    .where('corp_id', '=', corpId)
    .where('userid', '=', actor.wecomUserid)
    .where('external_userid', '=', externalUserid)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

async function visibleCustomer(db: Db, actor: Actor, customerId: string | null): Promise<string | null> {
  if (!customerId) return null;
  const row = await db.selectFrom('customers').select('id').where('id', '=', customerId).where(customerScope(actor)).executeTakeFirst();
  return row?.id ?? null;
}

export function registerSidebarRoutes(api: Api, deps: SidebarDeps): void {
  const { db, corps } = deps;

  api.route({
    method: 'get',
    path: '/wecom/sidebar/config',
    summary: 'how the sidebar starts: sandbox or WeCom, the corp and app for the JS-SDK, and in the sandbox the members to sign in as',
    tag: 'wecom',
    auth: 'public',
    query: z.object({ corpId: corpIdSchema.optional() }),
    handler: async ({ query }) => {
      const list = await corps.list();
      const corpId = query.corpId && list.includes(query.corpId) ? query.corpId : list.length === 1 ? list[0]! : null;
      const corp = corpId ? await corps.get(corpId) : undefined;
      const sandbox = Boolean(deps.sandboxCorpId && corpId === deps.sandboxCorpId);
      const members = sandbox
        ? await db
            .selectFrom('staff as s')
            .leftJoin('branches as b', 'b.id', 's.branch_id')
            .select((eb) => [
              's.wecom_userid as userid',
              's.display_name as name',
              's.title',
              'b.name as branch',
              eb
                .selectFrom('follow_relations as fr')
                .select(sql<number>`count(*)::int`.as('n'))
                .whereRef('fr.userid', '=', 's.wecom_userid')
                .whereRef('fr.corp_id', '=', 's.corp_id')
                .where('fr.deleted_at', 'is', null)
                .as('contacts'),
            ])
            .where('s.corp_id', '=', corpId)
            .where('s.wecom_userid', 'is not', null)
            .where('s.active', '=', true)
            .orderBy('s.username')
            .execute()
        : [];
      return {
        sandbox,
        corpId,
        corpName: corp?.name ?? null,
        agentId: corp?.agentId ?? null,
        members: members.map((m) => ({ userid: m.userid!, name: m.name, title: m.title, branch: m.branch, contacts: m.contacts ?? 0 })),
      };
    },
  });

  api.route({
    method: 'get',
    path: '/wecom/sidebar/contacts',
    summary: 'the caller’s own WeCom customers (live relations), newest first; q matches the name or the remark',
    tag: 'wecom',
    auth: 'any',
    query: z.object({ q: z.string().trim().min(1).max(40).optional(), limit: z.coerce.number().int().min(1).max(200).default(50) }),
    handler: async ({ query, actor }) => {
      if (!actor!.wecomUserid || !actor!.corpId) return { member: false, items: [] };
      let q = db
        .selectFrom('follow_relations as fr')
        .innerJoin('external_contacts as ec', (j) => j.onRef('ec.corp_id', '=', 'fr.corp_id').onRef('ec.external_userid', '=', 'fr.external_userid'))
        .select(['ec.external_userid', 'ec.name', 'ec.avatar', 'ec.customer_id', 'fr.remark', 'fr.added_at'])
        .where('fr.corp_id', '=', actor!.corpId)
        .where('fr.userid', '=', actor!.wecomUserid)
        .where('fr.deleted_at', 'is', null);
      if (query.q) {
        const pattern = `%${query.q.replace(/[\\%_]/g, '\\$&')}%`;
        q = q.where((eb) => eb.or([eb('ec.name', 'ilike', pattern), eb('fr.remark', 'ilike', pattern)]));
      }
      const rows = await q.orderBy('fr.added_at', 'desc').orderBy('ec.external_userid').limit(query.limit).execute();
      return {
        member: true,
        corpId: actor!.corpId,
        items: rows.map((r) => ({ externalUserid: r.external_userid, name: r.name, avatar: r.avatar, remark: r.remark, addedAt: r.added_at, linked: Boolean(r.customer_id) })),
      };
    },
  });

  api.route({
    method: 'get',
    path: '/wecom/sidebar/contacts/:externalUserid',
    summary: 'the contact in the chat: the caller’s relation with its corp tags and channel, and the linked customer when in scope',
    tag: 'wecom',
    auth: 'any',
    params: z.object({ externalUserid: z.string().min(1).max(64) }),
    query: z.object({ corpId: corpIdSchema.optional() }),
    handler: async ({ params, query, actor }) => {
      const corpId = await corps.resolve(query.corpId);
      const contact = await db.selectFrom('external_contacts').selectAll().where('corp_id', '=', corpId).where('external_userid', '=', params.externalUserid).executeTakeFirst();
      if (!contact) throw notFound('WeCom contact');
      const relation = await liveRelation(db, actor!, corpId, contact.external_userid);
      const customerId = await visibleCustomer(db, actor!, contact.customer_id);
      // A member sees the customers who follow them; others what their data scope shows.
      if (!relation && !customerId && !WHOLE_BANK.has(actor!.role)) throw notFound('WeCom contact');
      const tags = relation
        ? await db
            .selectFrom('wecom_contact_tags as ct')
            .innerJoin('wecom_tags as t', (j) => j.onRef('t.corp_id', '=', 'ct.corp_id').onRef('t.tag_id', '=', 'ct.tag_id'))
            .leftJoin('wecom_tag_groups as g', (j) => j.onRef('g.corp_id', '=', 't.corp_id').onRef('g.group_id', '=', 't.group_id'))
            .select(['t.tag_id', 't.name', 't.group_id', 'g.name as group_name', 'ct.source', 'ct.assigned_at'])
            .where('ct.corp_id', '=', corpId)
            .where('ct.userid', '=', relation.userid)
            .where('ct.external_userid', '=', contact.external_userid)
            .where('t.deleted_at', 'is', null)
            .orderBy('g.name')
            .orderBy('t.name')
            .execute()
        : [];
      const way = relation?.state
        ? await db.selectFrom('wecom_contact_ways').select('name').where('corp_id', '=', corpId).where('state', '=', relation.state).executeTakeFirst()
        : undefined;
      const customer = customerId
        ? await db.selectFrom('customers as c').leftJoin('branches as b', 'b.id', 'c.branch_id').select(['c.aum', 'b.name as branch']).where('c.id', '=', customerId).executeTakeFirstOrThrow()
        : undefined;
      return {
        corpId,
        externalUserid: contact.external_userid,
        name: contact.name,
        avatar: contact.avatar,
        gender: contact.gender,
        /** 1: a WeChat user; 2: a WeCom user of another company. */
        type: contact.type,
        linked: Boolean(contact.customer_id),
        customerId,
        aumTier: customerId && customer ? await aumTier(db, customerId, customer.aum) : null,
        branch: customer?.branch ?? null,
        relation: relation
          ? {
              userid: relation.userid,
              remark: relation.remark,
              description: relation.description,
              addedAt: relation.added_at,
              state: relation.state,
              channel: way?.name ?? null,
              tags: tags.map((t) => ({ id: t.tag_id, name: t.name, groupId: t.group_id, group: t.group_name, source: t.source, assignedAt: t.assigned_at })),
            }
          : null,
      };
    },
  });

  const PURPOSE = { suggestion: 'service', draft: 'service', material: 'marketing', recommendation: 'marketing' } as const;

  api.route({
    method: 'post',
    path: '/wecom/sidebar/messages',
    summary: 'judge and record what the member is about to put into the chat (outbox channel sidebar); answers the sendChatMessage calls',
    tag: 'wecom',
    auth: 'any',
    status: 201,
    body: z
      .object({
        corpId: corpIdSchema.optional(),
        externalUserid: z.string().min(1).max(64),
        /** The page's key for this one send, so a retry records it once. */
        key: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, '8–64 of A-Z a-z 0-9 _ -'),
        source: z.enum(['suggestion', 'draft', 'material', 'recommendation']),
        text: z.string().trim().min(1).max(4000).optional(),
        materialId: z.uuid().optional(),
      })
      .refine((b) => (b.text === undefined) !== (b.materialId === undefined), { message: 'give either text or materialId', path: ['text'] }),
    handler: async ({ body, actor, ctx }) => {
      const corpId = await corps.resolve(body.corpId, 'body.corpId');
      const relation = await liveRelation(db, actor!, corpId, body.externalUserid);
      if (!relation) throw forbidden('only a member this customer follows can send in the chat');
      const contact = await db.selectFrom('external_contacts').select('customer_id').where('corp_id', '=', corpId).where('external_userid', '=', body.externalUserid).executeTakeFirst();
      const material = body.materialId ? await getApprovedMaterial(db, body.materialId) : undefined;
      const content = material ? materialContent(material) : { text: body.text!, attachments: [], productIds: [] as string[] };
      const queued = await queueMessage(
        { db, gate: deps.gate },
        {
          idempotencyKey: `sidebar:${actor!.id}:${body.key}`,
          corpId,
          channel: 'sidebar',
          recipient: body.externalUserid,
          sender: relation.userid,
          customerId: contact?.customer_id ?? null,
          content: { text: content.text, attachments: content.attachments },
          productIds: content.productIds,
          purpose: PURPOSE[body.source],
          cause: { type: 'member', id: actor!.id },
          ref: material ? { type: 'material', id: material.id } : { type: `sidebar_${body.source}`, id: body.key },
          // What the member typed themselves may need a compliance review before it goes out.
          freeText: body.source === 'draft' ? { authorId: actor!.id } : undefined,
        },
      );
      const row = await db.selectFrom('outbox').select(['id', 'status', 'verdict', 'findings', 'payload', 'last_error', 'review_id']).where('id', '=', queued.id).executeTakeFirstOrThrow();
      await recordAudit(
        db,
        auditBy(actor!, { ip: ctx.ip, requestId: ctx.state.requestId })('sidebar.message.prepare', {
          targetType: 'outbox',
          targetId: row.id,
          outcome: row.status === 'blocked' ? 'denied' : 'success',
          detail: { externalUserid: body.externalUserid, source: body.source, materialId: body.materialId ?? null, verdict: row.verdict },
        }),
      );
      const payload = row.payload as OutboxPayload;
      return {
        id: row.id,
        status: row.status,
        verdict: row.verdict,
        findings: row.findings ?? [],
        reason: row.status === 'blocked' ? row.last_error : null,
        reviewId: row.review_id,
        text: payload.text,
        disclosures: queued.decision?.disclosures ?? material?.disclosures ?? [],
        chat: row.status === 'pending' ? chatMessages(payload, material?.title) : [],
      };
    },
  });

  api.route({
    method: 'post',
    path: '/wecom/sidebar/messages/:id/outcome',
    summary: 'the member put a prepared message into the chat (sent) or did not (cancelled); a sent one joins the timeline',
    tag: 'wecom',
    auth: 'any',
    params: z.object({ id: z.uuid() }),
    body: z.object({ outcome: z.enum(['sent', 'cancelled']), error: z.string().max(200).optional() }),
    handler: async ({ params, body, actor, ctx }) => {
      const row = await db.selectFrom('outbox').selectAll().where('id', '=', params.id).where('channel', '=', 'sidebar').executeTakeFirst();
      if (!row || row.cause_type !== 'member' || row.cause_id !== actor!.id) throw notFound('sidebar message');
      const wanted = body.outcome === 'sent' ? 'sent' : 'cancelled';
      if (row.status === wanted) return { id: row.id, status: row.status };
      if (row.status !== 'pending') throw conflict(`消息状态为 ${row.status}，不能再标记`);
      const now = new Date();
      const changed = await db
        .updateTable('outbox')
        .set(
          body.outcome === 'sent'
            ? { status: 'sent', sent_at: now, delivery: 'delivered', delivered_at: now, updated_at: now }
            : { status: 'cancelled', last_error: `成员未发送${body.error ? `：${body.error}` : ''}`, updated_at: now },
        )
        .where('id', '=', row.id)
        .where('status', '=', 'pending')
        .returning('id')
        .executeTakeFirst();
      if (!changed) throw conflict('消息状态已改变，请刷新');
      if (body.outcome === 'sent') {
        const text = (row.payload as OutboxPayload).text;
        await addTimeline(db, {
          customerId: row.customer_id,
          corpId: row.corp_id,
          externalUserid: row.recipient,
          kind: 'message_out',
          summary: `${actor!.displayName}在会话中发送：${summarise(text || '（附件）')}`,
          detail: { channel: 'sidebar', outboxId: row.id, sender: row.sender, ref: row.ref_type ? { type: row.ref_type, id: row.ref_id } : null },
          cause: { type: 'member', id: actor!.id },
          at: now,
        });
      }
      await recordAudit(
        db,
        auditBy(actor!, { ip: ctx.ip, requestId: ctx.state.requestId })(`sidebar.message.${body.outcome}`, { targetType: 'outbox', targetId: row.id, outcome: 'success', detail: body.error ? { error: body.error } : undefined }),
      );
      return { id: row.id, status: wanted };
    },
  });
}
