import { z } from 'zod';
import { can } from '../auth/index.js';
import { forbidden, invalid } from '../platform/errors.js';
import type { Api, HandlerInput } from '../platform/http/api.js';
import type { Actor } from '../platform/http/context.js';
import { productSummary } from './products.js';
import { ApprovedProducts, memberShare, staffCard, updateCard, type CardDeps, type ChangedBy } from './service.js';
import { cardScope, cardStats, listReferrals, type StatsQuery } from './store.js';

/**
 * /api/v1/cards: a member reads and edits their own card and makes share links; operations staff
 * (content.manage) may edit any card; statistics and the customers cards brought are scoped by
 * role (the bank, a branch, one's own card). The public pages' endpoints are in public.ts.
 */
const TAG = 'cards';

export const profileBody = z
  .strictObject({
    photoUrl: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).max(1024).nullable().optional(),
    title: z.string().trim().min(1).max(20).nullable().optional(),
    qualifications: z.array(z.string().trim().min(1).max(30)).max(6).optional(),
    intro: z.string().trim().max(300).optional(),
    theme: z.string().trim().min(1).max(30).optional(),
    featuredProductIds: z.array(z.string().trim().min(1).max(60)).max(6).refine((a) => new Set(a).size === a.length, 'each product once').optional(),
    featuredMaterialIds: z.array(z.uuid()).max(6).refine((a) => new Set(a).size === a.length, 'each material once').optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), { message: 'change at least one field' });

const cardSchema = z.object({
  staffId: z.string(), name: z.string(), branchName: z.string().nullable(), staffTitle: z.string().nullable(), url: z.string(),
  profile: z.object({
    photoUrl: z.string().nullable(), title: z.string().nullable(), qualifications: z.array(z.string()), intro: z.string(), theme: z.string(),
    featuredProductIds: z.array(z.string()), featuredMaterialIds: z.array(z.string()), version: z.number().int(), updatedAt: z.iso.datetime().nullable(), updatedBy: z.string().nullable(),
  }),
});

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD').refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)), 'not a date');
const statsQuery = z.object({ from: day.optional(), to: day.optional(), staffId: z.uuid().optional() });

/** Today in Asia/Shanghai, and the default range: the last 14 days. */
const shanghaiDay = (at: Date) => new Date(at.getTime() + 8 * 3600_000).toISOString().slice(0, 10);
function rangeOf(q: z.output<typeof statsQuery>): StatsQuery {
  const to = q.to ?? shanghaiDay(new Date());
  const from = q.from ?? shanghaiDay(new Date(Date.parse(`${to}T00:00:00Z`) - 13 * 86_400_000));
  const span = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000;
  if (span < 0) throw invalid('日期范围有误', [{ path: 'query.from', message: 'must not be after to' }]);
  if (span > 366) throw invalid('日期范围有误', [{ path: 'query.from', message: 'a range of at most 367 days' }]);
  return { from, to, ...(q.staffId ? { staffId: q.staffId } : {}) };
}

const changedBy = (input: HandlerInput<unknown, unknown, unknown>): ChangedBy => ({ actor: input.actor!, ip: input.ctx.ip, requestId: input.ctx.state.requestId });

/** Oneself always; another member's card with content.manage (operations). */
function mayEdit(actor: Actor, staffId: string): void {
  if (actor.id !== staffId && !can(actor.role, 'content.manage')) throw forbidden('只能编辑自己的名片');
}

export function registerCardRoutes(api: Api, deps: CardDeps & { approved: ApprovedProducts }): void {
  const { db, approved } = deps;
  const staffParams = z.object({ staffId: z.uuid() });

  api.route({
    method: 'get', path: '/cards/themes', summary: 'the card themes (templates/cards) and the default', tag: TAG, auth: 'any',
    response: z.object({ defaultKey: z.string(), themes: z.array(z.object({ key: z.string(), name: z.string(), description: z.string(), colors: z.record(z.string(), z.string()), layout: z.record(z.string(), z.string()) })) }),
    handler: async () => ({ defaultKey: deps.themes.defaultKey, themes: deps.themes.themes.map(({ key, name, description, colors, layout }) => ({ key, name, description, colors, layout })) }),
  });

  api.route({
    method: 'get', path: '/cards/products', summary: 'products a card may feature: catalogue products with an approved product card', tag: TAG, auth: 'any',
    response: z.object({ items: z.array(z.object({ id: z.string(), name: z.string(), typeLabel: z.string(), riskLevel: z.string().nullable() })) }),
    handler: async () => {
      const ids = [...(await approved.ids())].sort();
      return { items: ids.flatMap((id) => { const p = productSummary(id); return p ? [{ id: p.id, name: p.name, typeLabel: p.typeLabel, riskLevel: p.riskLevel }] : []; }) };
    },
  });

  api.route({
    method: 'get', path: '/cards/me', summary: 'the caller\'s own card (404 without a WeCom account)', tag: TAG, auth: 'any', response: cardSchema,
    handler: async ({ actor }) => staffCard(deps, actor!.id),
  });

  api.route({
    method: 'put', path: '/cards/me', summary: 'change the caller\'s own card; customer-facing text passes the compliance gate (audited)', tag: TAG, auth: 'any',
    body: profileBody, response: z.object({ card: cardSchema, warnings: z.array(z.string()) }),
    handler: async (input) => updateCard(deps, approved, input.actor!.id, input.body, changedBy(input)),
  });

  api.route({
    method: 'post', path: '/cards/shares', tag: TAG, auth: 'any', status: 201,
    summary: 'a share link for a card (one\'s own by default); with `externalUserid` (a customer who follows the caller) that customer is the referrer of adds through it (audited)',
    body: z.strictObject({
      staffId: z.uuid().optional(),
      externalUserid: z.string().trim().min(1).max(64).optional(),
      channel: z.enum(['chat', 'moments', 'link']).default('link'),
    }),
    response: z.object({ token: z.string(), url: z.string(), channel: z.string(), recipient: z.object({ externalUserid: z.string(), name: z.string().nullable() }).nullable() }),
    handler: async ({ actor, body, ctx }) => memberShare(deps, actor!, { staffId: body.staffId ?? actor!.id, externalUserid: body.externalUserid, channel: body.channel }, { ip: ctx.ip, requestId: ctx.state.requestId }),
  });

  const counts = { views: z.number().int(), uniqueViews: z.number().int(), shares: z.number().int(), scans: z.number().int(), added: z.number().int(), productViews: z.number().int() };
  api.route({
    method: 'get', path: '/cards/stats', tag: TAG, auth: 'any',
    summary: 'views (and unique visitors), shares, scans, customers added and product views per day and per member, in Asia/Shanghai days (default the last 14); scoped: the bank, a branch manager\'s branch, an account manager\'s own card',
    query: statsQuery,
    response: z.object({
      from: z.string(), to: z.string(),
      totals: z.object(counts),
      days: z.array(z.object({ day: z.string(), ...counts })),
      members: z.array(z.object({ staffId: z.string(), name: z.string(), branchName: z.string().nullable(), ...counts })),
    }),
    handler: async ({ actor, query }) => {
      const q = rangeOf(query);
      return { from: q.from, to: q.to, ...(await cardStats(db, cardScope(actor!), q)) };
    },
  });

  api.route({
    method: 'get', path: '/cards/referrals', tag: TAG, auth: 'any',
    summary: 'customers who added a member through a card, newest first, with the share and the referrer (same scope as /cards/stats)',
    query: statsQuery.extend({ limit: z.coerce.number().int().min(1).max(500).default(50) }),
    response: z.object({
      items: z.array(z.object({
        at: z.iso.datetime(), staffId: z.string(), memberName: z.string(), corpId: z.string(), externalUserid: z.string(), contactName: z.string().nullable(), customerId: z.string().nullable(),
        shareToken: z.string().nullable(),
        referrer: z.union([
          z.object({ type: z.literal('customer'), externalUserid: z.string(), name: z.string().nullable(), customerId: z.string().nullable() }),
          z.object({ type: z.literal('member'), staffId: z.string(), name: z.string().nullable() }),
        ]).nullable(),
      })),
    }),
    handler: async ({ actor, query }) => ({ items: await listReferrals(db, cardScope(actor!), { ...rangeOf(query), limit: query.limit }) }),
  });

  // After the fixed paths (/cards/stats, /cards/referrals): :staffId would match them first.
  api.route({
    method: 'get', path: '/cards/:staffId', summary: 'a member\'s card (oneself, or operations staff)', tag: TAG, auth: 'any', params: staffParams, response: cardSchema,
    handler: async ({ actor, params }) => {
      mayEdit(actor!, params.staffId);
      return staffCard(deps, params.staffId);
    },
  });

  api.route({
    method: 'put', path: '/cards/:staffId', summary: 'change a member\'s card (oneself, or operations staff; audited)', tag: TAG, auth: 'any',
    params: staffParams, body: profileBody, response: z.object({ card: cardSchema, warnings: z.array(z.string()) }),
    handler: async (input) => {
      mayEdit(input.actor!, input.params.staffId);
      return updateCard(deps, approved, input.params.staffId, input.body, changedBy(input));
    },
  });
}
