import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type Router from '@koa/router';
import type { Config } from '../platform/config.js';
import type { FieldCipher } from '../platform/crypto.js';
import type { Db } from '../platform/db/database.js';
import type { EventBus } from '../platform/events.js';
import type { Api } from '../platform/http/api.js';
import type { AppState } from '../platform/http/context.js';
import type { JobRunner } from '../platform/jobs.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import { DEMO_CORP_ID } from '../demo/seed.js';
import { callbackRouter, defineCallbackJobs, Inbox, registerInboxRoutes, scheduleCallbackJobs, type InboxChange } from './callbacks/index.js';
import { RateBudget, TokenStore, WeComGateway } from './client/index.js';
import { CorpRegistry, corpFromConfig, saveCorp } from './corps.js';
import { oauthRouter } from './oauth.js';
import { registerWecomRoutes } from './routes.js';
import { startSandbox, type Sandbox } from './sandbox/index.js';
import { createCallbackHandlers } from './sync/handlers.js';
import { subscribeLiveContacts, type LiveSink } from './live.js';
import { registerSimulatorRoutes } from './simulator.js';
import { defineSyncJobs, scheduleSyncJobs, startReconcile } from './sync/jobs.js';

/**
 * Assembles the WeCom link for the app: corps (from the environment, or the sandbox), the gateway,
 * callback routes and jobs, sync jobs, OAuth and the API routes.
 */
export interface WecomDeps {
  config: Config;
  db: Db;
  cipher: FieldCipher;
  jobs: JobRunner;
  events: EventBus;
  logger: Logger;
  metrics: Metrics;
  /** Live updates (src/realtime): the inbox stream and new customers go to the console and members. */
  live?: LiveSink;
}

export interface WecomLink {
  gateway: WeComGateway;
  registry: CorpRegistry;
  inbox: Inbox;
  sandbox?: Sandbox;
  /** The console's sandbox simulator (`/api/v1/sandbox/...`) is served: sandbox mode with its control on. */
  simulator: boolean;
  /** Routes mounted before the JSON body parser: callbacks read their raw XML body. */
  rawRoutes: Router<AppState>[];
  registerApi(api: Api): void;
  /** After the server listens: point the sandbox's callbacks at it and schedule jobs. */
  started(baseUrl: string): Promise<void>;
  close(): Promise<void>;
}

interface SandboxSecrets {
  token: string;
  aesKey: string;
  agentId: number;
  agentSecret: string;
  contactSecret: string;
}

/** The sandbox corp's secrets, generated once per data directory. */
function sandboxSecrets(dataDir: string): SandboxSecrets {
  const file = path.resolve(dataDir, 'sandbox.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as SandboxSecrets;
  const secrets = {
    token: randomBytes(12).toString('base64url'),
    aesKey: randomBytes(32).toString('base64').slice(0, 43),
    agentId: 1000002,
    agentSecret: randomBytes(24).toString('base64url'),
    contactSecret: randomBytes(24).toString('base64url'),
  };
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 });
  return secrets;
}

export async function setupWecom(deps: WecomDeps): Promise<WecomLink> {
  const { config, db, cipher, jobs, events, logger } = deps;
  let sandbox: Sandbox | undefined;
  if (config.sandbox) {
    const secrets = sandboxSecrets(config.DATA_DIR);
    sandbox = await startSandbox({
      corpId: DEMO_CORP_ID,
      callbackToken: secrets.token,
      callbackAesKey: secrets.aesKey,
      agentId: secrets.agentId,
      agentSecret: secrets.agentSecret,
      contactSecret: secrets.contactSecret,
      customers: config.DEMO_CUSTOMERS,
      port: config.SANDBOX_PORT,
      host: '127.0.0.1',
      controlApi: config.sandboxControl,
      logger: logger.child({ component: 'sandbox' }),
    });
    await saveCorp(db, cipher, {
      corpId: DEMO_CORP_ID,
      name: '星河银行（沙箱）',
      agentId: secrets.agentId,
      token: secrets.token,
      aesKey: secrets.aesKey,
      agentSecret: secrets.agentSecret,
      contactSecret: secrets.contactSecret,
      apiBase: sandbox.apiBase,
      source: 'sandbox',
    });
  }
  const envCorp = corpFromConfig(config);
  if (envCorp) await saveCorp(db, cipher, envCorp);

  const registry = new CorpRegistry(db, cipher);
  const gateway = new WeComGateway({
    registry,
    tokens: new TokenStore(db, cipher),
    budget: new RateBudget({ perMinute: config.WECOM_API_PER_MINUTE, blockMs: 60_000 }),
    metrics: deps.metrics,
    logger,
    options: { timeoutMs: config.WECOM_API_TIMEOUT_MS, retries: config.WECOM_API_RETRIES },
  });
  // The console's live inbox: every row recorded and every status change, as the inbox page shows them.
  const live = deps.live;
  const onChange = live ? (change: InboxChange) => live.toConsole('wecom.inbox', change) : undefined;
  const inbox = new Inbox({ db, jobs, logger, onChange });
  const handlers = createCallbackHandlers({ db, gateway, events, logger });
  defineCallbackJobs(jobs, { db, handlers, logger, onChange });
  if (live) subscribeLiveContacts(events, { db, live });
  const simulator = Boolean(sandbox) && config.sandboxControl;
  defineSyncJobs(jobs, { db, gateway, logger, registry, events, live });

  const sandboxUrl = sandbox?.url;
  const rawRoutes = [
    callbackRouter({ registry, inbox, logger }),
    oauthRouter({
      db,
      gateway,
      logger,
      authorizeBase: (corpId) => (corpId === DEMO_CORP_ID && sandboxUrl ? sandboxUrl : config.WECOM_OAUTH_BASE),
      publicUrl: config.PUBLIC_URL,
      sandboxCorpId: sandbox ? DEMO_CORP_ID : undefined,
      secureCookies: !config.sandbox,
      sessionTtlHours: config.SESSION_TTL_HOURS,
    }),
  ];

  return {
    gateway,
    registry,
    inbox,
    sandbox,
    simulator,
    rawRoutes,
    registerApi(api) {
      registerInboxRoutes(api, { inbox });
      if (sandbox && simulator) registerSimulatorRoutes(api, { db, sandbox });
      registerWecomRoutes(api, {
        db,
        gateway,
        jobs,
        events,
        logger,
        publicUrl: config.PUBLIC_URL,
        quotas: { corpPerHour: config.WECOM_JSAPI_TICKETS_PER_HOUR, agentPerHour: config.WECOM_AGENT_TICKETS_PER_HOUR },
      });
    },
    async started(baseUrl) {
      sandbox?.setCallbackUrl(`${baseUrl}/wecom/callback/${DEMO_CORP_ID}`);
      if (config.ROLE === 'web') return;
      await scheduleCallbackJobs(jobs);
      await scheduleSyncJobs(jobs, config.WECOM_RECONCILE_CRON);
      // A corp that has never been synced gets its first full sync now.
      if (!config.WECOM_SYNC_ON_START) return;
      for (const corpId of await registry.list()) {
        const any = await db.selectFrom('wecom_sync_runs').select('id').where('corp_id', '=', corpId).executeTakeFirst();
        if (!any) await startReconcile({ db, gateway, logger, jobs }, corpId, 'first-start');
      }
    },
    async close() {
      await sandbox?.close();
    },
  };
}
