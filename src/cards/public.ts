import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import { z } from 'zod';
import { AppError, rateLimited } from '../platform/errors.js';
import { SharedRateLimiter } from '../platform/rateLimit.js';
import type { Api } from '../platform/http/api.js';
import { ApprovedProducts, publicCard, publicProduct, visitorShare, type CardDeps } from './service.js';
import { SHARE_TOKEN } from './store.js';
import { QrImages } from './ways.js';

/**
 * The endpoints of the public pages (/card/:memberId and /p/:productId): no session, no customer
 * data in any answer, cheap, and limited per client address (CARDS_PUBLIC_PER_MINUTE, shared by every web
 * process through the database). A visitor is a random id in an httpOnly cookie (`scrm_vid`, a year), which is what
 * unique views count; it identifies a browser, not a person.
 */
export const VISITOR_COOKIE = 'scrm_vid';
const VISITOR = /^[A-Za-z0-9_-]{16,64}$/;
const SHARES_PER_VISITOR_PER_HOUR = 20;

export function visitorOf(ctx: Context, secure: boolean): string {
  const existing = ctx.cookies.get(VISITOR_COOKIE);
  if (existing && VISITOR.test(existing)) return existing;
  const id = randomBytes(16).toString('base64url');
  ctx.cookies.set(VISITOR_COOKIE, id, { httpOnly: true, sameSite: 'lax', secure, maxAge: 365 * 86_400_000, path: '/', overwrite: true });
  return id;
}

const TAG = 'cards (public)';
const staffParams = z.object({ memberId: z.uuid() });
const token = z.string().regex(SHARE_TOKEN, 'a share token (10 letters and digits)');

const themeSchema = z.object({
  key: z.string(), name: z.string(), description: z.string(),
  colors: z.record(z.string(), z.string()),
  layout: z.object({ header: z.string(), avatar: z.string(), products: z.string() }),
});
const productSummarySchema = z.object({ id: z.string(), name: z.string(), type: z.string(), typeLabel: z.string(), riskLevel: z.string().nullable(), riskLabel: z.string().nullable() });
export const publicCardSchema = z.object({
  member: z.object({ id: z.string(), name: z.string(), title: z.string().nullable(), branch: z.string().nullable(), photoUrl: z.string().nullable(), qualifications: z.array(z.string()), intro: z.string() }),
  theme: themeSchema,
  qr: z.object({ url: z.string(), state: z.string() }).nullable(),
  products: z.array(productSummarySchema.extend({ url: z.string() })),
  materials: z.array(z.object({
    id: z.string(), kind: z.string(), title: z.string(), text: z.string(), linkTitle: z.string().nullable(), linkDesc: z.string().nullable(), url: z.string().nullable(), disclosures: z.array(z.string()),
  })),
  disclosures: z.array(z.string()),
  share: z.object({ token: z.string() }).nullable(),
});

export function registerPublicCardRoutes(api: Api, deps: CardDeps & { approved: ApprovedProducts; perMinute: number; secureCookies: boolean }): void {
  // Shared by every web process through the database, so several processes do not multiply the limits.
  const perAddress = new SharedRateLimiter(deps.db, 'cards.public', deps.perMinute, 60_000);
  const sharesPerVisitor = new SharedRateLimiter(deps.db, 'cards.shares', SHARES_PER_VISITOR_PER_HOUR, 3600_000);
  const images = new QrImages(deps.db);
  const limit = async (ctx: Context) => {
    const wait = await perAddress.hit(ctx.ip);
    if (wait !== undefined) throw rateLimited(wait);
  };

  api.route({
    method: 'get', path: '/public/cards/:memberId', tag: TAG, auth: 'public',
    summary: 'a member\'s public card: profile, theme, QR code (the share\'s own when `s` names a share), featured approved products and materials; counts a view',
    params: staffParams, query: z.object({ s: token.optional() }), response: publicCardSchema,
    handler: async ({ params, query, ctx }) => {
      await limit(ctx);
      ctx.set('Cache-Control', 'no-store');
      return publicCard(deps, deps.approved, params.memberId, { token: query.s, visitorId: visitorOf(ctx, deps.secureCookies) });
    },
  });

  api.route({
    method: 'post', path: '/public/cards/:memberId/shares', tag: TAG, auth: 'public', status: 201,
    summary: 'a visitor shares the card on: a new link that keeps the referrer of the link it came from (`parent`)',
    params: staffParams,
    body: z.strictObject({ parent: token.optional(), channel: z.enum(['forward', 'moments', 'link']).default('forward') }),
    response: z.object({ token: z.string(), url: z.string() }),
    handler: async ({ params, body, ctx }) => {
      await limit(ctx);
      const visitorId = visitorOf(ctx, deps.secureCookies);
      const wait = await sharesPerVisitor.hit(visitorId);
      if (wait !== undefined) throw rateLimited(wait);
      return visitorShare(deps, params.memberId, { parentToken: body.parent, visitorId, channel: body.channel });
    },
  });

  api.route({
    method: 'get', path: '/public/products/:productId', tag: TAG, auth: 'public',
    summary: 'a catalogue product with its required disclosures, and the member who shared it (by `s` or `from`) with a link back to their card',
    params: z.object({ productId: z.string().regex(/^[a-z0-9-]{1,60}$/, 'a product id such as p-dep-lcd-3y') }),
    query: z.object({ from: z.uuid().optional(), s: token.optional() }),
    response: z.object({
      product: productSummarySchema.extend({
        term: z.string().nullable(), minAmount: z.string().nullable(), rate: z.string().nullable(), sellingPoints: z.array(z.string()), disclosures: z.array(z.string()), notices: z.array(z.string()),
      }),
      member: z.object({ id: z.string(), name: z.string(), title: z.string().nullable(), branch: z.string().nullable(), url: z.string() }).nullable(),
    }),
    handler: async ({ params, query, ctx }) => {
      await limit(ctx);
      ctx.set('Cache-Control', 'no-store');
      return publicProduct(deps, params.productId, { from: query.from, token: query.s, visitorId: visitorOf(ctx, deps.secureCookies) });
    },
  });

  api.route({
    method: 'get', path: '/public/card-qr/:wayId', tag: TAG, auth: 'public',
    summary: 'the image of a card\'s QR code, as WeCom serves it (cached)',
    params: z.object({ wayId: z.uuid() }),
    handler: async ({ params, ctx }) => {
      await limit(ctx);
      const image = await images.get(params.wayId);
      if (!image) throw new AppError('not_found', 'QR code not found');
      ctx.type = image.type;
      ctx.set('Cache-Control', 'public, max-age=3600');
      ctx.body = image.body;
      return undefined;
    },
  });
}
