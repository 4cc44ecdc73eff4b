import type { Logger } from 'pino';
import type { CallbackDispatcher } from './callbacks.js';
import type { FaultInjector } from './faults.js';
import type { ApiQuotas, WindowCounters } from './limits.js';
import type { CredentialStore, IssuedToken, SecretKind } from './tokens.js';
import type { World } from './world.js';

/** Options after defaults; what every part of the sandbox reads. */
export interface ResolvedOptions {
  corpId: string;
  callbackToken: string;
  callbackAesKey: string;
  agentId: number;
  agentSecret: string;
  contactSecret: string;
  seed: number;
  customers: number;
  tokenTtlSeconds: number;
  perApiPerMinute: number;
  callbackDeadlineMs: number;
  callbackRetries: number;
  callbackRetryDelayMs: number;
  controlApi: boolean;
}

/** Sandbox time: the injected clock (tests) or the wall clock, plus any offset the control API added. */
export class Clock {
  private offset = 0;
  constructor(private readonly base: () => number = Date.now) {}
  now(): number {
    return this.base() + this.offset;
  }
  seconds(): number {
    return Math.floor(this.now() / 1000);
  }
  advance(ms: number): number {
    this.offset += ms;
    return this.now();
  }
}

export interface Core {
  options: ResolvedOptions;
  clock: Clock;
  world: World;
  credentials: CredentialStore;
  quotas: ApiQuotas;
  /** Other windows: tickets per hour, app messages per member. */
  counters: WindowCounters;
  faults: FaultInjector;
  callbacks: CallbackDispatcher;
  logger?: Logger;
}

export type JsonBody = Record<string, unknown>;

export interface ApiCall {
  core: Core;
  world: World;
  /** Sandbox clock at the start of the call, ms. */
  now: number;
  /** Absent only for gettoken. */
  token?: IssuedToken;
  query: Record<string, string>;
  body: JsonBody;
  ip: string;
}

export type ApiHandler = (call: ApiCall) => JsonBody | Promise<JsonBody>;

export interface ApiRoute {
  /** The path after /cgi-bin/, also the API's name for quotas and faults. */
  path: string;
  method: 'GET' | 'POST';
  handler: ApiHandler;
  /** gettoken is the only call without an access token. */
  public?: boolean;
  /** Which secrets' tokens may call it (default both); others get 48002. */
  secrets?: SecretKind[];
  /** Fields kept (empty) in the error body, e.g. `follow_user: []` (SHAPES §0). */
  keepOnError?: JsonBody;
}
