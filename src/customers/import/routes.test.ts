import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import Koa from 'koa';
import pg from 'pg';
import { bodyParser } from '@koa/bodyparser';
import { Api } from '../../platform/http/api.js';
import { errorHandler } from '../../platform/http/middleware.js';
import type { AppState } from '../../platform/http/context.js';
import type { Role } from '../../platform/db/schema.js';
import { createLogger } from '../../platform/logger.js';
import { generateCustomers } from '../../demo/synthetic.js';
import { CSV_HEADER, csvLine, faultyCsvLine, jsonLine } from './fixtures.js';
import { registerImportRoutes, type ImportRunner } from './routes.js';
import { importFixture, type ImportFixture } from './testing.js';

const people = [...generateCustomers(40, { seed: 3 })];
const CSV = [CSV_HEADER, ...people.slice(0, 29).map(csvLine), faultyCsvLine(people[29]!, 4).line].join('\n') + '\n';

interface Served {
  url: string;
  runner: ImportRunner;
  events: [string, unknown][];
  dataDir: string;
  close(): Promise<void>;
}

/** The import routes behind the same body parser as the app (JSON only), with the caller's role from a header. */
async function serve(f: ImportFixture, maxUploadBytes?: number): Promise<Served> {
  const api = new Api('/api/v1');
  const events: [string, unknown][] = [];
  const dataDir = mkdtempSync(path.join(tmpdir(), 'scrm-uploads-'));
  const runner = registerImportRoutes(api, { ...f.deps, realtime: { toConsole: (e, d) => events.push([e, d]) }, dataDir, maxUploadBytes, batchSize: 10 });
  const app = new Koa<AppState>();
  app.silent = true;
  const log = createLogger({ level: 'silent' });
  app.use(async (ctx, next) => {
    ctx.state.requestId = 'test-request-0001';
    ctx.state.log = log;
    const role = ctx.get('x-test-role') as Role;
    if (role) ctx.state.actor = { id: randomUUID(), username: role, displayName: role, role, branchId: null, corpId: null, wecomUserid: null, sessionId: 's' };
    await next();
  });
  app.use(errorHandler());
  app.use(bodyParser({ enableTypes: ['json'], encoding: 'utf-8' }));
  app.use(api.router.routes());
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  return { url, runner, events, dataDir, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function call(url: string, init: RequestInit & { role?: string; type?: string } = {}) {
  const headers: Record<string, string> = {};
  if (init.role) headers['x-test-role'] = init.role;
  if (init.type) headers['content-type'] = init.type;
  const response = await fetch(url, { ...init, headers, ...(init.body instanceof ReadableStream ? { duplex: 'half' } : {}) } as RequestInit);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

describe('the import API', () => {
  let f: ImportFixture;
  let s: Served;
  beforeEach(async () => {
    f = await importFixture();
    s = await serve(f, 8192);
  });
  afterEach(async () => {
    await s.runner.settled();
    await s.close();
    await f.handle.close();
  });

  it('takes a raw CSV upload past the JSON body parser, imports it in the background and reports it by id', async () => {
    const posted = await call(`${s.url}/imports?fileName=${encodeURIComponent('核心系统.csv')}`, { method: 'POST', role: 'ops', type: 'text/csv; charset=utf-8', body: CSV });
    expect(posted.status).to.equal(202);
    expect(posted.body).to.include({ status: 'running', resumed: false, fileName: '核心系统.csv', bytes: Buffer.byteLength(CSV) });
    await s.runner.settled();

    const state = await call(`${s.url}/imports/${posted.body.id}`, { role: 'admin' });
    expect(state.body).to.include({ status: 'done', format: 'csv', processedRows: 30, inserted: 29, rejected: 1 });
    const rejected = await call(`${s.url}/imports/${posted.body.id}/rejections?limit=5`, { role: 'ops' });
    expect(rejected.body).to.deep.equal({ total: 1, items: [{ lineNumber: 31, cifNo: people[29]!.cifNo, reasons: [{ field: 'aum', message: 'must not be negative' }] }] });
    const names = s.events.map(([e]) => e);
    expect(names.filter((e) => e === 'import.progress')).to.have.length(3);
    expect(names.at(-1)).to.equal('import.done');
    expect(readdirSync(path.join(s.dataDir, 'imports'))).to.deep.equal([]); // the upload is gone once imported
    const audit = await f.db.selectFrom('audit_log').select(['action', 'target_id']).execute();
    expect(audit).to.deep.equal([{ action: 'customers.import', target_id: posted.body.id }]);
  });

  it('takes JSON Lines as application/x-ndjson, also when sent chunked without a length', async () => {
    const lines = people.slice(0, 5).map(jsonLine).join('\n');
    const body = new ReadableStream({
      start(controller) {
        for (const part of [lines.slice(0, 100), lines.slice(100)]) controller.enqueue(new TextEncoder().encode(part));
        controller.close();
      },
    });
    const posted = await call(`${s.url}/imports`, { method: 'POST', role: 'admin', type: 'application/x-ndjson', body });
    expect(posted.status).to.equal(202);
    await s.runner.settled();
    expect((await call(`${s.url}/imports/${posted.body.id}`, { role: 'admin' })).body).to.include({ status: 'done', format: 'jsonl', fileName: 'upload.jsonl', inserted: 5 });
  });

  it('refuses other roles, other content types, empty and oversized files, and unknown imports', async () => {
    expect((await call(`${s.url}/imports`, { method: 'POST', type: 'text/csv', body: CSV })).status).to.equal(401);
    expect((await call(`${s.url}/imports`, { method: 'POST', role: 'branch_manager', type: 'text/csv', body: CSV })).status).to.equal(403);
    const json = await call(`${s.url}/imports`, { method: 'POST', role: 'ops', type: 'application/json', body: '{"a":1}' });
    expect(json.status).to.equal(400);
    expect(json.body.error.issues).to.deep.equal([{ path: 'headers.content-type', message: 'send the file as text/csv or application/x-ndjson' }]);
    expect((await call(`${s.url}/imports`, { method: 'POST', role: 'ops', type: 'text/csv', body: '' })).status).to.equal(400);
    const big = CSV.repeat(Math.ceil(8192 / CSV.length) + 1);
    expect((await call(`${s.url}/imports`, { method: 'POST', role: 'ops', type: 'text/csv', body: big })).status).to.equal(413);
    const chunked = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(1000)));
        controller.close();
      },
    });
    expect((await call(`${s.url}/imports`, { method: 'POST', role: 'ops', type: 'text/csv', body: chunked })).status).to.equal(413);
    expect(readdirSync(path.join(s.dataDir, 'imports'))).to.deep.equal([]);
    expect((await call(`${s.url}/imports/${randomUUID()}`, { role: 'ops' })).status).to.equal(404);
    expect((await call(`${s.url}/imports/${randomUUID()}/rejections`, { role: 'ops' })).status).to.equal(404);
  });

  it('answers 409 to an upload of a file whose import is already running, and keeps no copy', async () => {
    const other = new pg.Client({ connectionString: f.handle.url });
    await other.connect();
    try {
      const sha = createHash('sha256').update(CSV).digest('hex');
      await other.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [`customers.import:${sha}`]);
      const refused = await call(`${s.url}/imports`, { method: 'POST', role: 'ops', type: 'text/csv', body: CSV });
      expect(refused.status).to.equal(409);
      expect(refused.body.error.message).to.equal('an import of this file is already running');
      expect(readdirSync(path.join(s.dataDir, 'imports'))).to.deep.equal([]);
    } finally {
      await other.end();
    }
  });
});
