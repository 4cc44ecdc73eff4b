import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { DEFAULT_SEED } from '../../demo/synthetic.js';
import { CallbackDispatcher } from './callbacks.js';
import { createControl, type SandboxControl } from './control.js';
import { controlMiddleware } from './controlHttp.js';
import { Clock, type Core, type ResolvedOptions } from './core.js';
import { FaultInjector } from './faults.js';
import { ApiQuotas, WindowCounters } from './limits.js';
import { oauthMiddleware } from './oauth.js';
import { qrImageMiddleware } from './qrImage.js';
import { apiMiddleware } from './router.js';
import { buildWorld } from './seedWorld.js';
import { CredentialStore } from './tokens.js';
import type { World } from './world.js';

/**
 * A local, faithful simulation of WeCom's server API and its callbacks (REFERENCE.md, SHAPES.md):
 * what `npm start` runs against by default, what tests use, and what a bank rehearses with.
 * State lives in memory, built deterministically from a seed; nothing touches the database.
 */
export interface SandboxOptions {
  corpId: string;
  callbackToken: string;
  /** The 43-character EncodingAESKey. */
  callbackAesKey: string;
  agentId: number;
  agentSecret: string;
  contactSecret: string;
  /** default 20261123, the demo generator's seed */
  seed?: number;
  /** how many synthetic bank customers to draw contacts from; default 2000 */
  customers?: number;
  /** default 7200 */
  tokenTtlSeconds?: number;
  /** per corp per API, default 10000 (REFERENCE §2); overridable per API via control */
  perApiPerMinute?: number;
  /** default 5000: a callback not answered 200 within this is retried */
  callbackDeadlineMs?: number;
  /** default 3 retries after the first attempt */
  callbackRetries?: number;
  /** default 1000 */
  callbackRetryDelayMs?: number;
  /** default 0 / 127.0.0.1 */
  port?: number;
  host?: string;
  /** default true; the product turns it off in production configuration */
  controlApi?: boolean;
  logger?: import('pino').Logger;
  /** The sandbox's clock in ms (default Date.now); tests inject one to cross time windows without sleeping. */
  now?: () => number;
}

export interface Sandbox {
  /** http://127.0.0.1:PORT */
  url: string;
  /** url + '/cgi-bin': the product's WECOM_API_BASE */
  apiBase: string;
  /** The in-memory state, for tests to inspect. */
  world: World;
  /** The same operations the HTTP control API offers, callable in-process. */
  control: SandboxControl;
  /** Where events are POSTed (the product's /wecom/callback/:corpId). */
  setCallbackUrl(url: string): void;
  close(): Promise<void>;
}

const AES_KEY = /^[A-Za-z0-9+/]{43}$/;

function resolve(options: SandboxOptions): ResolvedOptions {
  if (!options.corpId) throw new RangeError('corpId is required');
  if (!AES_KEY.test(options.callbackAesKey)) throw new RangeError('callbackAesKey must be the 43-character EncodingAESKey');
  if (!options.callbackToken) throw new RangeError('callbackToken is required');
  if (!options.agentSecret || !options.contactSecret) throw new RangeError('agentSecret and contactSecret are required');
  if (options.agentSecret === options.contactSecret) throw new RangeError('agentSecret and contactSecret must differ: each secret gets its own tokens');
  return {
    corpId: options.corpId,
    callbackToken: options.callbackToken,
    callbackAesKey: options.callbackAesKey,
    agentId: options.agentId,
    agentSecret: options.agentSecret,
    contactSecret: options.contactSecret,
    seed: options.seed ?? DEFAULT_SEED,
    customers: options.customers ?? 2000,
    tokenTtlSeconds: options.tokenTtlSeconds ?? 7200,
    perApiPerMinute: options.perApiPerMinute ?? 10_000,
    callbackDeadlineMs: options.callbackDeadlineMs ?? 5000,
    callbackRetries: options.callbackRetries ?? 3,
    callbackRetryDelayMs: options.callbackRetryDelayMs ?? 1000,
    controlApi: options.controlApi ?? true,
  };
}

export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const resolved = resolve(options);
  const clock = new Clock(options.now);
  const logger = options.logger?.child({ component: 'wecom-sandbox' });
  const world = buildWorld({ corpId: resolved.corpId, agentId: resolved.agentId, seed: resolved.seed, customers: resolved.customers });
  const core: Core = {
    options: resolved,
    clock,
    world,
    credentials: new CredentialStore(resolved.tokenTtlSeconds),
    quotas: new ApiQuotas({ perMinute: resolved.perApiPerMinute, perHour: 150_000 }, new Set(['get_jsapi_ticket', 'ticket/get'])),
    counters: new WindowCounters(),
    faults: new FaultInjector(resolved.seed),
    callbacks: new CallbackDispatcher({
      secrets: { corpId: resolved.corpId, token: resolved.callbackToken, aesKey: resolved.callbackAesKey },
      agentId: resolved.agentId,
      now: () => clock.now(),
      deadlineMs: resolved.callbackDeadlineMs,
      retries: resolved.callbackRetries,
      retryDelayMs: resolved.callbackRetryDelayMs,
      log: world.callbacks,
      ...(logger ? { logger } : {}),
    }),
    ...(logger ? { logger } : {}),
  };
  const control = createControl(core);

  const app = new Koa();
  app.silent = true;
  const api = apiMiddleware(core);
  const oauth = oauthMiddleware(core);
  const qrImage = qrImageMiddleware(core);
  const controlApi = resolved.controlApi ? controlMiddleware(core, control) : undefined;
  app.use(async (ctx) => {
    if (ctx.path.startsWith('/cgi-bin/')) return api(ctx, async () => {});
    if (ctx.path === '/connect/oauth2/authorize' && ctx.method === 'GET') return oauth(ctx, async () => {});
    if (ctx.path.startsWith('/wwpic/') && ctx.method === 'GET') return qrImage(ctx, async () => {});
    if (controlApi && ctx.path.startsWith('/sandbox/')) return controlApi(ctx, async () => {});
    ctx.status = 404;
    ctx.body = 'Not Found';
  });

  const server = http.createServer(app.callback());
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => done());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host && options.host !== '0.0.0.0' && options.host !== '::' ? options.host : '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger?.info({ url, corpId: resolved.corpId, contacts: world.contacts.size, controlApi: resolved.controlApi }, 'WeCom sandbox listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    apiBase: `${url}/cgi-bin`,
    world,
    control,
    setCallbackUrl: (callbackUrl) => control.setCallbackUrl(callbackUrl),
    close: () =>
      (closing ??= (async () => {
        await core.callbacks.close();
        await new Promise<void>((done) => {
          server.close(() => done());
          server.closeAllConnections();
        });
      })()),
  };
}

export type { SandboxControl } from './control.js';
export type { CallbackAttempt, CallbackDelivery } from './callbacks.js';
export type { Fault, FaultSpec } from './faults.js';
export type { ScanInput, ScanResult } from './simulate/contacts.js';
export type { GroupChangeInput } from './simulate/groups.js';
export type { TagChangeInput } from './simulate/tags.js';
export type * from './types.js';
export { World } from './world.js';
export { SandboxControlError } from './errors.js';
