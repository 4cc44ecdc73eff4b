import { sql } from 'kysely';
import type { Db } from '../platform/db/database.js';
import { AppError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { createContactWay, deleteContactWay } from '../wecom/contactWays.js';
import type { WeComGateway } from '../wecom/client/index.js';
import type { CardOwner, CardShare } from './store.js';

/**
 * The channel QR codes behind cards (联系我, REFERENCE §4). Every card has its member's own code,
 * state `card-<userid>`; a share link gets a code of its own, state `cs-<token>` (13 characters,
 * within WeCom's 30), so that the add event's State names the share and, through it, the referrer.
 * Both are made lazily, the first time a page needs them. Share codes are bounded: at most
 * `shareWaysMax` live per corp (an advisory lock makes count-and-create one step), and a code not
 * viewed for `idleDays` is deleted in WeCom by a daily job; a later view makes a new one. Past the
 * bound, or when WeCom refuses (41045, the corp's limit), the page shows the member's own code: the
 * add is still attributed to the card, but not to the referrer. README.md, "Attribution".
 */
export const memberState = (userid: string) => `card-${userid}`;
export const shareState = (token: string) => `cs-${token}`;
export const STATE_PATTERN = /^(?:card-(.+)|cs-([A-Za-z0-9]{10}))$/;

export interface WayDeps {
  db: Db;
  gateway: WeComGateway;
  logger: Logger;
  shareWaysMax: number;
}

export interface CardWay {
  id: string;
  state: string;
}

async function liveWay(db: Db, corpId: string, state: string) {
  return db
    .selectFrom('wecom_contact_ways')
    .select(['id', 'config_id', 'qr_code', 'state'])
    .where('corp_id', '=', corpId)
    .where('state', '=', state)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The live code for a state, made in WeCom if there is none. Two first views at once: one makes
 * it, the other finds the reserved row and waits briefly for WeCom's answer.
 */
async function ensureWay(deps: WayDeps, owner: CardOwner, state: string, name: string): Promise<CardWay | null> {
  const found = await liveWay(deps.db, owner.corpId, state);
  if (found?.config_id) return { id: found.id, state };
  if (!found) {
    try {
      const made = await createContactWay({ db: deps.db, gateway: deps.gateway }, { corpId: owner.corpId, name, members: [owner.userid], state, skipVerify: true }, null);
      return { id: made.id, state };
    } catch (error) {
      if (!(error instanceof AppError && error.kind === 'conflict')) throw error;
    }
  }
  for (let i = 0; i < 30; i++) {
    const row = await liveWay(deps.db, owner.corpId, state);
    if (row?.config_id) return { id: row.id, state };
    if (!row) return null;
    await sleep(100);
  }
  return null;
}

export function ensureMemberWay(deps: WayDeps, owner: CardOwner): Promise<CardWay | null> {
  return ensureWay(deps, owner, memberState(owner.userid), `${owner.name}的名片`);
}

/**
 * The share's own code, or null when the bound is reached or WeCom refuses; the caller then shows
 * the member's code. Counting and creating happen under a per-corp lock.
 */
export async function ensureShareWay(deps: WayDeps, owner: CardOwner, share: CardShare): Promise<CardWay | null> {
  const state = shareState(share.token);
  if (share.contact_way_id) {
    const way = await liveWay(deps.db, owner.corpId, state);
    if (way?.config_id && way.id === share.contact_way_id) return { id: way.id, state };
  }
  if (deps.shareWaysMax === 0) return null;
  return deps.db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext(${`card-share-ways:${owner.corpId}`}))`.execute(trx);
    const again = await trx.selectFrom('card_shares').select('contact_way_id').where('id', '=', share.id).executeTakeFirstOrThrow();
    if (again.contact_way_id) {
      const way = await liveWay(deps.db, owner.corpId, state);
      if (way?.config_id && way.id === again.contact_way_id) return { id: way.id, state };
    }
    const { live } = await trx
      .selectFrom('card_shares')
      .select(sql<number>`count(*)::int`.as('live'))
      .where('corp_id', '=', owner.corpId)
      .where('contact_way_id', 'is not', null)
      .executeTakeFirstOrThrow();
    if (live >= deps.shareWaysMax) {
      deps.logger.warn({ corpId: owner.corpId, live, max: deps.shareWaysMax, share: share.token }, 'cards: share QR codes at their bound; the member code is shown');
      await trx.updateTable('card_shares').set({ way_refused_at: new Date() }).where('id', '=', share.id).execute();
      return null;
    }
    let way: CardWay | null;
    try {
      way = await ensureWay(deps, owner, state, `${owner.name}的名片（分享${share.token}）`);
    } catch (error) {
      deps.logger.warn({ err: error, corpId: owner.corpId, share: share.token }, 'cards: WeCom refused a share QR code; the member code is shown');
      await trx.updateTable('card_shares').set({ way_refused_at: new Date() }).where('id', '=', share.id).execute();
      return null;
    }
    if (way) await trx.updateTable('card_shares').set({ contact_way_id: way.id, way_refused_at: null }).where('id', '=', share.id).execute();
    return way;
  });
}

/** Deletes (in WeCom) share codes not viewed for `idleDays`; returns how many. */
export async function retireIdleShareWays(deps: WayDeps, idleDays: number, batch = 100): Promise<number> {
  let retired = 0;
  for (;;) {
    const idle = await deps.db
      .selectFrom('card_shares')
      .select(['id', 'token', 'contact_way_id'])
      .where('contact_way_id', 'is not', null)
      .where(sql<boolean>`coalesce(last_viewed_at, created_at) < now() - make_interval(days => ${idleDays})`)
      .orderBy('id')
      .limit(batch)
      .execute();
    if (!idle.length) return retired;
    for (const share of idle) {
      try {
        await deleteContactWay({ db: deps.db, gateway: deps.gateway }, share.contact_way_id!);
      } catch (error) {
        if (!(error instanceof AppError && error.kind === 'not_found')) throw error;
      }
      await deps.db.updateTable('card_shares').set({ contact_way_id: null }).where('id', '=', share.id).execute();
      retired++;
    }
    if (idle.length < batch) return retired;
  }
}

// ---- the QR image -------------------------------------------------------------------------

const IMAGE_MAX_BYTES = 512 * 1024;
const IMAGE_TTL_MS = 3600_000;
const IMAGE_CACHE_MAX = 500;

export interface QrImage {
  type: string;
  body: Buffer;
}

/**
 * Serves a card code's image from WeCom (its `qr_code` URL) through the product, so the public page
 * needs nothing from another origin. Cached in memory for an hour (500 images at most). For the
 * sandbox corp the image comes from the sandbox, which plays WeCom's image host (`/wwpic/...`).
 */
export class QrImages {
  private readonly cache = new Map<string, { image: QrImage; at: number }>();

  constructor(private readonly db: Db) {}

  async get(wayId: string): Promise<QrImage | undefined> {
    const hit = this.cache.get(wayId);
    if (hit && Date.now() - hit.at < IMAGE_TTL_MS) return hit.image;
    const row = await this.db
      .selectFrom('wecom_contact_ways as w')
      .innerJoin('corps as c', 'c.corp_id', 'w.corp_id')
      .select(['w.qr_code', 'w.state', 'c.source', 'c.api_base'])
      .where('w.id', '=', wayId)
      .where('w.deleted_at', 'is', null)
      .executeTakeFirst();
    // Only card codes are served here: other channel codes are not the public page's business.
    if (!row?.qr_code || !STATE_PATTERN.test(row.state)) return undefined;
    let url = new URL(row.qr_code);
    if (row.source === 'sandbox') url = new URL(`${url.pathname}${url.search}`, new URL(row.api_base).origin);
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    const type = response.headers.get('content-type') ?? '';
    if (!response.ok || !type.startsWith('image/')) throw new AppError('unavailable', `QR image answered ${response.status} ${type}`);
    const body = Buffer.from(await response.arrayBuffer());
    if (body.length > IMAGE_MAX_BYTES) throw new AppError('unavailable', 'QR image too large');
    const image = { type, body };
    if (this.cache.size >= IMAGE_CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(wayId, { image, at: Date.now() });
    return image;
  }
}
