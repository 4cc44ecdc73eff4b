import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { loadConfig, type Config } from '../src/platform/config.js';
import { createLogger, type Logger } from '../src/platform/logger.js';
import { FieldCipher } from '../src/platform/crypto.js';
import { openDatabase, type DatabaseHandle } from '../src/platform/db/database.js';
import { startApp, type RunningApp } from '../src/app.js';
import { shared } from './state.js';

export const TEST_FIELD_KEYS = `t1:${'11'.repeat(32)}`;
export const TEST_HMAC_KEY = '22'.repeat(32);
export const DEMO_PASSWORD = 'demo-password-123';

export const testCipher = () => new FieldCipher(FieldCipher.parseKeys(TEST_FIELD_KEYS), Buffer.from(TEST_HMAC_KEY, 'hex'));

/** A fresh database copied from the migrated template; returns its URL. */
export async function createTestDatabase(): Promise<string> {
  if (!shared.adminUrl || !shared.template) throw new Error('root hooks did not run (is test/setup.ts required?)');
  const name = `scrm_t${process.pid}_${++shared.counter}`;
  const admin = new pg.Client({ connectionString: shared.adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${shared.template}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(shared.adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A database handle on a fresh copy, for tests that need no HTTP server. */
export async function testDatabase(logger: Logger = createLogger({ level: 'silent' })): Promise<DatabaseHandle> {
  return openDatabase({ url: await createTestDatabase(), poolMax: 5, logger });
}

/** Log lines written by the app, parsed, for tests that read the log. */
export class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  readonly raw: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void) {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      this.raw.push(line);
      this.lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    done();
  }
  text() {
    return this.raw.join('\n');
  }
}

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    SANDBOX: 'true',
    DEMO_CUSTOMERS: '0',
    DEMO_ADMIN_PASSWORD: DEMO_PASSWORD,
    FIELD_KEYS: TEST_FIELD_KEYS,
    HMAC_KEY: TEST_HMAC_KEY,
    DATA_DIR: mkdtempSync(path.join(tmpdir(), 'scrm-test-')),
    JOBS_PROCESS_EVERY_MS: '100',
    SANDBOX_PORT: '0',
    WECOM_SYNC_ON_START: 'false',
    DEMO_SCORE_ON_SEED: 'false',
    LOG_LEVEL: 'info',
    ...overrides,
  });
}

export interface TestApp extends RunningApp {
  config: Config;
  logs: LogCapture;
  /** fetch against the app, with this client's cookie jar. */
  client(): TestClient;
}

export class TestClient {
  cookie = '';
  constructor(readonly baseUrl: string) {}

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
    const response = await fetch(this.baseUrl + path, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const setCookie = response.headers.getSetCookie();
    for (const c of setCookie) {
      const [pair] = c.split(';');
      if (pair?.startsWith('scrm_session=')) this.cookie = pair.endsWith('=') ? '' : pair;
    }
    const text = await response.text();
    let parsed: unknown = text;
    if ((response.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
    return { status: response.status, body: parsed, headers: response.headers };
  }

  get(path: string) {
    return this.request('GET', path);
  }
  post(path: string, body?: unknown) {
    return this.request('POST', path, body ?? {});
  }

  async login(username: string, password = DEMO_PASSWORD) {
    const r = await this.post('/api/v1/auth/login', { username, password });
    if (r.status !== 200) throw new Error(`login ${username} failed: ${r.status} ${JSON.stringify(r.body)}`);
    return this;
  }
}

/** Boots the whole app on a random port, on a fresh database, in sandbox mode with the demo staff. */
export async function bootApp(overrides: Record<string, string> = {}, options: { databaseUrl?: string } = {}): Promise<TestApp> {
  const config = testConfig(overrides);
  const logs = new LogCapture();
  const logger = createLogger({ level: config.LOG_LEVEL, destination: logs });
  const app = await startApp({ config, logger, databaseUrl: options.databaseUrl ?? (await createTestDatabase()), cipher: testCipher() });
  return Object.assign(app, { config, logs, client: () => new TestClient(app.url) });
}
