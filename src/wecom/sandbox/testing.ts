import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { openEnvelope, parseXml, str, type XmlObject } from '../crypto.js';
import { startSandbox, type Sandbox, type SandboxOptions } from './index.js';

/**
 * Helpers for tests that run against the sandbox: fixed credentials, a clock tests move by hand,
 * a tiny WeCom API client, and a callback receiver that verifies and decrypts what it gets.
 */
export const TEST_CORP = {
  corpId: 'wwxinghe0000sandbox',
  callbackToken: 'sandboxCallbackToken',
  callbackAesKey: Buffer.alloc(32, 0x5a).toString('base64').slice(0, 43),
  agentId: 1000002,
  agentSecret: 'sandbox-agent-secret',
  contactSecret: 'sandbox-contact-secret',
} as const;

export class ManualClock {
  constructor(public ms = Date.parse('2026-11-23T10:00:00+08:00')) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export function startTestSandbox(overrides: Partial<SandboxOptions> = {}): Promise<Sandbox> {
  return startSandbox({ ...TEST_CORP, customers: 400, callbackRetryDelayMs: 20, callbackDeadlineMs: 2000, ...overrides });
}

export type WeComBody = Record<string, any>;

export class WeComClient {
  private tokens: Partial<Record<'agent' | 'contact', string>> = {};
  constructor(readonly sandbox: Sandbox) {}

  async token(kind: 'agent' | 'contact' = 'agent'): Promise<string> {
    const cached = this.tokens[kind];
    if (cached) return cached;
    const secret = kind === 'agent' ? TEST_CORP.agentSecret : TEST_CORP.contactSecret;
    const r = await this.raw('GET', `gettoken?corpid=${TEST_CORP.corpId}&corpsecret=${secret}`);
    if (r.errcode !== 0) throw new Error(`gettoken failed: ${JSON.stringify(r)}`);
    return (this.tokens[kind] = r.access_token as string);
  }

  /** Forget cached tokens (after moving the clock past their expiry). */
  resetTokens(): void {
    this.tokens = {};
  }

  async raw(method: 'GET' | 'POST', pathAndQuery: string, body?: unknown): Promise<WeComBody> {
    const response = await fetch(`${this.sandbox.apiBase}/${pathAndQuery}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    return (await response.json()) as WeComBody;
  }

  async get(path: string, query: Record<string, string | number> = {}, kind: 'agent' | 'contact' = 'agent'): Promise<WeComBody> {
    const q = new URLSearchParams({ access_token: await this.token(kind), ...Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)])) });
    return this.raw('GET', `${path}?${q}`);
  }

  async post(path: string, body: unknown = {}, kind: 'agent' | 'contact' = 'agent'): Promise<WeComBody> {
    return this.raw('POST', `${path}?access_token=${encodeURIComponent(await this.token(kind))}`, body);
  }
}

export interface ReceivedCallback {
  query: Record<string, string>;
  body: string;
  plaintext: string;
  fields: XmlObject;
}

/** How the receiver answers attempt n (1-based, over all requests): a status, optionally after a pause. */
export type ReceiverBehaviour = (attempt: number) => { status: number; delayMs?: number };

/** A product stand-in: verifies the signature, decrypts, parses and keeps every callback it gets. */
export async function startReceiver(behaviour: ReceiverBehaviour = () => ({ status: 200 })) {
  const received: ReceivedCallback[] = [];
  let attempts = 0;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const query = Object.fromEntries(url.searchParams);
    if (req.method === 'GET' && query.echostr) {
      // The URL check: echo the decrypted echostr exactly.
      res.end(openEnvelope(TEST_CORP_SECRETS, query, query.echostr));
      return;
    }
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const n = ++attempts;
      const encrypted = str(parseXml(body).Encrypt) ?? '';
      const plaintext = openEnvelope(TEST_CORP_SECRETS, query, encrypted);
      received.push({ query, body, plaintext, fields: parseXml(plaintext) });
      const { status, delayMs } = behaviour(n);
      const answer = () => {
        if (!res.destroyed) {
          res.statusCode = status;
          res.end(status === 200 ? '' : 'error');
        }
      };
      if (delayMs) setTimeout(answer, delayMs).unref();
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/wecom/callback/${TEST_CORP.corpId}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export const TEST_CORP_SECRETS = { corpId: TEST_CORP.corpId, token: TEST_CORP.callbackToken, aesKey: TEST_CORP.callbackAesKey };
