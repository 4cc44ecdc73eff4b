import http from 'node:http';
import type { Kysely } from 'kysely';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Config } from './platform/config.js';
import type { Logger } from './platform/logger.js';
import { createMetrics } from './platform/metrics.js';
import { openDatabase, migrateToLatest, type DatabaseHandle } from './platform/db/database.js';
import { createJobRunner, type JobRunner } from './platform/jobs.js';
import { EventBus } from './platform/events.js';
import type { FieldCipher } from './platform/crypto.js';
import { AppError } from './platform/errors.js';
import { Api } from './platform/http/api.js';
import type { AppState } from './platform/http/context.js';
import { errorHandler, requestContext } from './platform/http/middleware.js';
import { registerAuthRoutes, sessionMiddleware } from './auth/index.js';
import { registerAuditRoutes } from './audit/routes.js';
import { registerSettingsRoutes } from './settings/routes.js';
import { registerCustomerRoutes, subscribeLinking, subscribeTimeline } from './customers/index.js';
import { registerFilterRoutes } from './filters/routes.js';
import { registerProductRoutes } from './products/routes.js';
import { registerDashboardRoutes } from './dashboard/index.js';
import { defineScoringJobs, registerScoringRoutes, scheduleScoringJobs, SCORING_JOB } from './scoring/index.js';
import { attachRealtime, defineRealtimeJobs, RealtimeLog, scheduleRealtimeJobs, type Realtime } from './realtime/index.js';
import { defineSystemJobs, scheduleSystemJobs } from './system/jobs.js';
import { registerSystemRoutes } from './system/routes.js';
import { seedDemoBank } from './demo/seed.js';
import { setupWecom, type WecomLink } from './wecom/setup.js';
import { registerSidebarRoutes } from './wecom/sidebar.js';
import { defineTagJobs, registerTagRoutes, scheduleTagJobs, subscribeTagEvents, TAG_JOBS, type TagDeps } from './tags/index.js';
import { defineSegmentJobs, registerSegmentRoutes, scheduleSegmentJobs } from './segments/index.js';
import { registerImportRoutes, type ImportRunner } from './customers/import/routes.js';
import { defineImportJobs, scheduleImportJobs } from './customers/import/followup.js';
import { registerComplianceRoutes, type ComplianceGate } from './compliance/index.js';
import { defineMassSendJobs, registerMassSendRoutes, scheduleMassSendJobs, type MassSendDeps } from './masssend/index.js';
import { defaultSenders, defineOutboxJobs, OutboxDispatcher, scheduleOutboxJobs } from './outbox/index.js';
import { serveWeb } from './web/static.js';
import { registerMaterialRoutes, seedDemoMaterials } from './materials/index.js';
import {
  defineAssistantJobs, registerAssistantRoutes, scheduleAssistantJobs, type AssistantDeps,
} from './assistant/index.js';
import { registerKbRoutes, seedKnowledgeBase, type KnowledgeBase } from './kb/index.js';
import { buildReplyEngine, defineReplyJobs, kfSender, registerReplyRoutes } from './replies/index.js';
import { defineSopJobs, importTemplates, loadTemplateDir, registerSopRoutes, scheduleSopJobs, SopProgress } from './sop/index.js';
import { scheduleCardJobs, setupCards } from './cards/index.js';

export interface StartOptions {
  config: Config;
  logger: Logger;
  /** The application database (already created; migrations are applied here). */
  databaseUrl: string;
  cipher: FieldCipher;
}

export interface RunningApp {
  url: string;
  port: number;
  server: http.Server;
  database: DatabaseHandle;
  jobs: JobRunner;
  events: EventBus;
  api: Api;
  realtime?: Realtime;
  wecom: WecomLink;
  gate: ComplianceGate;
  /** The AI assistant: the reply engine answers customers with answerCustomer(assistant, …). */
  assistant: AssistantDeps;
  kb: KnowledgeBase;
  imports?: ImportRunner;
  /** Drains the outbox to WeCom (worker roles). */
  outbox?: OutboxDispatcher;
  /** The admin password when this start seeded or reset it (sandbox only). */
  demoAdminPassword?: string;
  close(): Promise<void>;
}

const VERSION = '0.1.0';

export async function startApp(options: StartOptions): Promise<RunningApp> {
  const { config, logger, cipher } = options;
  const database = openDatabase({ url: options.databaseUrl, poolMax: config.DATABASE_POOL_MAX, logger });
  const { db } = database;
  await migrateToLatest(database.db as unknown as Kysely<unknown>, logger);
  // The bank's FAQ is content, not demo data: seeded in every mode when the knowledge base is empty.
  await seedKnowledgeBase(db);

  let demoAdminPassword: string | undefined;
  let demoSeeded = false;
  if (config.sandbox) {
    const seed = await seedDemoBank({ db, cipher, logger, config });
    await seedDemoMaterials(db, undefined, { publicUrl: config.PUBLIC_URL ?? `http://localhost:${config.PORT}` });
    demoAdminPassword = seed.adminPassword;
    demoSeeded = seed.seeded;
  }

  const metrics = createMetrics();
  const events = new EventBus(logger);
  const jobs = createJobRunner({ pool: database.pool, logger, processEveryMs: config.JOBS_PROCESS_EVERY_MS });
  defineSystemJobs(jobs, db);
  // Live updates are written by every role and delivered by web processes (src/realtime/README.md).
  const realtimeLog = new RealtimeLog({ db, logger });
  defineRealtimeJobs(jobs, { db, retentionHours: config.REALTIME_RETENTION_HOURS });
  const wecom = await setupWecom({
    config, db, cipher, jobs, events, logger, metrics,
    live: { toMember: (staffId, event, data) => realtimeLog.toMember(staffId, event, data), toConsole: (event, data) => realtimeLog.toConsole(event, data) },
  });
  defineScoringJobs(jobs, { db, logger });
  subscribeTimeline(events, { db, logger });
  subscribeLinking(events, { db, cipher, logger });
  const tagDeps: TagDeps = { db, gateway: wecom.gateway, events, jobs, logger };
  defineTagJobs(jobs, tagDeps);
  subscribeTagEvents(events, tagDeps);
  defineSegmentJobs(jobs, { db });
  defineImportJobs(jobs, { db, events });
  // The same construction serves the bots (bots/main.ts).
  const { gate, kb, assistant, assistantSettings: assistantConfig, deps: replyDeps } = buildReplyEngine({
    config, db, logger, events, gateway: wecom.gateway,
    alertMember: (staffId, event, data) => realtimeLog.toMember(staffId, event, data),
  });
  defineReplyJobs(jobs, events, replyDeps);
  defineAssistantJobs(jobs, { db, retentionDays: assistantConfig.retentionDays });
  defineOutboxJobs(jobs, { db, gateway: wecom.gateway, logger, intervalMs: config.OUTBOX_RESULT_SYNC_MS, freshMs: config.OUTBOX_RESULT_FRESH_MS });
  const consoleFeed = { toConsole: (event: string, data: unknown) => realtimeLog.toConsole(event, data) };
  const massSends: MassSendDeps = { db, gate, gateway: wecom.gateway, jobs, realtime: consoleFeed, logger };
  defineMassSendJobs(jobs, massSends);
  let imports: ImportRunner | undefined;
  // The template library ships as files; they arrive as drafts, and staff publish them.
  await importTemplates(db, (await loadTemplateDir(config.SOP_TEMPLATE_DIR)).map((f) => f.template));
  // The run monitor's live counts (sop.progress), at most one event a second per template.
  const sopProgress = new SopProgress({ db, logger, toConsole: consoleFeed.toConsole });
  defineSopJobs({
    db, gate, events, jobs, logger, gateway: wecom.gateway, progress: sopProgress,
    notifyMember: (staffId, event, data) => realtimeLog.toMember(staffId, event, data),
  });
  // Digital business cards: themes checked at start, adds through a card attributed (src/cards/README.md).
  const cards = await setupCards({
    config, db, gate, gateway: wecom.gateway, events, jobs, logger,
    notifyMember: (staffId, event, data) => realtimeLog.toMember(staffId, event, data),
  });

  const app = new Koa<AppState>({ proxy: config.TRUST_PROXY });
  app.silent = true; // errors are logged by the error middleware, not printed by Koa
  const api = new Api('/api/v1');
  const webRole = config.ROLE !== 'worker';

  app.use(requestContext(logger, metrics));
  app.use(errorHandler());
  app.use(async (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'same-origin');
    await next();
  });

  const root = new Router<AppState>();
  root.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  root.get('/readyz', async (ctx) => {
    const ok = await database.ping();
    ctx.status = ok ? 200 : 503;
    ctx.body = { status: ok ? 'ok' : 'unavailable', database: ok ? 'ok' : 'unreachable' };
  });
  root.get('/metrics', async (ctx) => {
    ctx.set('Content-Type', metrics.registry.contentType);
    ctx.body = await metrics.registry.metrics();
  });

  if (webRole) {
    registerAuthRoutes(api, {
      db,
      secureCookies: !config.sandbox,
      limits: { maxAttempts: config.LOGIN_MAX_ATTEMPTS, windowMinutes: config.LOGIN_WINDOW_MINUTES, sessionTtlHours: config.SESSION_TTL_HOURS },
    });
    registerAuditRoutes(api, { db });
    registerSystemRoutes(api, { version: VERSION, sandbox: config.sandbox, simulator: wecom.simulator });
    registerSettingsRoutes(api, { db, events });
    registerCustomerRoutes(api, { db, cipher, corps: wecom.registry });
    registerFilterRoutes(api, { db });
    registerProductRoutes(api);
    registerTagRoutes(api, tagDeps);
    registerSegmentRoutes(api, { db, cipher });
    registerScoringRoutes(api, { db, jobs });
    registerDashboardRoutes(api, { db });
    imports = registerImportRoutes(api, { db, cipher, logger, jobs, realtime: consoleFeed, dataDir: config.DATA_DIR });
    registerComplianceRoutes(api, { db, gate });
    registerMassSendRoutes(api, massSends);
    registerSopRoutes(api, { db, gate, progress: sopProgress });
    registerMaterialRoutes(api, { db, gate, publicUrl: config.PUBLIC_URL ?? `http://localhost:${config.PORT}` });
    cards.registerApi(api);
    registerAssistantRoutes(api, { assistant, corps: wecom.registry });
    registerKbRoutes(api, { db, kb });
    registerReplyRoutes(api, { db });
    wecom.registerApi(api);
    registerSidebarRoutes(api, { db, gate, corps: wecom.registry, sandboxCorpId: wecom.sandbox?.world.corpId });
    root.get('/api/v1/openapi.json', (ctx) => {
      ctx.body = api.openapi({ title: '星河银行 SCRM API', version: VERSION });
    });
  }
  // Health, metrics and the API document answer without a session, so they work while the database is down.
  app.use(root.routes());
  app.use(root.allowedMethods());
  if (webRole) {
    for (const router of wecom.rawRoutes) app.use(router.routes());
    app.use(
      bodyParser({
        enableTypes: ['json'],
        jsonLimit: `${config.BODY_LIMIT_KB}kb`,
        encoding: 'utf-8',
        onError: (error) => {
          if ((error as { status?: number }).status === 413) throw new AppError('too_large', 'request body too large');
          throw new AppError('invalid', 'malformed request body', { issues: [{ path: 'body', message: 'not valid JSON' }] });
        },
      }),
    );
    app.use(sessionMiddleware(db));
    app.use(api.router.routes());
    app.use(api.router.allowedMethods());
    app.use(serveWeb({ distDir: config.WEB_DIST_DIR }));
  }

  // Routes are registered before the callback is taken; socket.io attaches to the same server.
  const server = http.createServer(app.callback());
  server.keepAliveTimeout = 65_000;
  const realtime: Realtime | undefined = webRole
    ? await attachRealtime(server, {
        db,
        logger,
        log: realtimeLog,
        databaseUrl: options.databaseUrl,
        adapter: config.REALTIME_ADAPTER,
        pollMs: config.REALTIME_POLL_MS,
        replayMax: config.REALTIME_REPLAY_MAX,
      })
    : undefined;

  let outbox: OutboxDispatcher | undefined;
  if (config.ROLE !== 'web') {
    await jobs.start();
    await scheduleOutboxJobs(jobs, config.OUTBOX_RESULT_SYNC_MS);
    outbox = new OutboxDispatcher({
      db,
      gateway: wecom.gateway,
      logger,
      senders: [...defaultSenders(), kfSender(logger)],
      databaseUrl: options.databaseUrl,
      batchMax: config.OUTBOX_BATCH_MAX,
      concurrency: config.OUTBOX_CONCURRENCY,
      leaseMs: config.OUTBOX_LEASE_MS,
      pollMs: config.OUTBOX_POLL_MS,
      maxAttempts: config.OUTBOX_MAX_ATTEMPTS,
      appMessagesPerMemberPerMinute: config.WECOM_APP_MESSAGES_PER_MEMBER_PER_MINUTE,
      appMessagesPerMemberPerHour: config.WECOM_APP_MESSAGES_PER_MEMBER_PER_HOUR,
    });
    await outbox.start();
    await scheduleSystemJobs(jobs);
    await scheduleRealtimeJobs(jobs);
    await scheduleScoringJobs(jobs);
    await scheduleTagJobs(jobs);
    await scheduleSegmentJobs(jobs);
    await scheduleImportJobs(jobs);
    await scheduleMassSendJobs(jobs);
    await scheduleSopJobs(jobs);
    await scheduleCardJobs(jobs);
    await scheduleAssistantJobs(jobs);
    if (demoSeeded && config.DEMO_SCORE_ON_SEED) {
      // A newcomer sees tiers, tags and scores at once rather than after the first night.
      const cause = { type: 'system', id: 'demo-seed' } as const;
      await jobs.enqueue(TAG_JOBS.nightly, {}, { key: 'demo-seed', cause });
      await jobs.enqueue(SCORING_JOB, {}, { key: 'demo-seed', cause });
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  logger.info({ port, role: config.ROLE, sandbox: config.sandbox }, 'listening');
  await wecom.started(url);

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    server,
    database,
    jobs,
    events,
    api,
    realtime,
    wecom,
    gate,
    assistant,
    kb,
    imports,
    outbox,
    demoAdminPassword,
    close() {
      closing ??= (async () => {
        imports?.abortAll();
        await imports?.settled();
        await realtime?.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        // Calls in flight finish and are recorded before the database (and the sandbox) go.
        await outbox?.stop();
        await jobs.stop();
        await sopProgress.close();
        await events.settled();
        await wecom.close();
        await realtimeLog.settled();
        await database.close();
      })();
      return closing;
    },
  };
}
