import type { ComplianceGate } from '../compliance/index.js';
import type { Config } from '../platform/config.js';
import type { Db } from '../platform/db/database.js';
import type { EventBus } from '../platform/events.js';
import type { Api } from '../platform/http/api.js';
import type { JobRunner } from '../platform/jobs.js';
import type { Logger } from '../platform/logger.js';
import type { WeComGateway } from '../wecom/client/index.js';
import { subscribeCardAttribution } from './attribution.js';
import { defineCardJobs } from './jobs.js';
import { registerPublicCardRoutes } from './public.js';
import { registerCardRoutes } from './routes.js';
import { ApprovedProducts, type CardDeps } from './service.js';
import { loadThemes } from './themes.js';

/**
 * Digital business cards (一人一码): a public card page per member with their channel QR code,
 * product pages with their disclosures, share links that carry the referrer into WeCom's add
 * event, tracking into the timeline, statistics and live notes. See README.md.
 */
export { attributeAdd, subscribeCardAttribution, type Attribution } from './attribution.js';
export { CARD_JOBS, defineCardJobs, scheduleCardJobs, purgeCardEvents } from './jobs.js';
export { productPage, productSummary, PRODUCT_STATEMENTS, type ProductPage, type ProductSummary } from './products.js';
export { VISITOR_COOKIE, registerPublicCardRoutes } from './public.js';
export { registerCardRoutes } from './routes.js';
export { ApprovedProducts, memberShare, publicCard, publicProduct, staffCard, updateCard, visitorShare, type CardDeps } from './service.js';
export { cardScope, cardStats, listReferrals, type CardScope, type Referral } from './store.js';
export { loadThemes, parseTheme, type CardTheme, type ThemeLibrary } from './themes.js';
export { memberState, shareState, retireIdleShareWays } from './ways.js';

export interface CardSetup {
  deps: CardDeps;
  approved: ApprovedProducts;
  /** The API routes, staff and public (web roles). */
  registerApi(api: Api): void;
}

/**
 * Loads the themes (a bad theme file stops the start, naming file:line:column), subscribes to
 * add events for attribution and defines the retirement job. Every role does this; web roles
 * also register the routes.
 */
export async function setupCards(options: {
  config: Config;
  db: Db;
  gate: ComplianceGate;
  gateway: WeComGateway;
  events: EventBus;
  jobs: JobRunner;
  logger: Logger;
  notifyMember(staffId: string, event: string, data: unknown): void;
}): Promise<CardSetup> {
  const { config } = options;
  const deps: CardDeps = {
    db: options.db,
    gate: options.gate,
    gateway: options.gateway,
    events: options.events,
    logger: options.logger.child({ module: 'cards' }),
    themes: await loadThemes(config.CARDS_THEME_DIR),
    publicUrl: (config.PUBLIC_URL ?? `http://localhost:${config.PORT}`).replace(/\/+$/, ''),
    notifyMember: options.notifyMember,
    shareWaysMax: config.CARDS_SHARE_WAYS_MAX,
    shareWayIdleDays: config.CARDS_SHARE_WAY_IDLE_DAYS,
  };
  const approved = new ApprovedProducts(options.db);
  subscribeCardAttribution(options.events, deps);
  defineCardJobs(options.jobs, { db: deps.db, gateway: deps.gateway, logger: deps.logger, shareWaysMax: deps.shareWaysMax, idleDays: deps.shareWayIdleDays, eventRetentionDays: config.CARDS_EVENT_RETENTION_DAYS });
  return {
    deps,
    approved,
    registerApi(api) {
      registerCardRoutes(api, { ...deps, approved });
      registerPublicCardRoutes(api, { ...deps, approved, perMinute: config.CARDS_PUBLIC_PER_MINUTE, secureCookies: !config.sandbox });
    },
  };
}
