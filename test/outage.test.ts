import { expect } from 'chai';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { createLogger } from '../src/platform/logger.js';
import { ensureDatabase, startEmbeddedPostgres, type EmbeddedServer } from '../src/platform/db/embedded.js';
import { bootApp, type TestApp } from './harness.js';
import { freePort } from './ports.js';

/**
 * The database goes away under a running app and comes back. The app must keep answering
 * /healthz, report not-ready, answer API calls with 503 instead of crashing, and recover alone.
 */
describe('a database outage', function () {
  this.timeout(120_000);
  let server: EmbeddedServer;
  let app: TestApp;
  let pgPort: number;
  const dataDir = path.resolve('.data/outage-test');
  const logger = createLogger({ level: 'silent' });
  const jobRuns: string[] = [];

  before(async () => {
    mkdirSync(dataDir, { recursive: true });
    pgPort = await freePort();
    server = await startEmbeddedPostgres({ dataDir, port: pgPort, logger });
    const url = await ensureDatabase(server.url, `outage_${process.pid}`);
    app = await bootApp({}, { databaseUrl: url });
    app.jobs.define({ name: 'test.outage', payload: z.object({ n: z.number() }), retryDelayMs: 200, handler: async ({ n }) => void jobRuns.push(`run-${n}`) });
  });
  after(async () => {
    await app?.close();
    await server?.stop();
  });

  it('keeps the process alive, says not ready, answers 503, and recovers when the database returns', async () => {
    const client = await app.client().login('admin');
    await server.stop();

    expect((await client.get('/healthz')).status).to.equal(200);
    const ready = await client.get('/readyz');
    expect(ready.status).to.equal(503);
    expect(ready.body.database).to.equal('unreachable');
    const api = await client.get('/api/v1/customers');
    expect(api.status).to.equal(503);
    expect(api.body.error.kind).to.equal('unavailable');
    expect(Number(api.headers.get('retry-after'))).to.be.greaterThan(0);
    const enqueue = await app.jobs.enqueue('test.outage', { n: 1 }, { cause: { type: 'system' } }).catch((e: unknown) => e);
    expect((enqueue as { kind?: string }).kind).to.equal('unavailable');
    // Give the scheduler a few polling rounds against a dead database.
    await new Promise((r) => setTimeout(r, 1500));

    server = await startEmbeddedPostgres({ dataDir, port: pgPort, logger });
    const deadline = Date.now() + 30_000;
    while ((await client.get('/readyz')).status !== 200) {
      if (Date.now() > deadline) throw new Error('not ready again');
      await new Promise((r) => setTimeout(r, 200));
    }
    expect((await client.get('/api/v1/customers')).status).to.equal(200);
    await app.jobs.enqueue('test.outage', { n: 2 }, { cause: { type: 'system' } });
    while (!jobRuns.includes('run-2')) {
      if (Date.now() > deadline) throw new Error('jobs did not resume');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(app.logs.lines.some((l) => l.msg === 'database connection lost' || l.msg === 'job scheduler error' || l.msg === 'job notification channel error')).to.equal(true);
  });
});
