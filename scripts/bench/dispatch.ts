/**
 * `npm run bench:dispatch`: enrol 100,000 customers into a send journey and drain the outbox to the
 * WeCom sandbox within a rate budget.
 *
 * In one process: an embedded PostgreSQL under .data/bench-dispatch (or BENCH_DATABASE_URL, a server whose
 * user may create databases), a fresh database, and the WeCom sandbox with a world large enough for
 * BENCH_CUSTOMERS contacts. Every contact becomes a bank customer who follows their member. A journey
 * (a schedule trigger, one personalised send, so every customer is one add_msg_template call) is
 * published and fired once: the enrolment of every customer is timed (`enroll_s`). Then the SOP engine
 * runs the send steps while the outbox dispatcher drains to the sandbox with a budget of
 * BENCH_BUDGET_PER_MIN calls a minute (the sandbox enforces WeCom's 10,000 a minute); for
 * BENCH_DRAIN_SECONDS the calls are counted, after a warm-up that empties the budget's initial burst.
 *
 * The baseline, in the same run: the same enrolment one customer at a time (the per-event path),
 * over BENCH_BASELINE_CUSTOMERS customers of a second template (`baseline_enroll_per_s`).
 *
 * The last line is one JSON object:
 * {"bench":"dispatch","enrolled":N,"enroll_s":…,"sent":N,"budget_per_min":…,"achieved_per_min":…,"efficiency":…,"errors_45009":0,"duplicates":0,…}
 */
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { sql, type Kysely } from 'kysely';
import { pino } from 'pino';
import { benchServer } from './common.js';
import { createLogger } from '../../src/platform/logger.js';
import { FieldCipher } from '../../src/platform/crypto.js';
import { createMetrics } from '../../src/platform/metrics.js';
import { ensureDatabase } from '../../src/platform/db/embedded.js';
import { migrateToLatest, openDatabase } from '../../src/platform/db/database.js';
import { ComplianceGate } from '../../src/compliance/index.js';
import { OutboxDispatcher } from '../../src/outbox/index.js';
import { CorpRegistry, saveCorp } from '../../src/wecom/corps.js';
import { RateBudget, TokenStore, WeComGateway } from '../../src/wecom/client/index.js';
import { startSandbox } from '../../src/wecom/sandbox/index.js';
import { advanceDueSteps, enrollSelection, enrollTarget, publishTemplate, saveDraft, templateSchema } from '../../src/sop/index.js';

const int = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
};
const CUSTOMERS = int('BENCH_CUSTOMERS', 100_000);
const BUDGET = int('BENCH_BUDGET_PER_MIN', 6_000);
const DRAIN_SECONDS = int('BENCH_DRAIN_SECONDS', 90);
const WARMUP_SECONDS = int('BENCH_WARMUP_SECONDS', 15);
const BASELINE_CUSTOMERS = int('BENCH_BASELINE_CUSTOMERS', 2_000);
const CONCURRENCY = int('BENCH_CONCURRENCY', 16);

const say = (message: string) => process.stderr.write(`[bench:dispatch] ${message}\n`);
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const CORP = { corpId: 'wwbenchdispatch01', agentId: 1000002, agentSecret: randomBytes(16).toString('hex'), contactSecret: randomBytes(16).toString('hex'), token: randomBytes(12).toString('base64url'), aesKey: randomBytes(32).toString('base64').slice(0, 43) };

const journey = (key: string) =>
  templateSchema.parse({
    key,
    name: '营业时间调整通知',
    trigger: { type: 'schedule', cron: '0 10 * * *' },
    exit: { unsubscribed: false },
    steps: [{ id: 'notice', type: 'send', purpose: 'service', text: '{称呼}您好，本周六起您所在网点营业时间调整为9:00-17:00，欢迎预约办理业务。' }],
  });

async function main() {
  const logger = createLogger({ level: process.env.BENCH_LOG_LEVEL ?? 'warn', destination: pino.destination(2) });
  const { adminUrl, embedded } = await benchServer('.data/bench-dispatch', logger);
  const url = await ensureDatabase(adminUrl, `scrm_bench_dispatch_${process.pid}_${Date.now()}`);
  const database = openDatabase({ url, poolMax: 10, logger, applicationName: 'bench-dispatch' });
  const { db } = database;
  // About one synthetic customer in five is a WeCom contact in the sandbox world.
  say(`building the sandbox world for ${CUSTOMERS} contacts`);
  const sandbox = await startSandbox({ ...CORP, callbackToken: CORP.token, callbackAesKey: CORP.aesKey, customers: Math.ceil((CUSTOMERS + BASELINE_CUSTOMERS) * 5.1), port: 0, host: '127.0.0.1', controlApi: false, logger });
  let dispatcher: OutboxDispatcher | undefined;
  try {
    await migrateToLatest(db as unknown as Kysely<unknown>, logger);
    const cipher = new FieldCipher(FieldCipher.parseKeys(`b1:${randomBytes(32).toString('hex')}`), randomBytes(32));
    await saveCorp(db, cipher, { corpId: CORP.corpId, name: 'bench', agentId: CORP.agentId, token: CORP.token, aesKey: CORP.aesKey, agentSecret: CORP.agentSecret, contactSecret: CORP.contactSecret, apiBase: sandbox.apiBase, source: 'console' });
    await db.insertInto('settings').values({ key: 'outbound.quietHours', value: JSON.stringify({ start: '00:00', end: '00:00', timezone: 'Asia/Shanghai' }) }).execute();

    // Every sandbox contact becomes a bank customer linked to it, followed by its member.
    const world = sandbox.world;
    const follows: { userid: string; external: string; name: string; gender: number | null }[] = [];
    // One relation per contact (the world's follows are keyed by relation; a scan per contact would be quadratic).
    const taken = new Set<string>();
    for (const relation of world.follows.values()) {
      const contact = world.contacts.get(relation.external_userid);
      if (!contact || taken.has(contact.external_userid)) continue;
      taken.add(contact.external_userid);
      follows.push({ userid: relation.userid, external: contact.external_userid, name: contact.name, gender: contact.gender ?? null });
      if (follows.length === CUSTOMERS + BASELINE_CUSTOMERS) break;
    }
    if (follows.length < CUSTOMERS + BASELINE_CUSTOMERS) throw new Error(`the sandbox world has only ${follows.length} contacts`);
    say(`writing ${follows.length} customers, contacts and follow relations`);
    for (let i = 0; i < follows.length; i += 20_000) {
      const chunk = follows.slice(i, i + 20_000);
      await sql`
        WITH c AS (
          INSERT INTO customers (cif_no, name, gender, marketing_consent, attrs)
          SELECT 'B' || lpad(n::text, 8, '0'), f.name, CASE f.gender WHEN 1 THEN 'M' WHEN 2 THEN 'F' END, true, '{}'::jsonb
            FROM unnest(${chunk.map((f) => f.name)}::text[], ${chunk.map((f) => f.gender)}::int[], ${chunk.map((_, j) => i + j)}::int[]) AS f(name, gender, n)
          RETURNING id, cif_no),
        e AS (
          INSERT INTO external_contacts (corp_id, external_userid, name, gender, customer_id)
          SELECT ${CORP.corpId}, f.external, f.name, f.gender, c.id
            FROM unnest(${chunk.map((f) => f.external)}::text[], ${chunk.map((f) => f.name)}::text[], ${chunk.map((f) => f.gender)}::int[], ${chunk.map((_, j) => i + j)}::int[]) AS f(external, name, gender, n)
            JOIN c ON c.cif_no = 'B' || lpad(f.n::text, 8, '0')
          RETURNING external_userid)
        INSERT INTO follow_relations (corp_id, userid, external_userid, remark_mobiles, add_way, added_at)
        SELECT ${CORP.corpId}, f.userid, f.external, '{}', 1, now() - interval '30 days'
          FROM unnest(${chunk.map((f) => f.userid)}::text[], ${chunk.map((f) => f.external)}::text[]) AS f(userid, external)`.execute(db);
    }
    await sql`ANALYZE`.execute(db);
    const baselineIds = (await db.selectFrom('customers').select('id').orderBy('cif_no', 'desc').limit(BASELINE_CUSTOMERS).execute()).map((r) => r.id);

    const gate = new ComplianceGate({ db });
    const metrics = createMetrics({ defaults: false });
    const gateway = new WeComGateway({
      registry: new CorpRegistry(db, cipher),
      tokens: new TokenStore(db, cipher),
      budget: new RateBudget({ perMinute: BUDGET, blockMs: 60_000 }),
      metrics,
      logger,
      options: { timeoutMs: 10_000, retries: 3 },
    });

    // The journey, published: one enrolment statement for every customer of the firing.
    const main = await saveDraft(db, journey('bench-notice'), { source: 'console' });
    const version = await publishTemplate(db, main.id, null);
    const firedAt = new Date();
    say(`enrolling ${CUSTOMERS} customers`);
    const t0 = performance.now();
    const occurrence = firedAt.toISOString();
    const everyone = sql<{ customer_id: string; occurrence: string; context: unknown }>`
      SELECT c.id AS customer_id, ${occurrence}::text AS occurrence, '{}'::jsonb AS context FROM customers c WHERE c.id <> ALL(${baselineIds}::uuid[])`;
    const enrolled = (await enrollSelection(db, { ...version, key: 'bench-notice' }, everyone, { occurrence, cause: { type: 'system', id: 'bench' }, now: firedAt })).enrollmentIds.length;
    const enrollSeconds = (performance.now() - t0) / 1000;
    say(`enrolled ${enrolled} in ${round(enrollSeconds)} s`);

    // The baseline: the per-event path, one customer at a time, into a second template.
    const other = await saveDraft(db, journey('bench-baseline'), { source: 'console' });
    const otherVersion = await publishTemplate(db, other.id, null);
    const tb = performance.now();
    for (const customerId of baselineIds) await enrollTarget(db, { ...otherVersion, key: 'bench-baseline' }, { customerId }, { occurrence: 'baseline', cause: { type: 'system', id: 'bench' }, now: firedAt });
    const baselinePerS = BASELINE_CUSTOMERS / ((performance.now() - tb) / 1000);
    await db.updateTable('sop_templates').set({ status: 'paused' }).where('id', '=', other.id).execute();
    say(`baseline: ${round(baselinePerS, 0)} enrolments/s one at a time, ${round(enrolled / enrollSeconds, 0)}/s set-based`);

    // Drain: the engine writes the messages while the dispatcher sends them.
    const engine = { db, gate, gateway, logger };
    let producing = true;
    const producer = (async () => {
      while (producing) {
        const r = await advanceDueSteps(engine, { batch: 500, concurrency: 8, maxRounds: 1 });
        if (!r.processed) await sleep(200);
      }
    })();
    dispatcher = new OutboxDispatcher({ db, gateway, logger, databaseUrl: url, concurrency: CONCURRENCY, pollMs: 200 });
    await dispatcher.start();
    const sentCalls = () => metrics.wecomCalls.get().then((m) => m.values.filter((v) => v.labels.api === 'externalcontact/add_msg_template').reduce((n, v) => n + v.value, 0));
    say(`draining for ${WARMUP_SECONDS} s of warm-up and ${DRAIN_SECONDS} s measured, budget ${BUDGET}/min`);
    await sleep(WARMUP_SECONDS * 1000);
    const callsAtStart = await sentCalls();
    const tStart = performance.now();
    const cpuStart = process.cpuUsage();
    await sleep(DRAIN_SECONDS * 1000);
    const callsAtEnd = await sentCalls();
    const minutes = (performance.now() - tStart) / 60_000;
    const cpu = process.cpuUsage(cpuStart);
    producing = false;
    await producer;
    await dispatcher.stop();
    dispatcher = undefined;

    const achieved = (callsAtEnd - callsAtStart) / minutes;
    const errors = (await metrics.wecomCalls.get()).values.filter((v) => String(v.labels.errcode) === '45009').reduce((n, v) => n + v.value, 0);
    const sent = Number((await sql<{ n: string }>`SELECT count(*) AS n FROM outbox WHERE status = 'sent'`.execute(db)).rows[0]!.n);
    // Duplicates, as WeCom sees them: a recipient in more than one task, or twice in one.
    const seen = new Map<string, number>();
    for (const task of world.massSends.values()) for (const s of task.senders) for (const t of s.targets) seen.set(t.id, (seen.get(t.id) ?? 0) + 1);
    const duplicates = [...seen.values()].filter((n) => n > 1).length;
    const steps = await sql<{ status: string; n: string }>`SELECT status, count(*) AS n FROM sop_step_runs GROUP BY status`.execute(db);
    const result = {
      bench: 'dispatch',
      enrolled,
      enroll_s: round(enrollSeconds),
      sent,
      budget_per_min: BUDGET,
      achieved_per_min: round(achieved, 0),
      efficiency: round(achieved / BUDGET, 3),
      errors_45009: errors,
      duplicates,
      baseline_enroll_per_s: round(baselinePerS, 0),
      set_enroll_per_s: round(enrolled / enrollSeconds, 0),
      tasks_in_wecom: world.massSends.size,
      step_runs: Object.fromEntries(steps.rows.map((r) => [r.status, Number(r.n)])),
      drain_s: round(minutes * 60, 1),
      node_cpu_s: round((cpu.user + cpu.system) / 1e6, 1),
      concurrency: CONCURRENCY,
      cpus: cpus().length,
      load_average: loadavg().map((n) => round(n)),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    if (duplicates || errors || result.efficiency < 0.9 || enrollSeconds > 10) process.exitCode = 1;
  } finally {
    await dispatcher?.stop();
    await sandbox.close();
    await database.close();
    await embedded?.stop();
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
