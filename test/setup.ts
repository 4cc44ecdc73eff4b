import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Kysely } from 'kysely';
import { createLogger } from '../src/platform/logger.js';
import { startEmbeddedPostgres, type EmbeddedServer } from '../src/platform/db/embedded.js';
import { migrateToLatest, openDatabase } from '../src/platform/db/database.js';
import { freePort } from './ports.js';
import { shared } from './state.js';

/**
 * One PostgreSQL per test run: the embedded server (its cluster under .data/test, reused between
 * runs) unless TEST_DATABASE_URL names a server. A template database is migrated once; each test
 * that needs a database gets a fresh copy of it (CREATE DATABASE ... TEMPLATE), so tests never see
 * each other's rows.
 */
let embedded: EmbeddedServer | undefined;
let dataDir: string | undefined;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(180_000);
    const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
    let adminUrl = process.env.TEST_DATABASE_URL;
    if (!adminUrl) {
      // A cluster per run, so that two suites running at once never stop each other's server.
      const root = path.resolve('.data/test-runs');
      mkdirSync(root, { recursive: true });
      for (const entry of readdirSync(root)) {
        const pid = Number(entry);
        if (pid && !alive(pid)) rmSync(path.join(root, entry), { recursive: true, force: true });
      }
      dataDir = path.join(root, String(process.pid));
      embedded = await startEmbeddedPostgres({ dataDir, port: await freePort(), logger });
      adminUrl = embedded.url;
    }
    shared.adminUrl = adminUrl;
    shared.template = `scrm_template_${process.pid}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    // Templates and copies left by an earlier, killed run.
    const stale = await admin.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'scrm\\_t%'");
    for (const { datname } of stale.rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${shared.template}"`);
    await admin.end();
    const url = new URL(adminUrl);
    url.pathname = `/${shared.template}`;
    const handle = openDatabase({ url: url.toString(), poolMax: 2, logger });
    await migrateToLatest(handle.db as unknown as Kysely<unknown>, logger);
    await handle.close();
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(600_000);
    // The embedded cluster is this run's alone and is deleted whole below; on a shared server
    // (TEST_DATABASE_URL) this run drops its own databases: its template and its copies.
    if (shared.adminUrl && !embedded) {
      const admin = new pg.Client({ connectionString: shared.adminUrl });
      await admin.connect();
      const ours = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1 OR datname = $2', [`scrm\\_t${process.pid}\\_%`, shared.template]);
      for (const { datname } of ours.rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
      await admin.end();
    }
    await embedded?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  },
};
