import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { sql } from 'kysely';
import { ComplianceGate } from '../src/compliance/index.js';
import { createLogger } from '../src/platform/logger.js';
import { openDatabase, type DatabaseHandle } from '../src/platform/db/database.js';
import { TEST_CORP } from '../src/wecom/sandbox/testing.js';
import { createTestDatabase, TEST_FIELD_KEYS, TEST_HMAC_KEY } from './harness.js';

/**
 * Exactly once across crashes, with real processes: the sandbox runs in its own process
 * (scripts/sandbox.ts), the product's worker (src/main.ts, ROLE=worker) drains an outbox of 10,000
 * customers to it, is killed with SIGKILL halfway and started again, or runs twice at once; every
 * customer must receive the message once and only once.
 */
const CUSTOMERS = 10_000;

interface SandboxInfo {
  url: string;
  apiBase: string;
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

/** Keeps the last few KB a child printed, for the failure message. */
function capture(child: ChildProcess): () => string {
  let tail = '';
  const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-6000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => tail;
}

async function startSandboxProcess(): Promise<{ child: ChildProcess; info: SandboxInfo; output: () => string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'scripts/sandbox.ts', '--port', '0', '--customers', '50000', '--corp-id', TEST_CORP.corpId, '--agent-id', String(TEST_CORP.agentId),
      '--agent-secret', TEST_CORP.agentSecret, '--contact-secret', TEST_CORP.contactSecret, '--token', TEST_CORP.callbackToken, '--aes-key', TEST_CORP.callbackAesKey],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let errors = '';
  child.stderr!.on('data', (d: Buffer) => (errors += d.toString()));
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', () => reject(new Error(`sandbox exited: ${errors}`)));
  });
  lines.close();
  return { child, info: JSON.parse(first) as SandboxInfo, output: () => errors };
}

function startWorker(sandbox: SandboxInfo, databaseUrl: string, name: string): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      ROLE: 'worker',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      DATA_DIR: mkdtempSync(path.join(tmpdir(), `scrm-${name}-`)),
      DATABASE_URL: databaseUrl,
      FIELD_KEYS: TEST_FIELD_KEYS,
      HMAC_KEY: TEST_HMAC_KEY,
      SANDBOX: 'false',
      WECOM_CORP_ID: TEST_CORP.corpId,
      WECOM_CALLBACK_TOKEN: TEST_CORP.callbackToken,
      WECOM_CALLBACK_AES_KEY: TEST_CORP.callbackAesKey,
      WECOM_AGENT_ID: String(TEST_CORP.agentId),
      WECOM_AGENT_SECRET: TEST_CORP.agentSecret,
      WECOM_CONTACT_SECRET: TEST_CORP.contactSecret,
      WECOM_API_BASE: sandbox.apiBase,
      WECOM_SYNC_ON_START: 'false',
      WECOM_API_TIMEOUT_MS: '1000',
      OUTBOX_LEASE_MS: '3000',
      OUTBOX_BATCH_MAX: '25',
      OUTBOX_POLL_MS: '500',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { child, output: capture(child) };
}

const control = async (sandbox: SandboxInfo, method: string, route: string, body?: unknown) => {
  const response = await fetch(`${sandbox.url}/sandbox/${route}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  if (response.status !== 200) throw new Error(`${method} ${route}: ${response.status} ${await response.text()}`);
  return response.json() as Promise<any>;
};

/**
 * What a mass send's fan-out writes: one pending row per customer, grouped per sending member, with
 * the compliance gate's verdict on the text (judged once: every row carries the same text). Written
 * in one statement, so that the test spends its time on sending rather than on queueing.
 */
async function queueMassSend(handle: DatabaseHandle, sandbox: SandboxInfo, tag: string): Promise<string[]> {
  const follows = ((await control(sandbox, 'GET', 'world/follows')) as { userid: string; external_userid: string }[]).slice(0, CUSTOMERS);
  expect(follows).to.have.length(CUSTOMERS);
  // Whenever the test runs, not inside the default quiet hours.
  await handle.db.insertInto('settings').values({ key: 'outbound.quietHours', value: JSON.stringify({ start: '00:00', end: '00:00', timezone: 'Asia/Shanghai' }) }).execute();
  const decision = await new ComplianceGate({ db: handle.db }).checkMessage({ text: '尊敬的客户：本周六起西湖支行营业时间调整为 9:00–17:00，欢迎预约办理业务。', productIds: [], purpose: 'service' });
  expect(decision.verdict).to.equal('pass');
  await sql`
    INSERT INTO outbox (idempotency_key, corp_id, channel, recipient, sender, group_key, payload, purpose, verdict, findings, rule_set_version, cause_type, cause_id, ref_type, ref_id)
    SELECT ${tag} || ':' || f.recipient, ${TEST_CORP.corpId}, 'mass_single', f.recipient, f.sender, ${`mass:${tag}:`} || f.sender,
           ${JSON.stringify({ text: decision.text, attachments: [] })}::jsonb, 'service', ${decision.verdict}, ${JSON.stringify(decision.findings)}::jsonb, ${decision.ruleSetVersion}::int,
           'system', ${tag}, 'mass_send', ${tag}
      FROM unnest(${follows.map((f) => f.external_userid)}::text[], ${follows.map((f) => f.userid)}::text[]) AS f(recipient, sender)`.execute(handle.db);
  return follows.map((f) => f.external_userid);
}

const counts = async (handle: DatabaseHandle) => {
  const rows = await handle.db.selectFrom('outbox').select(['status', (eb) => eb.fn.countAll<string>().as('n')]).groupBy('status').execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)])) as Record<string, number>;
};

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms; worker output:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Confirms every task as its member would, then checks who received what. */
async function expectEachCustomerReceivedOnce(sandbox: SandboxInfo, handle: DatabaseHandle, customers: string[]): Promise<void> {
  const tasks = (await control(sandbox, 'GET', 'world/mass-sends')) as { msgid: string }[];
  for (const t of tasks) await control(sandbox, 'POST', 'simulate/mass-send/confirm', { msgid: t.msgid });
  const received = (await control(sandbox, 'GET', 'world/received?kind=mass')) as { to: string }[];
  const times = new Map<string, number>();
  for (const r of received) times.set(r.to, (times.get(r.to) ?? 0) + 1);
  const twice = [...times].filter(([, n]) => n > 1);
  expect(twice, `${twice.length} customers received the message more than once`).to.deep.equal([]);
  expect(customers.filter((c) => !times.has(c)), 'customers who received nothing').to.deep.equal([]);
  expect(received).to.have.length(customers.length);
  const c = await counts(handle);
  expect(c).to.deep.equal({ sent: customers.length });
  // Each task WeCom holds belongs to exactly one batch, and each row to the batch that sent it.
  const batches = await handle.db.selectFrom('outbox_batches').select(['msgid']).where('status', '=', 'sent').execute();
  expect(batches).to.have.length(tasks.length);
  const rowsPerMsgid = await sql<{ n: number }>`SELECT count(DISTINCT msgid)::int AS n FROM outbox`.execute(handle.db);
  expect(rowsPerMsgid.rows[0]!.n).to.equal(tasks.length);
}

describe('the outbox dispatcher across processes', function () {
  this.timeout(150_000);
  let sandbox: Awaited<ReturnType<typeof startSandboxProcess>> | undefined;
  let handle: DatabaseHandle | undefined;
  const workers: ChildProcess[] = [];

  beforeEach(async () => {
    sandbox = await startSandboxProcess();
    handle = openDatabase({ url: await createTestDatabase(), poolMax: 10, logger: createLogger({ level: 'silent' }) });
    // Every call takes a moment, so that there are always calls in flight when the worker dies.
    await control(sandbox.info, 'POST', 'faults', { api: 'externalcontact/add_msg_template', delayMs: 60 });
  });
  afterEach(async () => {
    for (const w of workers.splice(0)) {
      if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
      await exited(w);
    }
    sandbox?.child.kill('SIGTERM');
    if (sandbox) await exited(sandbox.child);
    await handle?.close();
  });

  it('delivers to each of 10,000 customers exactly once when the worker is killed with SIGKILL mid-send and started again', async () => {
    const { info } = sandbox!;
    const db = handle!;
    const customers = await queueMassSend(db, info, 'crash');

    const first = startWorker(info, db.url, 'first');
    workers.push(first.child);
    await until(async () => ((await counts(db)).sent ?? 0) >= CUSTOMERS * 0.3, 90_000, 'a third sent', first.output);
    // From now on WeCom answers slowly (still within the timeout), and the worker dies while such a call is out.
    await control(info, 'DELETE', 'faults');
    await control(info, 'POST', 'faults', { api: 'externalcontact/add_msg_template', delayMs: 800, count: 16 });
    await until(async () => Boolean(await db.db.selectFrom('outbox_batches').select('id').where('status', '=', 'sending').where(sql<boolean>`claimed_at < now() - interval '300 milliseconds'`).executeTakeFirst()), 30_000, 'a slow call out', first.output);
    first.child.kill('SIGKILL');
    await exited(first.child);

    const atKill = await counts(db);
    const inFlight = await db.db.selectFrom('outbox_batches').select('id').where('status', '=', 'sending').execute();
    expect(atKill.sent, 'killed before the end').to.be.below(CUSTOMERS);
    expect(inFlight.length, 'batches in flight when killed').to.be.greaterThan(0);

    const second = startWorker(info, db.url, 'second');
    workers.push(second.child);
    await until(async () => (await counts(db)).sent === CUSTOMERS, 90_000, 'all sent', second.output);
    const settled = await db.db.selectFrom('outbox_batches').select(['resolution', (eb) => eb.fn.countAll<string>().as('n')]).where('resolution', 'is not', null).groupBy('resolution').execute();
    expect(settled.reduce((n, r) => n + Number(r.n), 0), 'in-doubt batches settled after the restart').to.equal(inFlight.length);
    // The slow call the worker died in landed in WeCom afterwards: found there, not sent again.
    expect(Number(settled.find((r) => r.resolution === 'found')?.n ?? 0), 'in-doubt batches found in WeCom').to.be.greaterThan(0);
    second.child.kill('SIGINT');
    expect(await exited(second.child), second.output()).to.equal(0);

    await expectEachCustomerReceivedOnce(info, db, customers);
  });

  it('delivers to each of 10,000 customers exactly once with two workers draining the same outbox at once', async () => {
    const { info } = sandbox!;
    const db = handle!;
    const customers = await queueMassSend(db, info, 'pair');

    // Held back until both workers listen; then one statement makes every row due and wakes both.
    await db.db.updateTable('outbox').set({ not_before: new Date(Date.now() + 3_600_000) }).execute();
    const listening = async (n: number) => {
      const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'xinghe-scrm-outbox'`.execute(db.db);
      return r.rows[0]!.n === n;
    };
    const one = startWorker(info, db.url, 'one');
    workers.push(one.child);
    await until(() => listening(1), 60_000, 'the first worker listening', one.output);
    const two = startWorker(info, db.url, 'two');
    workers.push(two.child);
    const output = () => `${one.output()}\n---\n${two.output()}`;
    await until(() => listening(2), 60_000, 'both workers listening', output);
    await db.db.updateTable('outbox').set({ not_before: null }).execute();
    await until(async () => (await counts(db)).sent === CUSTOMERS, 120_000, 'all sent', output);
    const claimers = await db.db.selectFrom('outbox_batches').select('claimed_by').distinct().execute();
    expect(claimers.length, 'both workers claimed batches').to.equal(2);
    one.child.kill('SIGINT');
    two.child.kill('SIGINT');
    expect(await Promise.all([exited(one.child), exited(two.child)])).to.deep.equal([0, 0]);

    await expectEachCustomerReceivedOnce(info, db, customers);
  });
});
