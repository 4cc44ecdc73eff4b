/**
 * Benchmark of the customer import: a CSV of BENCH_ROWS (default 1,000,000) synthetic customers, about
 * 0.5% of them deliberately faulty, imported into a freshly migrated database with the demo branches;
 * then the same file again (every row unchanged). The last stdout line is the result as JSON.
 *
 *   npx tsx scripts/bench/import.ts                 # embedded PostgreSQL under .data/bench-import
 *   BENCH_DATABASE_URL=postgres://u:p@host/db ...   # a server: the database scrm_bench_import is recreated on it
 */
import { once } from 'node:events';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { createLogger } from '../../src/platform/logger.js';
import { FieldCipher } from '../../src/platform/crypto.js';
import { migrateToLatest, openDatabase } from '../../src/platform/db/database.js';
import { BRANCHES } from '../../src/demo/branches.js';
import { generateCustomers } from '../../src/demo/synthetic.js';
import { CSV_HEADER, csvLine, faultyCsvLine } from '../../src/customers/import/fixtures.js';
import { importCustomers } from '../../src/customers/import/index.js';
import { progressPrinter } from '../../src/customers/import/progress.js';
import { benchServer } from './common.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const FAULT_EVERY = 200; // 0.5%
const DIR = path.resolve('.data/bench-import');
const DB_NAME = 'scrm_bench_import';

/** Writes the file; returns how many rows are faulty. */
async function writeFile(file: string, rows: number): Promise<number> {
  const out = createWriteStream(file);
  let chunk = CSV_HEADER + '\n', faulty = 0, i = 0;
  for (const c of generateCustomers(rows)) {
    if (i % FAULT_EVERY === FAULT_EVERY - 1) {
      chunk += faultyCsvLine(c, faulty++).line + '\n';
    } else chunk += csvLine(c) + '\n';
    i++;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  return faulty;
}

async function freshDatabase(adminUrl: string): Promise<string> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${DB_NAME}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${DB_NAME}`;
  return url.toString();
}

/** CPU seconds used so far by this benchmark's database backends (when the server runs on this machine). */
async function backendCpuSeconds(db: import('../../src/platform/db/database.js').Db): Promise<number | undefined> {
  const { rows } = await sql<{ pid: number }>`SELECT pid FROM pg_stat_activity WHERE application_name = 'bench-import'`.execute(db);
  let ticks = 0;
  for (const { pid } of rows) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      return undefined;
    }
  }
  return ticks / 100;
}

async function main(): Promise<void> {
  if (!Number.isSafeInteger(ROWS) || ROWS < 1) throw new Error('BENCH_ROWS must be a positive integer');
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', destination: process.stderr });
  mkdirSync(DIR, { recursive: true });
  const { adminUrl, embedded } = await benchServer(DIR, logger);
  if (embedded) {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => void embedded.stop().finally(() => process.exit(130)));
    }
  }
  const database = openDatabase({ url: await freshDatabase(adminUrl), poolMax: 4, logger, applicationName: 'bench-import' });
  try {
    await migrateToLatest(database.db as unknown as Kysely<unknown>, logger);
    await database.db.insertInto('branches').values(BRANCHES.map((b) => ({ id: b.id, name: b.name, city: b.city }))).execute();
    const file = path.join(DIR, `customers-${ROWS}.csv`);
    process.stderr.write(`writing ${ROWS.toLocaleString('en-US')} rows to ${file}\n`);
    const faulty = await writeFile(file, ROWS);
    const cipher = new FieldCipher([{ id: 'b1', key: randomBytes(32) }], randomBytes(32));
    const deps = { db: database.db, cipher, logger };
    const bar = progressPrinter(process.stderr);

    const connections = Number(process.env.BENCH_CONNECTIONS ?? 2);
    const pass = async () => {
      const cpu = process.cpuUsage(), pgCpu = await backendCpuSeconds(database.db);
      const summary = await importCustomers(deps, { path: file, onProgress: bar.update, connections });
      bar.end();
      const used = process.cpuUsage(cpu), pgAfter = await backendCpuSeconds(database.db);
      return { summary, nodeCpu: (used.user + used.system) / 1e6, pgCpu: pgCpu === undefined || pgAfter === undefined ? undefined : pgAfter - pgCpu };
    };
    const firstPass = await pass();
    const secondPass = await pass();
    const first = firstPass.summary, second = secondPass.summary;
    if (first.rejected !== faulty || first.inserted !== ROWS - faulty) {
      throw new Error(`first pass: expected ${ROWS - faulty} inserted and ${faulty} rejected, got ${JSON.stringify(first)}`);
    }
    if (second.inserted || second.updated || second.unchanged !== ROWS - faulty) {
      throw new Error(`second pass changed rows: ${JSON.stringify(second)}`);
    }
    const round = (v: number, d = 2) => Math.round(v * 10 ** d) / 10 ** d;
    process.stdout.write(
      JSON.stringify({
        bench: 'import',
        rows: ROWS,
        seconds: round(first.seconds),
        rows_per_s: Math.round(ROWS / first.seconds),
        rejected: first.rejected,
        rerun_seconds: round(second.seconds),
        rerun_rows_per_s: Math.round(ROWS / second.seconds),
        file_bytes: first.totalBytes,
        connections,
        node_cpu_s: round(firstPass.nodeCpu, 1),
        db_cpu_s: firstPass.pgCpu === undefined ? null : round(firstPass.pgCpu, 1),
        rerun_node_cpu_s: round(secondPass.nodeCpu, 1),
        rerun_db_cpu_s: secondPass.pgCpu === undefined ? null : round(secondPass.pgCpu, 1),
      }) + '\n',
    );
  } finally {
    await database.close();
    await embedded?.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
