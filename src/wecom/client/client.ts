import type { Logger } from '../../platform/logger.js';
import type { Metrics } from '../../platform/metrics.js';
import type { CorpRegistry, CorpSecrets } from '../corps.js';
import type { RateBudget } from './budget.js';
import { ERRCODES, WeComApiError, WeComDeadlineError, WeComUnavailableError } from './errors.js';
import type { TokenStore } from './tokens.js';

export type SecretKind = 'agent' | 'contact';

export interface CallOptions {
  method?: 'GET' | 'POST';
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /**
   * False for calls that must not be repeated blindly (mass-send creation): after a timeout or a
   * reset the request may have taken effect, so only answers that say it did not (-1, 45009) are
   * retried. Default true.
   */
  idempotent?: boolean;
  /**
   * Epoch ms (Date.now) after which no attempt of this call may start: waits for the rate budget,
   * token refreshes and retries that would send later raise WeComDeadlineError instead, which
   * means no attempt left after the deadline. The outbox dispatcher sets it from its lease.
   */
  notAfter?: number;
  /**
   * How many times this call waits out a 45009/45033 block; default the client's. 0 where 45009 is a
   * limit on one object rather than the API's rate (a 4th remind_groupmsg_send of a task within
   * 24 h): the error is raised at once and the API is not blocked for other callers.
   */
  blockWaits?: number;
}

export interface ClientOptions {
  timeoutMs: number;
  retries: number;
  /** First backoff delay; doubles each retry, with full jitter. */
  backoffMs?: number;
  /** How many times a call waits out a 45009/45033 block before giving up. */
  blockWaits?: number;
}

interface Deps {
  registry: CorpRegistry;
  tokens: TokenStore;
  budget: RateBudget;
  metrics: Metrics;
  logger: Logger;
  options: ClientOptions;
}

type Answer = { errcode?: number; errmsg?: string } & Record<string, unknown>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The WeCom server API for one corp and one secret. Every call: waits for the rate budget, carries
 * a cached token (refreshed once and retried on 40014/42001), retries -1, 5xx, timeouts and resets
 * with jittered exponential backoff, waits out 45009/45033, and raises any other errcode as a
 * WeComApiError. Every call is measured; the token never reaches a log.
 */
export class WeComClient {
  constructor(
    private readonly deps: Deps,
    readonly corpId: string,
    readonly secret: SecretKind,
  ) {}

  private async corp(): Promise<CorpSecrets> {
    const corp = await this.deps.registry.get(this.corpId);
    if (!corp) throw new Error(`unknown corp ${this.corpId}`);
    return corp;
  }

  private async token(corp: CorpSecrets): Promise<string> {
    const secret = this.secret === 'agent' ? corp.agentSecret : corp.contactSecret;
    if (!secret) throw new Error(`corp ${corp.corpId} has no ${this.secret} secret configured`);
    return this.deps.tokens.get(corp.corpId, `access_token:${this.secret}`, async () => {
      const answer = await this.send(corp, 'gettoken', 'GET', { corpid: corp.corpId, corpsecret: secret }, undefined, false);
      if (answer.errcode) throw new WeComApiError('gettoken', answer.errcode, answer.errmsg ?? '');
      return { value: String(answer.access_token), expiresInSeconds: Number(answer.expires_in ?? 7200) };
    });
  }

  /** One HTTP exchange, measured. Throws WeComUnavailableError for no usable answer. */
  private async send(corp: CorpSecrets, api: string, method: 'GET' | 'POST', query: Record<string, string | number | undefined>, body: unknown, budgeted = true, notAfter?: number): Promise<Answer> {
    if (budgeted) await this.deps.budget.acquire(corp.corpId, api);
    if (notAfter !== undefined && Date.now() > notAfter) throw new WeComDeadlineError(api);
    const url = new URL(`${corp.apiBase.replace(/\/$/, '')}/${api}`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    const started = process.hrtime.bigint();
    let label = 'network';
    try {
      const response = await fetch(url, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.deps.options.timeoutMs),
      });
      if (response.status >= 500) {
        label = `http_${response.status}`;
        throw new WeComUnavailableError(api, `HTTP ${response.status}`);
      }
      const answer = (await response.json()) as Answer;
      label = String(answer.errcode ?? 0);
      return answer;
    } catch (error) {
      if (error instanceof WeComUnavailableError) throw error;
      const reason = (error as Error).name === 'TimeoutError' ? 'timeout' : ((error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message);
      label = reason === 'timeout' ? 'timeout' : 'network';
      throw new WeComUnavailableError(api, reason);
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.deps.metrics.wecomCalls.inc({ api, errcode: label });
      this.deps.metrics.wecomDuration.observe({ api }, seconds);
      this.deps.logger.debug({ corpId: corp.corpId, api, errcode: label, ms: Math.round(seconds * 1000) }, 'wecom call');
    }
  }

  async call<T = Answer>(api: string, options: CallOptions = {}): Promise<T & Answer> {
    const { retries, backoffMs = 200 } = this.deps.options;
    const blockWaits = options.blockWaits ?? this.deps.options.blockWaits ?? 3;
    const method = options.method ?? (options.body === undefined ? 'GET' : 'POST');
    const idempotent = options.idempotent ?? true;
    const corp = await this.corp();
    let refreshed = false;
    let failures = 0;
    let blocks = 0;
    for (;;) {
      const token = await this.token(corp);
      let answer: Answer;
      try {
        answer = await this.send(corp, api, method, { ...options.query, access_token: token }, options.body, true, options.notAfter);
      } catch (error) {
        if (!(error instanceof WeComUnavailableError) || !idempotent || failures >= retries) throw error;
        failures++;
        await sleep(Math.random() * backoffMs * 2 ** (failures - 1));
        continue;
      }
      const errcode = answer.errcode ?? 0;
      if (errcode === 0) return answer as T & Answer;
      if ((errcode === ERRCODES.invalidToken || errcode === ERRCODES.tokenExpired) && !refreshed) {
        refreshed = true;
        await this.deps.tokens.invalidate(corp.corpId, `access_token:${this.secret}`, token);
        continue;
      }
      if ((errcode === ERRCODES.frequencyLimit || errcode === ERRCODES.concurrencyLimit) && blocks < blockWaits) {
        blocks++;
        this.deps.budget.block(corp.corpId, api);
        this.deps.logger.warn({ corpId: corp.corpId, api, errcode, blockedMs: this.deps.budget.blockedFor(corp.corpId, api) }, 'WeCom rate limit: backing off for the window');
        continue;
      }
      if (errcode === ERRCODES.busy && failures < retries) {
        failures++;
        await sleep(Math.random() * backoffMs * 2 ** (failures - 1));
        continue;
      }
      throw new WeComApiError(api, errcode, answer.errmsg ?? '');
    }
  }
}

/** One client per (corp, secret), sharing the token store and the rate budget. */
export class WeComGateway {
  private readonly clients = new Map<string, WeComClient>();

  constructor(private readonly deps: Deps) {}

  client(corpId: string, secret: SecretKind = 'contact'): WeComClient {
    const key = `${corpId}:${secret}`;
    let client = this.clients.get(key);
    if (!client) {
      client = new WeComClient(this.deps, corpId, secret);
      this.clients.set(key, client);
    }
    return client;
  }

  get registry(): CorpRegistry {
    return this.deps.registry;
  }

  get tokens(): TokenStore {
    return this.deps.tokens;
  }
  /** The shared rate budget: callers that lease work (the outbox) check a block before claiming. */
  get budget(): RateBudget {
    return this.deps.budget;
  }
  /** The per-attempt HTTP timeout every call uses. */
  get timeoutMs(): number {
    return this.deps.options.timeoutMs;
  }
}
