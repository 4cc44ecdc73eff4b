/**
 * Benchmark of live updates (docs/benchmarks.md, "Realtime").
 *
 *   npm run bench:realtime            # or: npx tsx scripts/bench/realtime.ts
 *
 * Starts an embedded PostgreSQL under .data/bench-realtime (or uses BENCH_DATABASE_URL, a server
 * whose user may create databases), boots the app on a fresh database as a web process (ROLE=web,
 * REALTIME_ADAPTER=postgres), creates BENCH_CLIENTS staff members with one session each (the last
 * BENCH_CONSOLE_CLIENTS of them ops staff, who are also in the console room), and connects one
 * socket.io client per session from a second Node process (so that the clients' work does not run
 * on the server's event loop). Then, in BENCH_ROUNDS rounds, two phases each:
 *
 *  - product: the emit paths' own call, `toMember(staffId, …)` to a random member at BENCH_RATE
 *    events per second and `toConsole(…)` at BENCH_CONSOLE_RATE, for BENCH_SECONDS: each event is
 *    written to realtime_events, notified, read by the process's feed and sent to the room;
 *  - baseline: the same schedule as plain socket.io broadcasts (`io.to(room).emit`) on the same
 *    server: no durable write, no resume.
 *
 * Each event carries the wall-clock time it was emitted; the client process subtracts it from the
 * time of arrival (both clocks are the machine's). p50/p99 are over every delivery (one per member
 * event, one per console client per console event). The product phase also checks that each client
 * received its events once and in id order.
 *
 * Then two figures of the event log itself:
 *
 *  - burst: BENCH_BURST member events published in one loop, as fast as the writes go (one
 *    process; writes are serialised by the ordering lock and batched), until every client has its;
 *  - reconnect: every client disconnects, one event is published to each member, and all clients
 *    reconnect at once (50 handshakes at a time) with their last event id; each must get exactly
 *    its missed event before `ready`.
 *
 * Progress goes to stderr; the last line on stdout is one JSON object.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { pino } from 'pino';
import { io as connect, type Socket } from 'socket.io-client';
import { loadConfig } from '../../src/platform/config.js';
import { createLogger } from '../../src/platform/logger.js';
import { FieldCipher } from '../../src/platform/crypto.js';
import { ensureDatabase } from '../../src/platform/db/embedded.js';
import { startApp, type RunningApp } from '../../src/app.js';
import { createSession, SESSION_COOKIE } from '../../src/auth/index.js';
import { CONSOLE_ROOM, memberRoom } from '../../src/realtime/index.js';
import { benchServer } from './common.js';

const int = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
};
const CLIENTS = int('BENCH_CLIENTS', 1_000);
const CONSOLE_CLIENTS = Math.min(CLIENTS, int('BENCH_CONSOLE_CLIENTS', 50));
const RATE = int('BENCH_RATE', 500);
const CONSOLE_RATE = int('BENCH_CONSOLE_RATE', 5);
const SECONDS = int('BENCH_SECONDS', 10);
const ROUNDS = int('BENCH_ROUNDS', 2);
const BURST = int('BENCH_BURST', 10_000);

const say = (message: string) => process.stderr.write(`[bench:realtime] ${message}\n`);
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
/** Wall-clock milliseconds with sub-millisecond precision, comparable between processes. */
const wallMs = () => performance.timeOrigin + performance.now();

type Phase = 'product' | 'baseline' | 'burst';

/** Parent → clients. */
type Command =
  | { type: 'connect'; url: string; cookies: string[] }
  | { type: 'phase'; phase: Phase; expected: number }
  | { type: 'flush' }
  | { type: 'disconnect' }
  | { type: 'resume'; url: string; cookies: string[]; expected: number[][] }
  | { type: 'close' };

/** Clients → parent. */
type Report =
  | { type: 'connected'; clients: number; seconds: number }
  | { type: 'armed' }
  | { type: 'result'; phase: Phase; latencies: number[]; received: number; duplicates: number; outOfOrder: number }
  | { type: 'disconnected' }
  | { type: 'resumed'; seconds: number; replayed: number; wrong: number };

// ---------------------------------------------------------------------------------------------
// The client process: one socket.io client per session, latencies per delivery.
// ---------------------------------------------------------------------------------------------

function runClients() {
  const send = (report: Report) => process.send!(report);
  const sockets: Socket[] = [];
  let phase: Phase | undefined;
  let expected = 0;
  let latencies: number[] = [];
  let duplicates = 0;
  let outOfOrder = 0;
  /** Per client: the last event id received in the product phase. */
  let lastIds: number[] = [];
  /** Per client: the highest event id it knows (from `ready` and every event), sent when it reconnects. */
  const cursors: number[] = [];
  /** Per client, while reconnecting: the event ids replayed before `ready`. */
  let replayed: number[][] | undefined;

  const finish = () => {
    if (!phase) return;
    send({ type: 'result', phase, latencies, received: latencies.length, duplicates, outOfOrder });
    phase = undefined;
  };

  const onEvent = (index: number) => (_event: string, data: { sentAt?: number; eventId?: number }) => {
    if (typeof data?.eventId === 'number') {
      cursors[index] = Math.max(cursors[index] ?? 0, data.eventId);
      replayed?.[index]?.push(data.eventId);
    }
    if (!phase || typeof data?.sentAt !== 'number') return;
    latencies.push(wallMs() - data.sentAt);
    if (phase !== 'baseline' && typeof data.eventId === 'number') {
      if (data.eventId === lastIds[index]) duplicates++;
      else if (data.eventId < lastIds[index]!) outOfOrder++;
      lastIds[index] = Math.max(lastIds[index]!, data.eventId);
    }
    if (latencies.length >= expected) finish();
  };

  const open = (url: string, cookie: string, index: number, auth: { lastEventId?: number } = {}) =>
    new Promise<Socket>((resolve, reject) => {
      const socket = connect(url, { transports: ['websocket'], extraHeaders: { cookie }, reconnection: false, auth });
      socket.onAny(onEvent(index));
      socket.once('ready', (ready: { lastEventId: number }) => {
        cursors[index] = Math.max(cursors[index] ?? 0, ready.lastEventId);
        resolve(socket);
      });
      socket.once('connect_error', reject);
    });

  process.on('message', (command: Command) => {
    void (async () => {
      if (command.type === 'connect') {
        const started = performance.now();
        // 50 handshakes at a time: each resolves its session in the database.
        for (let i = 0; i < command.cookies.length; i += 50) {
          const batch = command.cookies.slice(i, i + 50).map((cookie, j) => open(command.url, cookie, i + j));
          sockets.push(...(await Promise.all(batch)));
        }
        send({ type: 'connected', clients: sockets.length, seconds: (performance.now() - started) / 1000 });
      } else if (command.type === 'phase') {
        phase = command.phase;
        expected = command.expected;
        latencies = [];
        duplicates = 0;
        outOfOrder = 0;
        lastIds = sockets.map(() => 0);
        send({ type: 'armed' });
      } else if (command.type === 'flush') {
        finish();
      } else if (command.type === 'disconnect') {
        for (const socket of sockets.splice(0)) socket.close();
        send({ type: 'disconnected' });
      } else if (command.type === 'resume') {
        const started = performance.now();
        replayed = command.cookies.map(() => []);
        for (let i = 0; i < command.cookies.length; i += 50) {
          const batch = command.cookies.slice(i, i + 50).map((cookie, j) => open(command.url, cookie, i + j, { lastEventId: cursors[i + j] }));
          sockets.push(...(await Promise.all(batch)));
        }
        const seconds = (performance.now() - started) / 1000;
        const got = replayed;
        replayed = undefined;
        const wrong = got.filter((ids, i) => JSON.stringify(ids) !== JSON.stringify(command.expected[i])).length;
        send({ type: 'resumed', seconds, replayed: got.reduce((n, ids) => n + ids.length, 0), wrong });
      } else {
        for (const socket of sockets) socket.close();
        process.exit(0);
      }
    })();
  });
}

// ---------------------------------------------------------------------------------------------
// The server process: the app, the sessions, the schedule.
// ---------------------------------------------------------------------------------------------

const percentile = (sorted: Float64Array, p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

class ClientProcess {
  private readonly child: ChildProcess;
  private waiting: ((report: Report) => void)[] = [];

  constructor() {
    this.child = fork(fileURLToPath(import.meta.url), ['clients'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (report: Report) => this.waiting.shift()?.(report));
    this.child.on('exit', (code) => {
      if (code) say(`client process exited with ${code}`);
    });
  }

  /** Sends a command and resolves with the next report. */
  ask<T extends Report['type']>(command: Command, expect: T): Promise<Extract<Report, { type: T }>> {
    return new Promise((resolve, reject) => {
      this.waiting.push((report) => (report.type === expect ? resolve(report as Extract<Report, { type: T }>) : reject(new Error(`expected ${expect}, got ${report.type}`))));
      this.child.send(command);
    });
  }

  /** Resolves with the next report, or after `ms` asks for what arrived so far. */
  async result(ms: number): Promise<Extract<Report, { type: 'result' }>> {
    const report = new Promise<Report>((resolve) => this.waiting.push(resolve));
    const timer = setTimeout(() => this.child.send({ type: 'flush' } satisfies Command), ms);
    const r = await report;
    clearTimeout(timer);
    if (r.type !== 'result') throw new Error(`expected result, got ${r.type}`);
    return r;
  }

  close() {
    this.child.send({ type: 'close' } satisfies Command);
  }
}

interface PhaseRun {
  latencies: number[];
  expected: number;
  received: number;
  duplicates: number;
  outOfOrder: number;
}

/** Open loop: event i is emitted at start + i/rate, whether or not earlier ones arrived. */
async function runPhase(app: RunningApp, clients: ClientProcess, members: string[], phase: Phase): Promise<PhaseRun> {
  const realtime = app.realtime!;
  const memberEvents = RATE * SECONDS;
  const consoleEvents = CONSOLE_RATE * SECONDS;
  const expected = memberEvents + consoleEvents * CONSOLE_CLIENTS;
  await clients.ask({ type: 'phase', phase, expected }, 'armed');
  const emit =
    phase === 'product'
      ? { member: (id: string, data: object) => realtime.toMember(id, 'task.created', data), console: (data: object) => realtime.toConsole('masssend.progress', data) }
      : { member: (id: string, data: object) => void realtime.io.to(memberRoom(id)).emit('task.created', data), console: (data: object) => void realtime.io.to(CONSOLE_ROOM).emit('masssend.progress', data) };
  const result = clients.result(SECONDS * 1000 + 30_000);
  const started = performance.now();
  let sentMember = 0;
  let sentConsole = 0;
  while (sentMember < memberEvents || sentConsole < consoleEvents) {
    const elapsed = performance.now() - started;
    while (sentMember < memberEvents && (sentMember * 1000) / RATE <= elapsed) {
      emit.member(members[(sentMember * 7919) % members.length]!, { title: '回访客户', seq: sentMember, sentAt: wallMs() });
      sentMember++;
    }
    while (sentConsole < consoleEvents && (sentConsole * 1000) / CONSOLE_RATE <= elapsed) {
      emit.console({ massSendId: 'bench', sent: sentConsole, sentAt: wallMs() });
      sentConsole++;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  const r = await result;
  return { latencies: r.latencies, expected, received: r.received, duplicates: r.duplicates, outOfOrder: r.outOfOrder };
}

function summary(runs: PhaseRun[]) {
  const all = Float64Array.from(runs.flatMap((r) => r.latencies)).sort();
  return {
    p50: percentile(all, 50),
    p99: percentile(all, 99),
    max: all[all.length - 1] ?? NaN,
    expected: runs.reduce((n, r) => n + r.expected, 0),
    received: runs.reduce((n, r) => n + r.received, 0),
    duplicates: runs.reduce((n, r) => n + r.duplicates, 0),
    outOfOrder: runs.reduce((n, r) => n + r.outOfOrder, 0),
  };
}

async function main() {
  const logger = createLogger({ level: process.env.BENCH_LOG_LEVEL ?? 'warn', destination: pino.destination(2) });
  const { adminUrl, embedded } = await benchServer('.data/bench-realtime', logger);
  const dbName = `scrm_bench_rt_${process.pid}_${Date.now()}`;
  const databaseUrl = await ensureDatabase(adminUrl, dbName);
  let app: RunningApp | undefined;
  let clients: ClientProcess | undefined;
  try {
    const config = loadConfig({
      NODE_ENV: 'development',
      ROLE: 'web',
      PORT: '0',
      HOST: '127.0.0.1',
      SANDBOX: 'true',
      SANDBOX_PORT: '0',
      DEMO_CUSTOMERS: '0',
      DEMO_ADMIN_PASSWORD: randomBytes(12).toString('base64url'),
      DEMO_SCORE_ON_SEED: 'false',
      WECOM_SYNC_ON_START: 'false',
      DATA_DIR: mkdtempSync(path.join(tmpdir(), 'scrm-bench-realtime-')),
      REALTIME_ADAPTER: 'postgres',
      LOG_LEVEL: 'warn',
    });
    const cipher = new FieldCipher(FieldCipher.parseKeys(`b1:${randomBytes(32).toString('hex')}`), randomBytes(32));
    say('booting the app');
    app = await startApp({ config, logger, databaseUrl, cipher });
    const { db } = app.database;

    say(`creating ${CLIENTS} staff members and sessions`);
    const branches = (await db.selectFrom('branches').select('id').orderBy('id').execute()).map((b) => b.id);
    const staff = await db
      .insertInto('staff')
      .values(
        Array.from({ length: CLIENTS }, (_, i) => ({
          username: `bench${String(i).padStart(5, '0')}`,
          display_name: `压测客户经理${i}`,
          role: i >= CLIENTS - CONSOLE_CLIENTS ? ('ops' as const) : ('account_manager' as const),
          branch_id: branches[i % branches.length]!,
          corp_id: null,
          wecom_userid: null,
          title: null,
          password_hash: null,
        })),
      )
      .returning('id')
      .execute();
    const cookies: string[] = [];
    for (let i = 0; i < staff.length; i += 50) {
      const sessions = await Promise.all(staff.slice(i, i + 50).map((s) => createSession(db, s.id, 12, { ip: '127.0.0.1', userAgent: 'bench' })));
      cookies.push(...sessions.map((s) => `${SESSION_COOKIE}=${s.token}`));
    }
    const members = staff.map((s) => s.id);

    clients = new ClientProcess();
    const connected = await clients.ask({ type: 'connect', url: app.url, cookies }, 'connected');
    say(`${connected.clients} clients connected in ${round(connected.seconds, 1)} s`);

    const runs: Record<'product' | 'baseline', PhaseRun[]> = { product: [], baseline: [] };
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate which phase goes first, so that load from elsewhere on the machine falls on both alike.
      const order: ('product' | 'baseline')[] = r % 2 === 0 ? ['product', 'baseline'] : ['baseline', 'product'];
      for (const phase of order) {
        const run = await runPhase(app, clients, members, phase);
        const s = summary([run]);
        say(`round ${r + 1} ${phase}: p50 ${round(s.p50, 2)} ms, p99 ${round(s.p99, 2)} ms, ${s.received}/${s.expected} delivered, load ${round(loadavg()[0] ?? 0, 2)}`);
        runs[phase].push(run);
      }
    }
    // Burst: as fast as one process can write; the schedule is a loop, not a rate.
    await clients.ask({ type: 'phase', phase: 'burst', expected: BURST }, 'armed');
    const burstResult = clients.result(120_000);
    const burstStarted = performance.now();
    for (let i = 0; i < BURST; i++) app.realtime!.toMember(members[(i * 7919) % members.length]!, 'task.created', { seq: i, sentAt: wallMs() });
    const burst = await burstResult;
    const burstSeconds = (performance.now() - burstStarted) / 1000;
    say(`burst: ${burst.received}/${BURST} delivered in ${round(burstSeconds, 2)} s`);

    // Reconnect: everyone away, one event each, everyone back at once.
    await clients.ask({ type: 'disconnect' }, 'disconnected');
    const missed = await Promise.all(members.map((id) => app!.realtime!.publish(memberRoom(id), 'task.created', { title: '离线期间的任务' })));
    const resumed = await clients.ask({ type: 'resume', url: app.url, cookies, expected: missed.map((id) => [id]) }, 'resumed');
    say(`reconnect: ${CLIENTS} clients resumed in ${round(resumed.seconds, 2)} s, ${resumed.replayed} events replayed, ${resumed.wrong} wrong`);

    const product = summary(runs.product);
    const baseline = summary(runs.baseline);
    const rows = await db.selectFrom('realtime_events').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();

    const problems: string[] = [];
    if (product.received !== product.expected) problems.push(`product: ${product.received} of ${product.expected} deliveries arrived`);
    if (baseline.received !== baseline.expected) problems.push(`baseline: ${baseline.received} of ${baseline.expected} deliveries arrived`);
    if (product.duplicates || product.outOfOrder) problems.push(`product: ${product.duplicates} duplicates, ${product.outOfOrder} out of order`);
    if (burst.received !== BURST || burst.duplicates || burst.outOfOrder) problems.push(`burst: ${burst.received} of ${BURST} delivered, ${burst.duplicates} duplicates, ${burst.outOfOrder} out of order`);
    if (resumed.wrong) problems.push(`reconnect: ${resumed.wrong} clients did not get exactly their missed event`);
    const written = ROUNDS * (RATE + CONSOLE_RATE) * SECONDS + BURST + CLIENTS;
    if (Number(rows.n) !== written) problems.push(`realtime_events has ${rows.n} rows, expected ${written}`);
    for (const problem of problems) say(`PROBLEM: ${problem}`);

    const result = {
      bench: 'realtime',
      clients: CLIENTS,
      p50_ms: round(product.p50, 2),
      p99_ms: round(product.p99, 2),
      baseline_p50_ms: round(baseline.p50, 2),
      baseline_p99_ms: round(baseline.p99, 2),
      max_ms: round(product.max, 1),
      baseline_max_ms: round(baseline.max, 1),
      deliveries: product.received,
      burst_events: BURST,
      burst_events_per_second: Math.round(BURST / burstSeconds),
      reconnect_all_ms: Math.round(resumed.seconds * 1000),
      reconnect_replayed: resumed.replayed,
      events_per_second: RATE + CONSOLE_RATE,
      console_clients: CONSOLE_CLIENTS,
      seconds: SECONDS,
      rounds: ROUNDS,
      adapter: config.REALTIME_ADAPTER,
      cpus: cpus().length,
      node: process.version,
      load_avg_1m: round(loadavg()[0] ?? 0, 2),
      ok: problems.length === 0,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    if (problems.length) process.exitCode = 1;
  } finally {
    clients?.close();
    await app?.close();
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    // The pools' sessions end a moment after their pools do: let them go before dropping.
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

if (process.argv[2] === 'clients') runClients();
else
  main().catch((error: unknown) => {
    say(`failed: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(1);
  });
