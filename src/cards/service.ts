import { recordAudit } from '../audit/index.js';
import type { ComplianceGate } from '../compliance/index.js';
import { addTimeline } from '../customers/index.js';
import { getMaterial, searchMaterials, type Material } from '../materials/index.js';
import type { Db } from '../platform/db/database.js';
import type { CardShareChannel } from '../platform/db/schema.js';
import { EVENTS, type EventBus } from '../platform/events.js';
import { AppError, invalid, type FieldIssue } from '../platform/errors.js';
import type { Actor } from '../platform/http/context.js';
import type { Logger } from '../platform/logger.js';
import type { WeComGateway } from '../wecom/client/index.js';
import { listDisclosures, productPage, productSummary, type ProductPage, type ProductSummary } from './products.js';
import {
  cardOwner, earlierViews, insertShare, loadProfile, recordCardEvent, shareByToken, writeProfile,
  type CardOwner, type CardProfile, type CardShare, type ProfileValues,
} from './store.js';
import type { CardTheme, ThemeLibrary } from './themes.js';
import { ensureMemberWay, ensureShareWay, type CardWay, type WayDeps } from './ways.js';

/**
 * What cards do: the member's card as staff edit it, share links, the public card and product
 * pages with their tracking, and the live notes to the member. Attribution of adds is in
 * attribution.ts; the tables in store.ts. README.md beside this file.
 */
export interface CardDeps {
  db: Db;
  gate: ComplianceGate;
  gateway: WeComGateway;
  events: EventBus;
  logger: Logger;
  themes: ThemeLibrary;
  /** The address customers open (PUBLIC_URL), without a trailing slash. */
  publicUrl: string;
  /** Live notes to a member (realtimeLog.toMember): card.viewed, card.shared, card.customer_added. */
  notifyMember(staffId: string, event: string, data: unknown): void;
  shareWaysMax: number;
  shareWayIdleDays: number;
}

/** A second view by the same visitor within this many minutes is counted but not announced again. */
export const QUIET_MINUTES = 30;
export const FEATURED_MAX = 6;

const wayDeps = (deps: CardDeps): WayDeps => ({ db: deps.db, gateway: deps.gateway, logger: deps.logger, shareWaysMax: deps.shareWaysMax });
export const cardUrl = (deps: Pick<CardDeps, 'publicUrl'>, staffId: string, token?: string) => `${deps.publicUrl}/card/${staffId}${token ? `?s=${token}` : ''}`;
export const qrUrl = (way: CardWay) => `/api/v1/public/card-qr/${way.id}`;
const causeOf = (actor: Actor) => ({ type: 'member' as const, id: actor.wecomUserid ?? actor.username });
/** A contact's name as another customer's timeline shows it: the surname and a mask. */
const maskName = (name: string | null | undefined) => (name ? `${[...name][0]}${'*'.repeat(Math.max(1, [...name].length - 1))}` : '新客户');

export async function requireOwner(db: Db, staffId: string): Promise<CardOwner> {
  const owner = await cardOwner(db, staffId);
  if (!owner) throw new AppError('not_found', '名片不存在：该员工未开通企业微信或已停用', { code: 'card_not_found' });
  return owner;
}

// ---- approved products and materials -------------------------------------------------------

/** Catalogue products that have an approved product card in the material library, cached for 30 s. */
export class ApprovedProducts {
  private cached?: { at: number; ids: Promise<Set<string>> };
  constructor(private readonly db: Db, private readonly ttlMs = 30_000) {}

  ids(): Promise<Set<string>> {
    if (!this.cached || Date.now() - this.cached.at > this.ttlMs) {
      const ids = searchMaterials(this.db, { kind: 'product', status: 'approved', limit: 200 }).then((ms) => new Set(ms.flatMap((m) => m.productIds)));
      this.cached = { at: Date.now(), ids };
      ids.catch(() => (this.cached = undefined));
    }
    return this.cached.ids;
  }

  invalidate(): void {
    this.cached = undefined;
  }
}

async function approvedMaterials(db: Db, ids: readonly string[]): Promise<Material[]> {
  const out: Material[] = [];
  for (const id of ids) {
    try {
      const m = await getMaterial(db, id);
      if (m.status === 'approved') out.push(m);
    } catch (error) {
      if (!(error instanceof AppError && error.kind === 'not_found')) throw error;
    }
  }
  return out;
}

// ---- the card as staff see and edit it ------------------------------------------------------

export interface StaffCard {
  staffId: string;
  name: string;
  branchName: string | null;
  staffTitle: string | null;
  profile: CardProfile & { theme: string };
  url: string;
}

export function effectiveTheme(deps: Pick<CardDeps, 'themes'>, key: string | null): CardTheme {
  return (key && deps.themes.get(key)) || deps.themes.get(deps.themes.defaultKey)!;
}

export async function staffCard(deps: CardDeps, staffId: string): Promise<StaffCard> {
  const owner = await requireOwner(deps.db, staffId);
  const profile = await loadProfile(deps.db, staffId);
  return {
    staffId,
    name: owner.name,
    branchName: owner.branchName,
    staffTitle: owner.staffTitle,
    profile: { ...profile, theme: effectiveTheme(deps, profile.theme).key },
    url: cardUrl(deps, staffId),
  };
}

export type ProfileInput = Partial<ProfileValues>;

export interface ChangedBy {
  actor: Actor;
  ip: string;
  requestId: string;
}

/**
 * Changes a card. The text a customer reads (title, qualifications, introduction) passes the
 * compliance gate and is recorded as its decision; a blocked phrase is a 400 naming the field.
 * Featured products must have an approved product card; featured materials must be approved.
 */
export async function updateCard(deps: CardDeps, approved: ApprovedProducts, staffId: string, input: ProfileInput, by: ChangedBy): Promise<{ card: StaffCard; warnings: string[] }> {
  await requireOwner(deps.db, staffId);
  const before = await loadProfile(deps.db, staffId);
  const values: ProfileValues = {
    photoUrl: input.photoUrl !== undefined ? input.photoUrl : before.photoUrl,
    title: input.title !== undefined ? input.title : before.title,
    qualifications: input.qualifications ?? before.qualifications,
    intro: input.intro ?? before.intro,
    theme: input.theme ?? effectiveTheme(deps, before.theme).key,
    featuredProductIds: input.featuredProductIds ?? before.featuredProductIds,
    featuredMaterialIds: input.featuredMaterialIds ?? before.featuredMaterialIds,
  };
  const issues: FieldIssue[] = [];
  if (!deps.themes.get(values.theme)) issues.push({ path: 'body.theme', message: `unknown theme; one of ${deps.themes.themes.map((t) => t.key).join(', ')}` });
  if (input.featuredProductIds) {
    const ok = await approved.ids();
    input.featuredProductIds.forEach((id, i) => {
      if (!ok.has(id)) issues.push({ path: `body.featuredProductIds.${i}`, message: `product ${id} has no approved product card in the material library` });
    });
  }
  if (input.featuredMaterialIds) {
    const ok = new Set((await approvedMaterials(deps.db, input.featuredMaterialIds)).map((m) => m.id));
    input.featuredMaterialIds.forEach((id, i) => {
      if (!ok.has(id)) issues.push({ path: `body.featuredMaterialIds.${i}`, message: `material ${id} is not an approved material` });
    });
  }
  if (issues.length) throw invalid('名片内容有误', issues);

  // The gate judges each piece a customer reads, so a finding names its field.
  const warnings: string[] = [];
  const texts: { path: string; text: string }[] = [
    ...(input.title ? [{ path: 'body.title', text: input.title }] : []),
    ...(input.qualifications ?? []).map((q, i) => ({ path: `body.qualifications.${i}`, text: q })),
    ...(input.intro ? [{ path: 'body.intro', text: input.intro }] : []),
  ];
  for (const { path, text } of texts) {
    const decision = await deps.gate.checkAndRecord(
      { text, purpose: 'marketing' },
      { actorType: 'staff', actorId: by.actor.id, ip: by.ip, requestId: by.requestId, source: 'card', target: { type: 'card', id: staffId } },
    );
    for (const f of decision.findings) {
      if (f.kind === 'block') issues.push({ path, message: f.message });
      else warnings.push(f.message);
    }
  }
  if (issues.length) {
    await recordAudit(deps.db, { actorType: 'staff', actorId: by.actor.id, action: 'card.update', targetType: 'card', targetId: staffId, ip: by.ip, requestId: by.requestId, outcome: 'denied', detail: { reason: 'compliance', fields: issues.map((i) => i.path) } });
    throw invalid('名片内容未通过合规检查', issues);
  }

  const changed = (Object.keys(values) as (keyof ProfileValues)[]).filter((k) => JSON.stringify(values[k]) !== JSON.stringify(k === 'theme' ? (before.theme ?? null) : before[k]));
  const version = await deps.db.transaction().execute(async (trx) => {
    const v = await writeProfile(trx, staffId, values, by.actor.id);
    await recordAudit(trx, {
      actorType: 'staff', actorId: by.actor.id, action: 'card.update', targetType: 'card', targetId: staffId, ip: by.ip, requestId: by.requestId, outcome: 'success',
      detail: { version: v, changed, ...(by.actor.id !== staffId ? { onBehalfOf: staffId } : {}) },
    });
    return v;
  });
  deps.logger.info({ staffId, version, changed }, 'card updated');
  return { card: await staffCard(deps, staffId), warnings };
}

// ---- shares -------------------------------------------------------------------------------

export interface ShareResult {
  token: string;
  url: string;
  channel: CardShareChannel;
  recipient: { externalUserid: string; name: string | null } | null;
}

/**
 * A member shares a card: their own, or a colleague's (then the colleague is credited as the
 * referrer). With a recipient (the customer in the chat, who must follow the sharer), that
 * customer is the referrer of anyone who adds the member through the link they were given.
 */
export async function memberShare(deps: CardDeps, actor: Actor, input: { staffId: string; externalUserid?: string; channel: CardShareChannel }, request: { ip: string; requestId: string }): Promise<ShareResult> {
  const owner = await requireOwner(deps.db, input.staffId);
  let recipient: ShareResult['recipient'] = null;
  if (input.externalUserid) {
    const follows = actor.wecomUserid
      ? await deps.db
          .selectFrom('follow_relations as fr')
          .innerJoin('external_contacts as ec', (j) => j.onRef('ec.corp_id', '=', 'fr.corp_id').onRef('ec.external_userid', '=', 'fr.external_userid'))
          .select('ec.name')
          .where('fr.corp_id', '=', owner.corpId)
          .where('fr.userid', '=', actor.wecomUserid)
          .where('fr.external_userid', '=', input.externalUserid)
          .where('fr.deleted_at', 'is', null)
          .executeTakeFirst()
      : undefined;
    if (!follows) throw invalid('分享对象有误', [{ path: 'body.externalUserid', message: 'not a customer who follows you in WeCom' }]);
    recipient = { externalUserid: input.externalUserid, name: follows.name };
  }
  const own = actor.id === owner.id;
  const share = await insertShare(deps.db, {
    staffId: owner.id,
    corpId: owner.corpId,
    parentId: null,
    sharerType: 'member',
    sharerStaffId: actor.id,
    sharerVisitorId: null,
    channel: input.channel,
    recipientExternalUserid: recipient?.externalUserid ?? null,
    referrerExternalUserid: own ? (recipient?.externalUserid ?? null) : null,
    referrerStaffId: own ? null : actor.id,
  });
  await recordCardEvent(deps.db, {
    staffId: owner.id, kind: 'share', shareId: share.id, corpId: owner.corpId, externalUserid: recipient?.externalUserid ?? null,
    referrerExternalUserid: share.referrer_external_userid, referrerStaffId: share.referrer_staff_id,
  });
  await recordAudit(deps.db, {
    actorType: 'staff', actorId: actor.id, action: 'card.share', targetType: 'card', targetId: owner.id, ip: request.ip, requestId: request.requestId, outcome: 'success',
    detail: { token: share.token, channel: input.channel, recipient: recipient?.externalUserid ?? null },
  });
  if (recipient) {
    await addTimeline(deps.db, {
      corpId: owner.corpId, externalUserid: recipient.externalUserid, kind: 'card_shared',
      summary: own ? `客户经理${owner.name}向客户分享了名片` : `${actor.displayName}向客户分享了客户经理${owner.name}的名片`,
      detail: { staffId: owner.id, token: share.token, channel: input.channel, sharerStaffId: actor.id }, cause: causeOf(actor),
    });
  }
  const text = own ? `您生成了名片分享链接${recipient ? `（分享给${recipient.name ?? '客户'}）` : ''}` : `${actor.displayName}分享了您的名片`;
  deps.notifyMember(owner.id, 'card.shared', { staffId: owner.id, token: share.token, channel: input.channel, by: own ? 'self' : 'member', sharerName: actor.displayName, recipientName: recipient?.name ?? null, text, at: new Date().toISOString() });
  return { token: share.token, url: cardUrl(deps, owner.id, share.token), channel: input.channel, recipient };
}

/**
 * A visitor shares the card on from the page. The new link keeps the referrer of the link it came
 * from, so a friend of a friend is still credited to the customer the member first shared with.
 */
export async function visitorShare(deps: CardDeps, staffId: string, input: { parentToken?: string; visitorId: string; channel: CardShareChannel }): Promise<{ token: string; url: string }> {
  const owner = await requireOwner(deps.db, staffId);
  const parent = input.parentToken ? await shareByToken(deps.db, input.parentToken) : undefined;
  const from = parent && parent.staff_id === owner.id ? parent : undefined;
  const share = await insertShare(deps.db, {
    staffId: owner.id,
    corpId: owner.corpId,
    parentId: from?.id ?? null,
    sharerType: 'visitor',
    sharerStaffId: null,
    sharerVisitorId: input.visitorId,
    channel: input.channel,
    recipientExternalUserid: null,
    referrerExternalUserid: from?.referrer_external_userid ?? null,
    referrerStaffId: from?.referrer_staff_id ?? null,
  });
  await recordCardEvent(deps.db, {
    staffId: owner.id, kind: 'share', shareId: share.id, visitorId: input.visitorId, corpId: owner.corpId,
    referrerExternalUserid: share.referrer_external_userid, referrerStaffId: share.referrer_staff_id,
  });
  let via: string | null = null;
  if (share.referrer_external_userid) {
    via = (await deps.db.selectFrom('external_contacts').select('name').where('corp_id', '=', owner.corpId).where('external_userid', '=', share.referrer_external_userid).executeTakeFirst())?.name ?? null;
    await addTimeline(deps.db, {
      corpId: owner.corpId, externalUserid: share.referrer_external_userid, kind: 'card_shared',
      summary: `经该客户的分享链接，客户经理${owner.name}的名片被再次转发`,
      detail: { staffId: owner.id, token: share.token, parent: from?.token ?? null, channel: input.channel }, cause: { type: 'system', id: `card-share:${share.token}` },
    });
  }
  const text = `您的名片被访客转发了${via ? `（经${via}的分享链接）` : ''}`;
  deps.notifyMember(owner.id, 'card.shared', { staffId: owner.id, token: share.token, channel: input.channel, by: 'visitor', parentToken: from?.token ?? null, via, text, at: new Date().toISOString() });
  return { token: share.token, url: cardUrl(deps, owner.id, share.token) };
}

// ---- the public pages ---------------------------------------------------------------------

export interface PublicMaterial {
  id: string;
  kind: string;
  title: string;
  text: string;
  linkTitle: string | null;
  linkDesc: string | null;
  /** Where the material leads: the product page (same origin), the link, or nothing. */
  url: string | null;
  disclosures: string[];
}

export interface PublicCard {
  member: { id: string; name: string; title: string | null; branch: string | null; photoUrl: string | null; qualifications: string[]; intro: string };
  theme: CardTheme;
  qr: { url: string; state: string } | null;
  products: (ProductSummary & { url: string })[];
  materials: PublicMaterial[];
  /** Required by what the card shows (intro and featured products), under the active rules. */
  disclosures: string[];
  share: { token: string } | null;
}

function publicMaterial(m: Material, staffId: string): PublicMaterial {
  const a = m.attachment;
  let url: string | null = null;
  let linkTitle: string | null = null;
  let linkDesc: string | null = null;
  if (m.kind === 'product' && m.productIds[0]) url = `/p/${encodeURIComponent(m.productIds[0])}?from=${staffId}`;
  if (a?.msgtype === 'link') {
    linkTitle = a.link.title;
    linkDesc = a.link.desc ?? null;
    url ??= a.link.url;
  } else if (a?.msgtype === 'image' && 'pic_url' in a.image) url = a.image.pic_url;
  return { id: m.id, kind: m.kind, title: m.title, text: m.text, linkTitle, linkDesc, url, disclosures: m.disclosures };
}

export interface ViewInput {
  token?: string;
  visitorId: string;
}

/**
 * The public card, and the view it counts. The QR code is the share's own (attribution to the
 * referrer) or the member's. A view through a share with a recipient goes into that customer's
 * timeline and raises card.visited (SOP triggers), at most once per visitor per QUIET_MINUTES.
 */
export async function publicCard(deps: CardDeps, approved: ApprovedProducts, staffId: string, input: ViewInput): Promise<PublicCard> {
  const owner = await requireOwner(deps.db, staffId);
  const profile = await loadProfile(deps.db, staffId);
  const share = input.token ? await shareByToken(deps.db, input.token) : undefined;
  const ownShare = share && share.staff_id === owner.id ? share : undefined;

  let way: CardWay | null = null;
  try {
    way = ownShare ? await ensureShareWay(wayDeps(deps), owner, ownShare) : null;
    way ??= await ensureMemberWay(wayDeps(deps), owner);
  } catch (error) {
    // The page still shows; the member's code comes back when WeCom answers again.
    deps.logger.warn({ err: error, staffId }, 'cards: no QR code for the card page');
  }

  const ok = await approved.ids();
  const productIds = profile.featuredProductIds.filter((id) => ok.has(id) && productSummary(id));
  const products = productIds.map((id) => ({ ...productSummary(id)!, url: `/p/${encodeURIComponent(id)}?from=${staffId}${ownShare ? `&s=${ownShare.token}` : ''}` }));
  const materials = (await approvedMaterials(deps.db, profile.featuredMaterialIds)).map((m) => publicMaterial(m, staffId));
  const shown = [profile.title ?? '', ...profile.qualifications, profile.intro].filter(Boolean).join('\n');
  const disclosures = [...new Set([
    ...(shown ? (await deps.gate.checkMessage({ text: shown, purpose: 'marketing' })).disclosures : []),
    ...(await listDisclosures(deps.gate, productIds)),
  ])];

  await countView(deps, owner, ownShare, input.visitorId);
  return {
    member: {
      id: owner.id, name: owner.name, title: profile.title ?? owner.staffTitle, branch: owner.branchName, photoUrl: profile.photoUrl,
      qualifications: profile.qualifications, intro: profile.intro,
    },
    theme: effectiveTheme(deps, profile.theme),
    qr: way ? { url: qrUrl(way), state: way.state } : null,
    products,
    materials,
    disclosures,
    share: ownShare ? { token: ownShare.token } : null,
  };
}

async function countView(deps: CardDeps, owner: CardOwner, share: CardShare | undefined, visitorId: string): Promise<void> {
  const before = await earlierViews(deps.db, owner.id, visitorId, QUIET_MINUTES);
  await recordCardEvent(deps.db, {
    staffId: owner.id, kind: 'view', shareId: share?.id ?? null, visitorId, corpId: owner.corpId,
    externalUserid: share?.recipient_external_userid ?? null,
    referrerExternalUserid: share?.referrer_external_userid ?? null, referrerStaffId: share?.referrer_staff_id ?? null,
  });
  if (share) await deps.db.updateTable('card_shares').set({ last_viewed_at: new Date() }).where('id', '=', share.id).execute();
  if (before.recent) return;
  let via: string | null = null;
  if (share?.recipient_external_userid) {
    const recipient = share.recipient_external_userid;
    via = (await deps.db.selectFrom('external_contacts').select('name').where('corp_id', '=', owner.corpId).where('external_userid', '=', recipient).executeTakeFirst())?.name ?? null;
    await addTimeline(deps.db, {
      corpId: owner.corpId, externalUserid: recipient, kind: 'card_viewed',
      summary: `客户经理${owner.name}分享给该客户的名片被打开`,
      detail: { staffId: owner.id, token: share.token, firstView: !before.ever }, cause: { type: 'system', id: `card-share:${share.token}` },
    });
    deps.events.publish(EVENTS.cardVisited, { corpId: owner.corpId, memberUserid: owner.userid, externalUserid: recipient, visitorId }, { type: 'customer', id: recipient });
  }
  const text = via ? `您分享给${via}的名片被打开了` : `${before.ever ? '访客' : '新访客'}查看了您的名片`;
  deps.notifyMember(owner.id, 'card.viewed', { staffId: owner.id, token: share?.token ?? null, channel: share?.channel ?? null, unique: !before.ever, via, text, at: new Date().toISOString() });
}

export interface PublicProduct {
  product: ProductPage;
  member: { id: string; name: string; title: string | null; branch: string | null; url: string } | null;
}

/** The product page; with the member who shared it (by share token or `from`), a link back and a counted view. */
export async function publicProduct(deps: CardDeps, productId: string, input: { from?: string; token?: string; visitorId: string }): Promise<PublicProduct> {
  const product = await productPage(deps.gate, productId);
  if (!product) throw new AppError('not_found', `产品不存在（${productId}）`, { code: 'product_not_found' });
  const share = input.token ? await shareByToken(deps.db, input.token) : undefined;
  const staffId = share?.staff_id ?? input.from;
  const owner = staffId ? await cardOwner(deps.db, staffId) : undefined;
  if (!owner) return { product, member: null };
  const profile = await loadProfile(deps.db, owner.id);
  await recordCardEvent(deps.db, { staffId: owner.id, kind: 'product_view', productId, shareId: share?.staff_id === owner.id ? share.id : null, visitorId: input.visitorId, corpId: owner.corpId });
  const token = share?.staff_id === owner.id ? share.token : undefined;
  return {
    product,
    member: { id: owner.id, name: owner.name, title: profile.title ?? owner.staffTitle, branch: owner.branchName, url: `/card/${owner.id}${token ? `?s=${token}` : ''}` },
  };
}

export { maskName };
