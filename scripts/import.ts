/**
 * Imports a bank customer file (CSV or JSON Lines) from the command line:
 *
 *   npm run import -- customers.csv [--format csv|jsonl] [--batch-size 5000] [--connections 2] [--created-by name]
 *
 * Uses DATABASE_URL, else the embedded PostgreSQL under DATA_DIR — the running one when the service
 * is up, else it starts it for the import and stops it after. Progress goes to stderr, the summary to
 * stdout. Ctrl-C stops after the batches being written; running the same command again resumes.
 * Exit codes: 0 done (rows may have been rejected: see the summary), 1 failed, 130 stopped.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Kysely } from 'kysely';
import { ConfigError, loadConfig, type Config } from '../src/platform/config.js';
import { createLogger, type Logger } from '../src/platform/logger.js';
import { loadFieldCipher } from '../src/platform/keys.js';
import { migrateToLatest, openDatabase } from '../src/platform/db/database.js';
import type { EmbeddedServer } from '../src/platform/db/embedded.js';
import { AppError } from '../src/platform/errors.js';
import { ImportFileError, importCustomers, listRejections, type ImportFormat, type ImportSummary } from '../src/customers/import/index.js';
import { progressPrinter } from '../src/customers/import/progress.js';

function usage(message?: string): never {
  if (message) process.stderr.write(`${message}\n`);
  process.stderr.write('usage: npm run import -- <file.csv|file.jsonl> [--format csv|jsonl] [--batch-size N] [--connections N] [--created-by name]\n');
  process.exit(1);
}

/** Where embedded.ts keeps the cluster (as root it falls back to /var/lib when DATA_DIR is not reachable). */
function embeddedPgData(dataDir: string): string {
  const absolute = path.resolve(dataDir);
  if (userInfo().uid === 0) {
    for (let dir = path.dirname(absolute); dir !== path.dirname(dir); dir = path.dirname(dir)) {
      const stat = existsSync(dir) ? statSync(dir) : undefined;
      if (stat && (stat.mode & 0o001) === 0) {
        return path.join('/var/lib/xinghe-scrm', createHash('sha1').update(absolute).digest('hex').slice(0, 12), 'pg');
      }
    }
  }
  return path.join(absolute, 'pg');
}

/** The port of the embedded server when one is running on this data directory. */
function runningEmbeddedPort(config: Config): number | undefined {
  const pidFile = path.join(embeddedPgData(config.DATA_DIR), 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const [pid, , , port] = readFileSync(pidFile, 'utf8').split('\n');
  try {
    process.kill(Number(pid), 0);
    return Number(port);
  } catch {
    return undefined;
  }
}

async function connect(config: Config, logger: Logger): Promise<{ url: string; embedded?: EmbeddedServer }> {
  if (config.DATABASE_URL) return { url: config.DATABASE_URL };
  const port = runningEmbeddedPort(config);
  if (port) return { url: `postgres://scrm:scrm@127.0.0.1:${port}/scrm` };
  // Its own server, in a process group of its own: Ctrl-C stops the import after the batches being written, then
  // the server (main's finally).
  const { ensureDatabase, startEmbeddedPostgres } = await import('../src/platform/db/embedded.js');
  const embedded = await startEmbeddedPostgres({ dataDir: config.DATA_DIR, port: config.EMBEDDED_PG_PORT, logger });
  return { url: await ensureDatabase(embedded.url, 'scrm'), embedded };
}

function printSummary(s: ImportSummary, rejections: Awaited<ReturnType<typeof listRejections>>): void {
  const n = (v: number) => v.toLocaleString('en-US');
  const out = [
    `${s.resumed ? 'Resumed and finished' : 'Imported'} ${s.fileName} (${s.format}, ${n(s.totalRows)} rows) in ${s.seconds.toFixed(1)} s`,
    `  inserted ${n(s.inserted)}, updated ${n(s.updated)}, unchanged ${n(s.unchanged)}, rejected ${n(s.rejected)}`,
    `  import ${s.importId}`,
    `  journeys and fact tags follow from the running service within a minute (customers.import-followup)`,
  ];
  for (const r of rejections.items) out.push(`  line ${r.lineNumber}${r.cifNo ? ` (${r.cifNo})` : ''}: ${r.reasons.map((x) => `${x.field} ${x.message}`).join('; ')}`);
  if (rejections.total > rejections.items.length) out.push(`  … ${n(rejections.total - rejections.items.length)} more: GET /api/v1/imports/${s.importId}/rejections`);
  process.stdout.write(out.join('\n') + '\n');
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { format: { type: 'string' }, 'batch-size': { type: 'string' }, connections: { type: 'string' }, 'created-by': { type: 'string' } },
  });
  const file = positionals[0];
  if (!file || positionals.length > 1) usage();
  if (!existsSync(file)) usage(`no such file: ${file}`);
  if (values.format && values.format !== 'csv' && values.format !== 'jsonl') usage('--format is csv or jsonl');
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) usage(error.message);
    throw error;
  }
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', destination: process.stderr });
  const { url, embedded } = await connect(config, logger);
  const database = openDatabase({ url, poolMax: 4, logger, applicationName: 'scrm-import' });
  const controller = new AbortController();
  process.once('SIGINT', () => {
    process.stderr.write('\nstopping after the batches being written…\n');
    controller.abort();
  });
  const bar = progressPrinter(process.stderr);
  try {
    await migrateToLatest(database.db as unknown as Kysely<unknown>, logger);
    const summary = await importCustomers(
      { db: database.db, cipher: loadFieldCipher(config, logger), logger },
      {
        path: file,
        format: values.format as ImportFormat | undefined,
        createdBy: values['created-by'] ?? `cli:${userInfo().username}`,
        batchSize: values['batch-size'] ? Number(values['batch-size']) : undefined,
        connections: values.connections ? Number(values.connections) : undefined,
        onProgress: bar.update,
        signal: controller.signal,
      },
    );
    bar.end();
    printSummary(summary, await listRejections(database.db, summary.importId, { limit: 10, offset: 0 }));
  } catch (error) {
    bar.end();
    const stopped = controller.signal.aborted;
    process.stderr.write(`${stopped ? 'stopped' : 'import failed'}: ${(error as Error).message}\n`);
    const resumable = !(error instanceof ImportFileError) && !(error instanceof AppError && error.kind === 'conflict');
    if (resumable) process.stderr.write('importing the same file again resumes where it stopped\n');
    process.exitCode = stopped ? 130 : 1;
  } finally {
    await database.close();
    await embedded?.stop();
  }
}

void main();
