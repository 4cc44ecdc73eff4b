/**
 * Benchmark of the WeCom callback gateway (docs/benchmarks.md, "Callbacks").
 *
 *   npm run bench:callbacks            # or: npx tsx scripts/bench/callbacks.ts
 *
 * Starts an embedded PostgreSQL under .data/bench (or uses BENCH_DATABASE_URL, a server whose user
 * may create databases), migrates a fresh database, and serves the real callback router and inbox on
 * a Koa server, with the job runner defined but not processing (jobs are still enqueued). Then:
 *
 *  1. max rate: BENCH_EVENTS distinct, signed and encrypted `add_external_contact` events, each
 *     sent twice (WeCom's retry: same plaintext, sealed again), BENCH_CONCURRENCY at a time over
 *     keep-alive connections; and the same requests to a bare Koa route answering 200 (the
 *     baseline). The two alternate in BENCH_ROUNDS rounds, each starting with the other side, so
 *     that load from elsewhere on the machine falls on both alike;
 *  2. paced: BENCH_PACED_EVENTS more events (another corp), each twice, at BENCH_PACED_RPS
 *     requests per second, for the p99 at that rate.
 *
 * New events' jobs are enqueued in the background after the answer (src/wecom/callbacks/inbox.ts);
 * `rps` counts answers, `sustained_rps` also the time those enqueues take to catch up.
 *
 * The machine may be shared, which moves every rate: CPU time per request is reported too, steadier
 * than the rates under load. `node_cpu_us` and `baseline_node_cpu_us` are this process's CPU per
 * request on each side (the load generator's share is in both); `pg_cpu_us` is the PostgreSQL
 * backends' per callback (embedded server only), job inserts included.
 *
 * Progress goes to stderr; the last line on stdout is one JSON object. `inbox_rows` counts the
 * max-rate corp's rows in the table and must equal `events`.
 */
import http from 'node:http';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import Koa from 'koa';
import Router from '@koa/router';
import pg from 'pg';
import { pino } from 'pino';
import type { Kysely } from 'kysely';
import { createLogger } from '../../src/platform/logger.js';
import { FieldCipher } from '../../src/platform/crypto.js';
import { ensureDatabase } from '../../src/platform/db/embedded.js';
import { migrateToLatest, openDatabase } from '../../src/platform/db/database.js';
import { createJobRunner } from '../../src/platform/jobs.js';
import type { AppState } from '../../src/platform/http/context.js';
import { buildXml, sealEnvelope, type CallbackSecrets } from '../../src/wecom/crypto.js';
import { CorpRegistry, saveCorp } from '../../src/wecom/corps.js';
import type { CallbackHandlers } from '../../src/wecom/events.js';
import { CALLBACK_PATH, Inbox, callbackRouter, defineCallbackJobs } from '../../src/wecom/callbacks/index.js';
import { benchServer } from './common.js';

const int = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
};
const EVENTS = int('BENCH_EVENTS', 20_000);
const CONCURRENCY = int('BENCH_CONCURRENCY', 64);
const PACED_RPS = int('BENCH_PACED_RPS', 1_000);
const PACED_EVENTS = int('BENCH_PACED_EVENTS', 5_000);
const POOL_MAX = int('BENCH_POOL_MAX', 10);
const ROUNDS = int('BENCH_ROUNDS', 4);
/** Inbox tuning, for experiments; unset means the Inbox's own defaults. */
const WRITE_CONCURRENCY = process.env.BENCH_WRITE_CONCURRENCY ? int('BENCH_WRITE_CONCURRENCY', 1) : undefined;
const ENQUEUE_CONCURRENCY = process.env.BENCH_ENQUEUE_CONCURRENCY ? int('BENCH_ENQUEUE_CONCURRENCY', 1) : undefined;
/** For profiling one phase: `BENCH_PHASES=full` skips the baseline and the paced run (the JSON is then partial). */
const PHASES = new Set((process.env.BENCH_PHASES ?? 'baseline,full,paced').split(','));

const say = (message: string) => process.stderr.write(`[bench:callbacks] ${message}\n`);
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
const round0 = (n: number) => Math.round(n);

interface Request {
  path: string;
  body: Buffer;
}

interface Run {
  seconds: number;
  latenciesMs: Float64Array;
  non200: number;
  /** CPU time of this process (client and server alike) during the run, µs. */
  cpuUs: number;
}

/** User + system CPU of this process so far, µs. */
const cpuNow = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

/**
 * CPU time (ms) used so far by the PostgreSQL backends serving `dbName`, by pid, from /proc;
 * undefined when the server is not the embedded one (its pids are not this machine's) or /proc is
 * not there. Work moved from Node to PostgreSQL is not free on a 2-core machine, so the result
 * reports both.
 */
async function backendCpuMs(pool: pg.Pool, dbName: string, local: boolean): Promise<Map<number, number> | undefined> {
  if (!local) return undefined;
  const { rows } = await pool.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [dbName]);
  const out = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      // Fields after the command name: utime and stime are the 12th and 13th, in clock ticks (100 Hz).
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      out.set(pid, ((Number(fields[11]) + Number(fields[12])) * 1000) / 100);
    } catch {
      return undefined;
    }
  }
  return out;
}
const backendDelta = (before: Map<number, number> | undefined, after: Map<number, number> | undefined) => {
  if (!before || !after) return undefined;
  let ms = 0;
  for (const [pid, t] of after) ms += t - (before.get(pid) ?? 0);
  return ms;
};

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summary(run: Run) {
  const sorted = Float64Array.from(run.latenciesMs).sort();
  return { rps: run.latenciesMs.length / run.seconds, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? 0 };
}

function combine(runs: Run[]): Run {
  const latenciesMs = new Float64Array(runs.reduce((n, r) => n + r.latenciesMs.length, 0));
  let offset = 0;
  for (const run of runs) {
    latenciesMs.set(run.latenciesMs, offset);
    offset += run.latenciesMs.length;
  }
  return {
    seconds: runs.reduce((n, r) => n + r.seconds, 0),
    latenciesMs,
    non200: runs.reduce((n, r) => n + r.non200, 0),
    cpuUs: runs.reduce((n, r) => n + r.cpuUs, 0),
  };
}

/** Signed and encrypted add events, each sealed twice (the first delivery and WeCom's retry). */
function makeEvents(corp: CallbackSecrets, count: number, prefix: string): { first: Request[]; replay: Request[] } {
  const first: Request[] = [];
  const replay: Request[] = [];
  const startTime = 1_716_201_000;
  for (let i = 0; i < count; i++) {
    const plaintext = buildXml({
      ToUserName: corp.corpId,
      FromUserName: 'sys',
      CreateTime: startTime + Math.floor(i / 50), // 50 customers added per second: same-second events must stay apart
      MsgType: 'event',
      Event: 'change_external_contact',
      ChangeType: 'add_external_contact',
      UserID: `am${String(i % 40).padStart(3, '0')}`,
      ExternalUserID: `wm${prefix}${String(i).padStart(8, '0')}AbCdEfGhIjKlMnOp`,
      State: `branch-${i % 12}`,
      WelcomeCode: randomBytes(16).toString('base64url'),
    });
    for (const [list, delay] of [[first, 0], [replay, 5]] as const) {
      const sealed = sealEnvelope(corp, plaintext, { timestamp: String(startTime + Math.floor(i / 50) + delay), agentId: 1000002 });
      const query = new URLSearchParams(sealed.query).toString();
      list.push({ path: `/wecom/callback/${corp.corpId}?${query}`, body: Buffer.from(sealed.body) });
    }
  }
  return { first, replay };
}

/** Every first delivery, each retry following about `lag` requests later, as WeCom retries after a timeout. */
function interleave({ first, replay }: { first: Request[]; replay: Request[] }, lag = 256): Request[] {
  const out: Request[] = [];
  for (let i = 0; i < first.length; i++) {
    out.push(first[i]!);
    if (i >= lag) out.push(replay[i - lag]!);
  }
  for (let i = Math.max(0, first.length - lag); i < replay.length; i++) out.push(replay[i]!);
  return out;
}

function send(agent: http.Agent, port: number, request: Request): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: '127.0.0.1', port, method: 'POST', path: request.path, headers: { 'content-type': 'text/xml', 'content-length': request.body.length } },
      (res) => {
        res.on('data', () => undefined);
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(request.body);
  });
}

/** Closed loop: `concurrency` senders, each sending its next request when the last one is answered. */
async function closedLoop(port: number, requests: Request[], concurrency: number, label: string): Promise<Run> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latenciesMs = new Float64Array(requests.length);
  let next = 0;
  let non200 = 0;
  const progressEvery = Math.max(1, Math.floor(requests.length / 5));
  const cpuStarted = cpuNow();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests.length) {
        const index = next++;
        const t0 = performance.now();
        const status = await send(agent, port, requests[index]!);
        latenciesMs[index] = performance.now() - t0;
        if (status !== 200) non200++;
        if ((index + 1) % progressEvery === 0) say(`${label}: ${index + 1}/${requests.length}`);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpuUs = cpuNow() - cpuStarted;
  agent.destroy();
  return { seconds, latenciesMs, non200, cpuUs };
}

/** Open loop: request i is sent at start + i/rps, whether or not earlier ones were answered. */
async function paced(port: number, requests: Request[], rps: number, maxSockets: number, label: string): Promise<Run> {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const latenciesMs = new Float64Array(requests.length);
  const interval = 1000 / rps;
  let non200 = 0;
  const pending: Promise<void>[] = [];
  const cpuStarted = cpuNow();
  const started = performance.now();
  let next = 0;
  let reported = 0;
  while (next < requests.length) {
    const now = performance.now();
    while (next < requests.length && started + next * interval <= now) {
      const index = next++;
      const t0 = performance.now();
      pending.push(
        send(agent, port, requests[index]!).then((status) => {
          latenciesMs[index] = performance.now() - t0;
          if (status !== 200) non200++;
        }),
      );
    }
    if (now - started - reported >= 2000) {
      reported = now - started;
      say(`${label}: ${next}/${requests.length} sent`);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  const seconds = (performance.now() - started) / 1000;
  const cpuUs = cpuNow() - cpuStarted;
  agent.destroy();
  return { seconds, latenciesMs, non200, cpuUs };
}

function listen(app: Koa<AppState>): Promise<http.Server> {
  const server = http.createServer(app.callback());
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
const portOf = (server: http.Server) => (server.address() as net.AddressInfo).port;
const close = (server: http.Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

async function main() {
  const logger = createLogger({ level: process.env.BENCH_LOG_LEVEL ?? 'warn', destination: pino.destination(2) });
  const { adminUrl, embedded } = await benchServer('.data/bench', logger);
  const dbName = `scrm_bench_${process.pid}_${Date.now()}`;
  const url = await ensureDatabase(adminUrl, dbName);
  const database = openDatabase({ url, poolMax: POOL_MAX, logger, applicationName: 'bench-callbacks' });
  const servers: http.Server[] = [];
  try {
    await migrateToLatest(database.db as unknown as Kysely<unknown>, logger);
    const cipher = new FieldCipher(FieldCipher.parseKeys(`b1:${randomBytes(32).toString('hex')}`), randomBytes(32));
    const corp: CallbackSecrets = { corpId: 'wwbench00000001', token: randomBytes(12).toString('base64url'), aesKey: randomBytes(32).toString('base64').slice(0, 43) };
    const pacedCorp: CallbackSecrets = { corpId: 'wwbench00000002', token: randomBytes(12).toString('base64url'), aesKey: randomBytes(32).toString('base64').slice(0, 43) };
    for (const c of [corp, pacedCorp]) await saveCorp(database.db, cipher, { ...c, name: c.corpId, apiBase: 'http://127.0.0.1:9/cgi-bin', source: 'console' });

    // The job runner is defined (enqueue needs the definitions) but not started: nothing is processed.
    const jobs = createJobRunner({ pool: database.pool, logger, processEveryMs: 60_000 });
    const noop = async () => undefined;
    const handlers: CallbackHandlers = { contact: noop, chat: noop, tag: noop, kf: noop, message: noop };
    defineCallbackJobs(jobs, { db: database.db, handlers, logger });
    const inbox = new Inbox({ db: database.db, jobs, logger, writeConcurrency: WRITE_CONCURRENCY, enqueueConcurrency: ENQUEUE_CONCURRENCY });

    const service = new Koa<AppState>();
    service.silent = true;
    service.use(callbackRouter({ registry: new CorpRegistry(database.db, cipher), inbox, logger }).routes());
    const bare = new Koa<AppState>();
    bare.silent = true;
    const bareRouter = new Router<AppState>();
    bareRouter.post(CALLBACK_PATH, (ctx) => {
      ctx.status = 200;
      ctx.body = '';
    });
    bare.use(bareRouter.routes());
    const [serviceServer, bareServer] = [await listen(service), await listen(bare)];
    servers.push(serviceServer, bareServer);

    say(`sealing ${EVENTS} + ${PACED_EVENTS} events, each twice`);
    const fullRequests = interleave(makeEvents(corp, EVENTS, 'a'));
    const pacedRequests = interleave(makeEvents(pacedCorp, PACED_EVENTS, 'p'));

    say('warming up both servers');
    await closedLoop(portOf(bareServer), fullRequests.slice(0, 2_000), CONCURRENCY, 'baseline warm-up');
    const warmCorp: CallbackSecrets = { ...corp, corpId: 'wwbench00000000' };
    await saveCorp(database.db, cipher, { ...warmCorp, name: warmCorp.corpId, apiBase: 'http://127.0.0.1:9/cgi-bin', source: 'console' });
    await closedLoop(portOf(serviceServer), interleave(makeEvents(warmCorp, 1_000, 'w')), CONCURRENCY, 'callbacks warm-up');
    await inbox.drain();

    const baselineRuns: Run[] = [];
    const callbackRuns: Run[] = [];
    let drainMs = 0;
    let drainCpuUs = 0;
    let backendMs: number | undefined = 0;
    const perRound = Math.ceil(fullRequests.length / ROUNDS);
    for (let round = 0; round < ROUNDS; round++) {
      const slice = fullRequests.slice(round * perRound, (round + 1) * perRound);
      const sides = [
        async () => {
          if (PHASES.has('baseline')) baselineRuns.push(await closedLoop(portOf(bareServer), slice, CONCURRENCY, `round ${round + 1} baseline`));
        },
        async () => {
          const backendBefore = await backendCpuMs(database.pool, dbName, embedded !== undefined);
          callbackRuns.push(await closedLoop(portOf(serviceServer), slice, CONCURRENCY, `round ${round + 1} callbacks`));
          // Let the background job inserts catch up, so they do not slow the next baseline; timed apart.
          const drainStarted = performance.now();
          const drainCpuStarted = cpuNow();
          await inbox.drain();
          drainMs += performance.now() - drainStarted;
          drainCpuUs += cpuNow() - drainCpuStarted;
          const spent = backendDelta(backendBefore, await backendCpuMs(database.pool, dbName, embedded !== undefined));
          backendMs = backendMs === undefined || spent === undefined ? undefined : backendMs + spent;
        },
      ];
      if (round % 2 === 1) sides.reverse();
      for (const side of sides) await side();
      const [b, c] = [baselineRuns.at(-1), callbackRuns.at(-1)!];
      say(`round ${round + 1}: baseline ${b ? round0(summary(b).rps) : '-'} rps, callbacks ${round0(summary(c).rps)} rps`);
    }
    const baseline = PHASES.has('baseline') ? summary(combine(baselineRuns)) : { rps: 0, p50: 0, p99: 0, max: 0 };
    const fullRun = combine(callbackRuns);
    const full = summary(fullRun);
    const sustainedRps = fullRun.latenciesMs.length / (fullRun.seconds + drainMs / 1000);
    say(`baseline: ${round0(baseline.rps)} rps, p50 ${round(baseline.p50, 2)} ms, p99 ${round(baseline.p99, 2)} ms`);
    say(`callbacks: ${round0(full.rps)} rps, p50 ${round(full.p50, 2)} ms, p99 ${round(full.p99, 2)} ms, max ${round(full.max, 1)} ms, non-200 ${fullRun.non200}`);
    say(`background job enqueues took ${round0(drainMs)} ms more to catch up: ${round0(sustainedRps)} rps sustained`);
    // CPU per request: this process (load generator and server) on each side, the drain counted with
    // the callbacks; and PostgreSQL's backends for the callbacks.
    const baselineRun = PHASES.has('baseline') ? combine(baselineRuns) : undefined;
    const cpuPerRequest = (fullRun.cpuUs + drainCpuUs) / fullRun.latenciesMs.length;
    const baselineCpuPerRequest = baselineRun ? baselineRun.cpuUs / baselineRun.latenciesMs.length : 0;
    const pgCpuPerRequest = backendMs === undefined ? undefined : (backendMs * 1000) / fullRun.latenciesMs.length;
    say(
      `CPU a request: node ${round0(cpuPerRequest)} µs (baseline ${round0(baselineCpuPerRequest)} µs), ` +
        `PostgreSQL ${pgCpuPerRequest === undefined ? 'not measured' : `${round0(pgCpuPerRequest)} µs`}`,
    );

    say(`callbacks paced at ${PACED_RPS} rps: ${pacedRequests.length} requests`);
    const pacedRun = PHASES.has('paced')
      ? await paced(portOf(serviceServer), pacedRequests, PACED_RPS, CONCURRENCY, 'paced')
      : await closedLoop(portOf(serviceServer), pacedRequests, CONCURRENCY, 'paced (unpaced)');
    const pacedStats = summary(pacedRun);
    await inbox.drain();
    say(`paced: ${round(pacedStats.rps, 0)} rps, p50 ${round(pacedStats.p50, 2)} ms, p99 ${round(pacedStats.p99, 2)} ms, max ${round(pacedStats.max, 1)} ms, non-200 ${pacedRun.non200}`);

    const counts = await database.pool.query<{ corp_id: string; rows: string; seen: string; jobs: string }>(
      `SELECT e.corp_id, count(*) AS rows, sum(e.seen_count) AS seen,
              count(*) FILTER (WHERE EXISTS (SELECT 1 FROM agenda_jobs j WHERE j.name = 'wecom.process-event' AND j.data ? 'jobKey' AND j.data->>'jobKey' = 'wecom-event:' || e.id)) AS jobs
         FROM wecom_events e GROUP BY e.corp_id`,
    );
    const of = (corpId: string) => counts.rows.find((r) => r.corp_id === corpId);
    const mainCounts = of(corp.corpId);
    const pacedCounts = of(pacedCorp.corpId);
    say(`inbox: ${JSON.stringify(counts.rows)}`);
    const problems: string[] = [];
    if (Number(mainCounts?.rows) !== EVENTS) problems.push(`inbox rows ${mainCounts?.rows} != ${EVENTS}`);
    if (Number(mainCounts?.seen) !== 2 * EVENTS) problems.push(`times seen ${mainCounts?.seen} != ${2 * EVENTS}`);
    if (Number(mainCounts?.jobs) !== EVENTS) problems.push(`jobs ${mainCounts?.jobs} != ${EVENTS}`);
    if (Number(pacedCounts?.rows) !== PACED_EVENTS) problems.push(`paced inbox rows ${pacedCounts?.rows} != ${PACED_EVENTS}`);
    if (fullRun.non200 || pacedRun.non200) problems.push(`non-200 answers: ${fullRun.non200} + ${pacedRun.non200}`);
    for (const problem of problems) say(`PROBLEM: ${problem}`);

    const result = {
      bench: 'callbacks',
      events: EVENTS,
      rps: round0(full.rps),
      p50_ms: round(full.p50, 2),
      p99_ms: round(pacedStats.p99, 2),
      p99_ms_max_rate: round(full.p99, 2),
      baseline_rps: round0(baseline.rps),
      ratio: round(full.rps / baseline.rps, 3),
      inbox_rows: Number(mainCounts?.rows ?? 0),
      paced_rps: round0(pacedStats.rps),
      paced_p50_ms: round(pacedStats.p50, 2),
      paced_events: PACED_EVENTS,
      sustained_rps: round0(sustainedRps),
      node_cpu_us: round0(cpuPerRequest),
      baseline_node_cpu_us: round0(baselineCpuPerRequest),
      pg_cpu_us: pgCpuPerRequest === undefined ? null : round0(pgCpuPerRequest),
      enqueue_drain_ms: round0(drainMs),
      records_per_statement: round(inbox.stats.records / Math.max(1, inbox.stats.statements), 1),
      jobs_per_enqueue: round(inbox.enqueueStats.ids / Math.max(1, inbox.enqueueStats.calls), 1),
      rounds: ROUNDS,
      concurrency: CONCURRENCY,
      pool_max: POOL_MAX,
      cpus: cpus().length,
      node: process.version,
      load_avg_1m: round(loadavg()[0] ?? 0, 2),
      ok: problems.length === 0,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    if (problems.length) process.exitCode = 1;
  } finally {
    for (const server of servers) await close(server);
    await database.close();
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    // The pool's sessions end a moment after pool.end() resolves: let them go before dropping.
    for (let i = 0; i < 50; i++) {
      const { rows } = await admin.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1', [dbName]);
      if (rows[0]?.n === '0') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch((error: unknown) => say(`could not drop ${dbName}: ${String(error)}`));
    await admin.end();
    await embedded?.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`[bench:callbacks] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
