/**
 * Benchmark of the nightly scoring run (runScoring, src/scoring/job.ts) at the segments benchmark's scale: a copy of
 * the database that `npm run bench:segments` builds (1,000,000 customers with ~8 tags and a score row each), the
 * demo bank's churn history planted on it (plantDemoHistory: aum90dAgo for everyone, the churned mark for one in
 * twelve) so that the churn model trains, then two nights: the first retrains and moves many bands and model tags
 * (the loaded scores were not the model's), the next night (one day later) changes little. Each night reports its
 * wall time and what it wrote (customer rows updated, customer_tags rows inserted and deleted, from
 * pg_stat_user_tables). The last stdout line is the result as JSON.
 *
 *   npx tsx scripts/bench/scoring.ts                 # embedded PostgreSQL under .data/bench-segments (run bench:segments first)
 *   BENCH_DATABASE_URL=postgres://u:p@host/postgres  # the server holding scrm_bench_segments
 *   BENCH_NIGHTS=1 runs only the first night; BENCH_KEEP=1 keeps the copy (scrm_bench_scoring) instead of dropping it;
 *   BENCH_CONTINUE=1 runs more nights on a kept copy (no copy, no planting), the first of them BENCH_START_NIGHT
 *   (default 3) nights after the as-of date counted from 1, so that two versions of the job can be alternated on the
 *   same data.
 */
import path from 'node:path';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { sql, type Kysely } from 'kysely';
import { createLogger } from '../../src/platform/logger.js';
import { migrateToLatest, openDatabase, type Db } from '../../src/platform/db/database.js';
import { migrations } from '../../src/platform/db/migrations/index.js';
import { plantDemoHistory } from '../../src/demo/seed.js';
import { DEFAULT_AS_OF } from '../../src/demo/synthetic.js';
import { runScoring } from '../../src/scoring/job.js';
import { adminQuery, benchServer } from './common.js';

const SOURCE = 'scrm_bench_segments';
const COPY = 'scrm_bench_scoring';
const NIGHTS = Number(process.env.BENCH_NIGHTS ?? 2);
const CONTINUE = process.env.BENCH_CONTINUE === '1';
const START_NIGHT = CONTINUE ? Number(process.env.BENCH_START_NIGHT ?? 3) : 1;
const DIR = path.resolve('.data/bench-segments');
const DAY_MS = 86_400_000;

const log = (message: string) => process.stderr.write(`${message}\n`);
const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;
const load = () => loadavg().map((v) => round(v, 2));

interface Writes { customersUpdated: number; tagsInserted: number; tagsDeleted: number; tagsUpdated: number }

async function writes(db: Db): Promise<Writes> {
  // Backends report their table counters at most once a second while busy and within 10 s once idle.
  await new Promise((resolve) => setTimeout(resolve, 11_000));
  await sql`SELECT pg_stat_clear_snapshot()`.execute(db);
  const { rows } = await sql<{ relname: string; ins: string; upd: string; del: string }>`
    SELECT relname, n_tup_ins::text AS ins, n_tup_upd::text AS upd, n_tup_del::text AS del FROM pg_stat_user_tables
    WHERE relname IN ('customers', 'customer_tags')`.execute(db);
  const of = (name: string) => rows.find((r) => r.relname === name)!;
  return {
    customersUpdated: Number(of('customers').upd), tagsInserted: Number(of('customer_tags').ins),
    tagsDeleted: Number(of('customer_tags').del), tagsUpdated: Number(of('customer_tags').upd),
  };
}

async function main(): Promise<void> {
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', destination: process.stderr });
  const { adminUrl, embedded } = await benchServer(DIR, logger);
  const url = new URL(adminUrl);
  url.pathname = `/${COPY}`;
  let database: ReturnType<typeof openDatabase> | undefined;
  try {
    let started = performance.now();
    if (!CONTINUE) {
      const source = await adminQuery(adminUrl, `SELECT 1 FROM pg_database WHERE datname = '${SOURCE}'`);
      if (!source.rowCount) throw new Error(`${SOURCE} not found: run npm run bench:segments first (it builds the customers)`);
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${COPY} WITH (FORCE)`);
      await adminQuery(adminUrl, `CREATE DATABASE ${COPY} TEMPLATE ${SOURCE} STRATEGY FILE_COPY`);
      log(`copied ${SOURCE} in ${round((performance.now() - started) / 1000)} s`);
    }
    database = openDatabase({ url: url.toString(), poolMax: 4, logger, applicationName: 'bench-scoring' });
    const db = database.db;
    const { customers } = (await sql<{ customers: number }>`SELECT count(*)::int AS customers FROM customers`.execute(db)).rows[0]!;
    started = performance.now();
    const applied = await migrateToLatest(db as unknown as Kysely<unknown>, logger);
    if (applied.results?.length) log(`migrated (${applied.results.map((r) => r.migrationName).join(', ')}) in ${round((performance.now() - started) / 1000)} s`);
    if (!CONTINUE) {
      started = performance.now();
      await plantDemoHistory(db);
      await sql`VACUUM (ANALYZE) customers`.execute(db);
      log(`planted the churn history on ${customers.toLocaleString('en-US')} customers in ${round((performance.now() - started) / 1000)} s`);
    }

    const bands = async () => Object.fromEntries((await sql<{ band: string | null; n: number }>`
      SELECT churn_band AS band, count(*)::int AS n FROM customers GROUP BY 1 ORDER BY 1`.execute(db)).rows.map((r) => [r.band ?? 'none', r.n]));
    const nights: Record<string, unknown>[] = [];
    for (let night = START_NIGHT - 1; night < START_NIGHT - 1 + NIGHTS; night++) {
      const now = new Date(DEFAULT_AS_OF.getTime() + night * DAY_MS);
      const before = await writes(db), bandsBefore = await bands(), loadBefore = load();
      started = performance.now();
      const summary = await runScoring({ db, logger }, { now });
      const seconds = round((performance.now() - started) / 1000);
      const after = await writes(db);
      const result = {
        night: night + 1, seconds, customers: summary.customers,
        customer_rows_updated: after.customersUpdated - before.customersUpdated,
        tags_inserted: after.tagsInserted - before.tagsInserted,
        tags_deleted: after.tagsDeleted - before.tagsDeleted,
        tags_updated: after.tagsUpdated - before.tagsUpdated,
        bands_before: bandsBefore, bands_after: await bands(),
        load_average_before: loadBefore, load_average_after: load(),
      };
      log(JSON.stringify(result));
      nights.push(result);
      // As autovacuum would after a run that rewrote this many rows (0021 sets customers' threshold to 2%).
      await sql`VACUUM (ANALYZE) customers, customer_tags, customer_scores`.execute(db);
    }
    process.stdout.write(JSON.stringify({
      bench: 'scoring', customers, nights, schema: Object.keys(migrations).at(-1), cpus: cpus().length,
    }) + '\n');
  } finally {
    await database?.close();
    if (process.env.BENCH_KEEP !== '1') await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${COPY} WITH (FORCE)`).catch(() => undefined);
    await embedded?.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
