import { expect } from 'chai';
import { sql } from 'kysely';
import { testCipher, testDatabase } from '../../test/harness.js';
import { ComplianceGate } from '../compliance/index.js';
import type { DatabaseHandle } from '../platform/db/database.js';
import { createLogger } from '../platform/logger.js';
import { createMetrics } from '../platform/metrics.js';
import { CorpRegistry, saveCorp } from '../wecom/corps.js';
import { RateBudget, TokenStore, WeComGateway } from '../wecom/client/index.js';
import type { Sandbox } from '../wecom/sandbox/index.js';
import { TEST_CORP, startTestSandbox } from '../wecom/sandbox/testing.js';
import { claimBatches } from './claim.js';
import { OutboxDispatcher, type DispatcherOptions } from './dispatch.js';
import { massSingleSender } from './mass.js';
import { queueMessage, type QueueInput } from './queue.js';
import { syncSendResults } from './results.js';
import { kfSender } from '../replies/kf.js';

/** The dispatcher against real PostgreSQL and the sandbox: batching, retries, rules, in-doubt batches, results. */
describe('the outbox dispatcher', function () {
  this.timeout(30_000);
  const logger = createLogger({ level: 'silent' });
  const CORP = TEST_CORP.corpId;
  let sandbox: Sandbox;
  let handle: DatabaseHandle;
  let gate: ComplianceGate;
  let gateway: WeComGateway;
  let clock: Date;
  let cif = 0;

  /** 10:00 on a Wednesday in Shanghai: outside the default quiet hours (21:00–08:00). */
  const WEDNESDAY_10AM = new Date('2026-11-25T10:00:00+08:00');

  const gatewayWith = (timeoutMs = 1000) =>
    new WeComGateway({
      registry: new CorpRegistry(handle.db, testCipher()),
      tokens: new TokenStore(handle.db, testCipher()),
      budget: new RateBudget({ perMinute: 6000, blockMs: 50 }),
      metrics: createMetrics({ defaults: false }),
      logger,
      options: { timeoutMs, retries: 2, backoffMs: 10 },
    });
  const dispatcher = (over: Partial<DispatcherOptions> = {}) => new OutboxDispatcher({ db: handle.db, gateway, logger, now: () => clock, retryBaseMs: 1000, ...over });
  /** ZhangWei's contacts in the sandbox world. */
  const contactsOf = (userid: string) => [...sandbox.world.follows.values()].filter((f) => f.userid === userid).map((f) => f.external_userid);

  async function customer(consent = true): Promise<string> {
    const row = await handle.db
      .insertInto('customers')
      .values({ cif_no: `C-D-${++cif}`, name: '测试客户', risk_level: 'R3', risk_assessed_at: '2026-06-01', marketing_consent: consent, attrs: '{}' })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async function queue(over: Partial<QueueInput> & { recipient: string }) {
    return queueMessage(
      { db: handle.db, gate },
      {
        idempotencyKey: `t:${Math.random()}`,
        corpId: CORP,
        channel: 'mass_single',
        sender: 'ZhangWei',
        content: { text: '您好，本周六西湖支行有理财沙龙，欢迎参加。' },
        purpose: 'service',
        cause: { type: 'system', id: 'test' },
        now: clock,
        ...over,
      },
    );
  }

  const rowsOf = (ids: string[]) => handle.db.selectFrom('outbox').selectAll().where('id', 'in', ids).orderBy('created_at').execute();
  const massSends = () => [...sandbox.world.massSends.values()];
  const expireLeases = () => sql`UPDATE outbox_batches SET lease_until = now() - interval '1 second' WHERE status = 'sending'`.execute(handle.db);

  // One database for the suite (each test starts from empty outbox tables), a fresh WeCom for each test.
  before(async () => {
    handle = await testDatabase();
    gate = new ComplianceGate({ db: handle.db });
  });
  after(() => handle.close());
  beforeEach(async () => {
    sandbox = await startTestSandbox({ customers: 2000 });
    await sql`TRUNCATE outbox, outbox_batches, timeline_events, settings, wecom_tokens`.execute(handle.db);
    await saveCorp(handle.db, testCipher(), {
      corpId: CORP, name: 'test', agentId: TEST_CORP.agentId, token: TEST_CORP.callbackToken, aesKey: TEST_CORP.callbackAesKey,
      agentSecret: TEST_CORP.agentSecret, contactSecret: TEST_CORP.contactSecret, apiBase: sandbox.apiBase, source: 'sandbox',
    });
    gateway = gatewayWith();
    clock = WEDNESDAY_10AM;
  });
  afterEach(() => sandbox.close());

  it('sends rows with the same group key in one add_msg_template call, which WeCom holds as one task', async () => {
    const recipients = contactsOf('ZhangWei').slice(0, 30);
    const ids = [];
    for (const r of recipients) ids.push((await queue({ recipient: r, groupKey: 'mass:m-1:ZhangWei' })).id);
    const summary = await dispatcher().drainOnce();
    expect(summary).to.include({ batches: 1, sent: 30 });
    expect(massSends()).to.have.length(1);
    expect(massSends()[0]!.senders[0]!.targets.map((t) => t.id)).to.have.members(recipients);
    const rows = await rowsOf(ids);
    expect(new Set(rows.map((r) => r.msgid))).to.deep.equal(new Set([massSends()[0]!.msgid]));
    expect(rows.every((r) => r.status === 'sent' && r.delivery === 'awaiting' && r.attempts === 1)).to.equal(true);
    const batch = await handle.db.selectFrom('outbox_batches').selectAll().executeTakeFirstOrThrow();
    expect(batch).to.include({ status: 'sent', size: 30, msgid: massSends()[0]!.msgid, group_key: 'mass:m-1:ZhangWei' });
  });

  it('splits a group larger than the batch maximum, and sends rows without a group key one call each', async () => {
    const recipients = contactsOf('ZhangWei').slice(0, 25);
    for (const r of recipients.slice(0, 20)) await queue({ recipient: r, groupKey: 'mass:m-2:ZhangWei' });
    for (const r of recipients.slice(20)) await queue({ recipient: r });
    await dispatcher({ batchMax: 8 }).drainOnce();
    expect(massSends().map((m) => m.senders[0]!.targets.length).sort((a, b) => a - b)).to.deep.equal([1, 1, 1, 1, 1, 4, 8, 8]);
    expect(sandbox.control.received({ kind: 'mass' })).to.have.length(0); // nothing arrives before the member confirms
  });

  it('sends to customer groups with the owner as sender', async () => {
    const chat = [...sandbox.world.groupChats.values()].find((g) => g.owner === 'ZhangWei')!;
    const queued = await queue({ channel: 'mass_group', recipient: chat.chat_id });
    await dispatcher().drainOnce();
    expect(massSends()).to.have.length(1);
    expect(massSends()[0]).to.include({ chat_type: 'group' });
    expect((await rowsOf([queued.id]))[0]).to.include({ status: 'sent', msgid: massSends()[0]!.msgid });
  });

  it('marks recipients WeCom refuses (fail_list) failed and the rest sent', async () => {
    const [good] = contactsOf('ZhangWei');
    const a = await queue({ recipient: good!, groupKey: 'g' });
    const b = await queue({ recipient: 'wmNoSuchCustomer000000000000000', groupKey: 'g' });
    await dispatcher().drainOnce();
    const [sent, refused] = await rowsOf([a.id, b.id]);
    expect(sent).to.include({ status: 'sent' });
    expect(refused).to.include({ status: 'failed', errcode: 84061 });
    expect(refused!.last_error).to.contain('企业微信未接收');
  });

  it('puts rows back with backoff on 45009, and sends them later exactly once', async () => {
    const recipients = contactsOf('ZhangWei').slice(0, 3);
    const ids = [];
    for (const r of recipients) ids.push((await queue({ recipient: r, groupKey: 'g45009' })).id);
    // The client waits out three blocks itself; the fourth 45009 comes back to the dispatcher.
    sandbox.control.addFault({ api: 'externalcontact/add_msg_template', errcode: 45009, count: 4 });
    const d = dispatcher();
    expect(await d.drainOnce()).to.include({ retried: 3, sent: 0 });
    const held = await rowsOf(ids);
    expect(held.every((r) => r.status === 'pending' && r.errcode === 45009 && r.attempts === 1 && r.batch_id === null)).to.equal(true);
    const due = Math.max(...held.map((r) => new Date(r.not_before!).getTime()));
    expect(due).to.be.greaterThan(clock.getTime() + 400).and.at.most(clock.getTime() + 1000);
    expect(massSends()).to.have.length(0);

    expect(await d.drainOnce()).to.include({ batches: 0 }); // not due yet
    clock = new Date(due + 1);
    expect(await d.drainOnce()).to.include({ sent: 3 });
    expect(massSends()).to.have.length(1);
    expect((await rowsOf(ids)).every((r) => r.status === 'sent' && r.attempts === 2)).to.equal(true);
  });

  it('fails rows for good on a business error, without trying again', async () => {
    const queued = await queue({ recipient: contactsOf('ZhangWei')[0]! });
    sandbox.control.addFault({ api: 'externalcontact/add_msg_template', errcode: 45002, count: 1 });
    const d = dispatcher();
    await d.drainOnce();
    clock = new Date(clock.getTime() + 3_600_000);
    expect(await d.drainOnce()).to.include({ batches: 0 });
    const [row] = await rowsOf([queued.id]);
    expect(row).to.include({ status: 'failed', errcode: 45002, attempts: 1 });
    expect(row!.last_error).to.contain('企业微信拒绝发送（45002）');
    expect(massSends()).to.have.length(0);
  });

  it('holds a message due inside quiet hours until they end', async () => {
    const queued = await queue({ recipient: contactsOf('ZhangWei')[0]! });
    clock = new Date('2026-11-25T22:30:00+08:00');
    const d = dispatcher();
    expect(await d.drainOnce()).to.include({ deferred: 1, batches: 0 });
    const [held] = await rowsOf([queued.id]);
    expect(held).to.include({ status: 'pending' });
    expect(new Date(held!.not_before!).toISOString()).to.equal(new Date('2026-11-26T08:00:00+08:00').toISOString());
    clock = new Date('2026-11-26T07:59:00+08:00');
    expect(await d.drainOnce()).to.include({ batches: 0 });
    clock = new Date('2026-11-26T08:00:00+08:00');
    expect(await d.drainOnce()).to.include({ sent: 1 });
  });

  it('defers the message over the customer\'s receiving quota to the next period, or lets it expire', async () => {
    await handle.db.insertInto('settings').values({ key: 'outbound.customerQuota', value: JSON.stringify({ period: 'week', limit: 2 }) }).execute();
    const to = contactsOf('ZhangWei')[0]!;
    const texts = ['周一理财早报', '周三基金定投提醒', '周五网点活动通知', '本周大额存单额度'];
    const ids = [];
    for (const text of texts.slice(0, 3)) ids.push((await queue({ recipient: to, content: { text } })).id);
    const expiring = await queue({ recipient: to, content: { text: texts[3]! }, expiresAt: new Date('2026-11-29T12:00:00+08:00') });
    const other = await queue({ recipient: contactsOf('ZhangWei')[1]!, content: { text: texts[0]! } });
    const d = dispatcher();
    expect(await d.drainOnce()).to.include({ sent: 3, deferred: 1, expired: 1 });
    const [first, second, third] = await rowsOf(ids);
    expect([first!.status, second!.status, third!.status]).to.deep.equal(['sent', 'sent', 'pending']);
    expect(new Date(third!.not_before!).toISOString()).to.equal(new Date('2026-11-30T00:00:00+08:00').toISOString());
    expect(third!.last_error).to.contain('本周已收到 2 条');
    expect((await rowsOf([expiring.id]))[0]).to.include({ status: 'expired' });
    expect((await rowsOf([other.id]))[0]).to.include({ status: 'sent' });
    clock = new Date('2026-11-30T09:00:00+08:00');
    expect(await d.drainOnce()).to.include({ sent: 1 });
  });

  it('cancels a marketing message when the customer withdrew consent after it was queued', async () => {
    const id = await customer(true);
    const [to, other] = contactsOf('ZhangWei');
    const marketing = await queue({ recipient: to!, customerId: id, purpose: 'marketing', content: { text: '大额存单新一期额度已开放，欢迎咨询。' } });
    const service = await queue({ recipient: other!, customerId: id, purpose: 'service', content: { text: '您预约的业务已办理完成。' } });
    expect(marketing.status).to.equal('pending');
    await handle.db.updateTable('customers').set({ marketing_consent: false }).where('id', '=', id).execute();
    expect(await dispatcher().drainOnce()).to.include({ cancelled: 1, sent: 1 });
    const [cancelled] = await rowsOf([marketing.id]);
    expect(cancelled).to.include({ status: 'cancelled', last_error: '客户已撤回营销授权' });
    expect((await rowsOf([service.id]))[0]).to.include({ status: 'sent' });
    expect(massSends()).to.have.length(1);
  });

  it('finds an in-doubt batch whose call landed in WeCom and marks it sent without calling again', async () => {
    const recipients = contactsOf('ZhangWei').slice(0, 5);
    const ids = [];
    for (const r of recipients) ids.push((await queue({ recipient: r, groupKey: 'doubt' })).id);
    // A crash between the call and its result: claim, call, and write nothing.
    const { batches } = await claimBatches({
      db: handle.db, instance: 'crashed', senders: new Map([['mass_single', massSingleSender]]), slots: 1, batchMax: 100, leaseMs: 60_000, now: clock,
      rules: { quietHours: { start: '21:00', end: '08:00', timezone: 'Asia/Shanghai' }, quota: { period: 'month', limit: 4 }, appRate: { perMinute: 30, perHour: 1000 } },
      blockedFor: () => 0,
    });
    const corp = (await gateway.registry.get(CORP))!;
    const landed = await massSingleSender.send(batches[0]!, { gateway, corp, notAfter: Date.now() + 10_000, logger });
    // Another send of the same content by someone else, which must not be mistaken for it.
    await queue({ recipient: contactsOf('ZhangWei')[9]!, groupKey: 'doubt-other' });
    const d = dispatcher();
    expect(await d.drainOnce()).to.deep.include({ sent: 1 }); // the lease has not run out: the batch is left alone
    expect((await rowsOf(ids)).every((r) => r.status === 'sending')).to.equal(true);

    await expireLeases();
    const summary = await d.drainOnce();
    expect(summary.resolved).to.include({ found: 1, released: 0 });
    expect(massSends()).to.have.length(2);
    const rows = await rowsOf(ids);
    expect(rows.every((r) => r.status === 'sent' && r.msgid === landed.msgid && r.delivery === 'awaiting')).to.equal(true);
    const batch = await handle.db.selectFrom('outbox_batches').selectAll().where('id', '=', batches[0]!.id).executeTakeFirstOrThrow();
    expect(batch).to.include({ status: 'sent', resolution: 'found', msgid: landed.msgid });
  });

  it('finds a call that timed out but took effect, once its lease has run out', async () => {
    gateway = gatewayWith(300);
    const recipients = contactsOf('ZhangWei').slice(0, 4);
    const ids = [];
    for (const r of recipients) ids.push((await queue({ recipient: r, groupKey: 'slow' })).id);
    // WeCom answers after the client gave up, but creates the task all the same.
    sandbox.control.addFault({ api: 'externalcontact/add_msg_template', delayMs: 450, count: 1 });
    const d = dispatcher({ leaseMs: 1200 });
    expect(await d.drainOnce()).to.include({ unknown: 4 });
    expect((await rowsOf(ids)).every((r) => r.status === 'sending')).to.equal(true);
    await new Promise((r) => setTimeout(r, 1300));
    expect(massSends()).to.have.length(1);
    expect((await d.drainOnce()).resolved).to.include({ found: 1 });
    expect(massSends()).to.have.length(1);
    expect((await rowsOf(ids)).every((r) => r.status === 'sent' && r.msgid === massSends()[0]!.msgid)).to.equal(true);
  });

  it('releases an in-doubt batch whose call never reached WeCom, and sends it once', async () => {
    const recipients = contactsOf('ZhangWei').slice(0, 4);
    const ids = [];
    for (const r of recipients) ids.push((await queue({ recipient: r, groupKey: 'dropped' })).id);
    sandbox.control.addFault({ api: 'externalcontact/add_msg_template', drop: true, count: 1 });
    const d = dispatcher({ leaseMs: 2500 });
    expect(await d.drainOnce()).to.include({ unknown: 4 });
    expect(massSends()).to.have.length(0);
    await expireLeases();
    const summary = await d.drainOnce();
    expect(summary.resolved).to.include({ released: 1, found: 0 });
    expect(summary.sent).to.equal(4);
    expect(massSends()).to.have.length(1);
    const rows = await rowsOf(ids);
    expect(rows.every((r) => r.status === 'sent' && r.attempts === 2)).to.equal(true);
    const batches = await handle.db.selectFrom('outbox_batches').select(['status', 'resolution']).orderBy('claimed_at').execute();
    expect(batches).to.deep.equal([{ status: 'released', resolution: 'released' }, { status: 'sent', resolution: null }]);
  });

  it('sends an app message to a member, and resends an in-doubt one under WeCom\'s duplicate check so it arrives once', async () => {
    gateway = gatewayWith(300);
    const first = await queue({ channel: 'app_message', recipient: 'LiNa', sender: null, content: { text: '您有 3 位客户的回访任务今天到期。' } });
    sandbox.control.addFault({ api: 'message/send', delayMs: 450, count: 1 });
    const d = dispatcher({ leaseMs: 1200 });
    expect(await d.drainOnce()).to.include({ unknown: 1 });
    await new Promise((r) => setTimeout(r, 1300));
    expect(sandbox.control.received({ kind: 'app', to: 'LiNa' })).to.have.length(1); // it did arrive
    expect((await d.drainOnce()).resolved).to.include({ resent: 1 });
    expect(sandbox.control.received({ kind: 'app', to: 'LiNa' })).to.have.length(1);
    expect(await handle.db.selectFrom('outbox_batches').select('resolution').where('status', '=', 'sent').execute()).to.deep.equal([{ resolution: 'resent' }]);
    expect((await rowsOf([first.id]))[0]).to.include({ status: 'sent', delivery: null });
  });

  it('paces app messages to one member within WeCom\'s per-member rate', async () => {
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push((await queue({ channel: 'app_message', recipient: 'LiNa', sender: null, content: { text: `第 ${i + 1} 条待办提醒` } })).id);
    const d = dispatcher({ appMessagesPerMemberPerMinute: 3 });
    expect(await d.drainOnce()).to.include({ sent: 3, deferred: 1 });
    const rows = await rowsOf(ids);
    expect(new Date(rows[3]!.not_before!).getTime()).to.equal(clock.getTime() + 60_000);
    clock = new Date(clock.getTime() + 60_000);
    expect(await d.drainOnce()).to.include({ sent: 1 });
    expect(sandbox.control.received({ kind: 'app', to: 'LiNa' })).to.have.length(4);
    expect(sandbox.world.droppedAppMessages).to.have.length(0);
  });

  it('sends a customer-service conversation one message at a time, oldest first, so a retried reply is never overtaken', async () => {
    const claim = async () => (await claimBatches({
      db: handle.db, instance: 'test', senders: new Map([['kf', kfSender(logger)]]), slots: 10, batchMax: 100, leaseMs: 60_000, now: clock,
      rules: { quietHours: { start: '21:00', end: '08:00', timezone: 'Asia/Shanghai' }, quota: { period: 'month', limit: 4 }, appRate: { perMinute: 30, perHour: 1000 } },
      blockedFor: () => 0,
    })).batches.flatMap((b) => b.rows.map((r) => r.id)).sort();
    const kf = (recipient: string, text: string) => queue({ channel: 'kf', recipient, sender: null, content: { text }, extra: { open_kfid: 'wk-test' } }).then((r) => r.id);
    const a = [await kf('wm-a', '您好，请问有什么可以帮您？'), await kf('wm-a', '定期存款三年期利率请以网点公告为准。'), await kf('wm-a', '还有其他问题吗？')];
    const b = await kf('wm-b', '您好，请问有什么可以帮您？');
    const setRow = (id: string, values: Record<string, unknown>) => handle.db.updateTable('outbox').set(values).where('id', '=', id).execute();

    expect(await claim()).to.deep.equal([a[0], b].sort()); // the oldest of each conversation, together
    expect(await claim()).to.deep.equal([]); // a[0] is on its way: a[1] waits
    // WeCom refused a[0] for now (45009): back to pending for a retry in 30 s, as the dispatcher does.
    await setRow(a[0]!, { status: 'pending', batch_id: null, not_before: new Date(clock.getTime() + 30_000) });
    await setRow(b, { status: 'sent', sent_at: clock });
    expect(await claim()).to.deep.equal([]); // a[1] is due, but a[0] is older and still to go
    clock = new Date(clock.getTime() + 30_000);
    expect(await claim()).to.deep.equal([a[0]]);
    await setRow(a[0]!, { status: 'sent', sent_at: clock });
    expect(await claim()).to.deep.equal([a[1]]);
    await setRow(a[1]!, { status: 'failed', last_error: 'test' }); // a final failure does not hold the conversation
    expect(await claim()).to.deep.equal([a[2]]);
  });

  it('never lets waiting conversations fill a claim: a mass send queued behind them still goes', async () => {
    const senders = new Map([['kf', kfSender(logger)], ['mass_single', massSingleSender]]);
    const claim = async () => (await claimBatches({
      db: handle.db, instance: 'test', senders, slots: 1, batchMax: 100, leaseMs: 60_000, now: clock,
      rules: { quietHours: { start: '21:00', end: '08:00', timezone: 'Asia/Shanghai' }, quota: { period: 'month', limit: 4 }, appRate: { perMinute: 30, perHour: 1000 } },
      blockedFor: () => 0,
    })).batches.flatMap((b) => b.rows.map((r) => r.id));
    // Six replies to one customer, the first waiting 30 s for a retry: more than the four rows one slot scans.
    const replies = [];
    for (let i = 0; i < 6; i++) replies.push((await queue({ channel: 'kf', recipient: 'wm-busy', sender: null, content: { text: `第 ${i + 1} 条回复` }, extra: { open_kfid: 'wk-test' } })).id);
    await handle.db.updateTable('outbox').set({ not_before: new Date(clock.getTime() + 30_000) }).where('id', '=', replies[0]!).execute();
    const mass = await queue({ recipient: contactsOf('ZhangWei')[0]! });
    expect(await claim()).to.deep.equal([mass.id]);
  });

  it('asks WeCom for a task’s results at every pass in its first hour, and then only once the interval has passed', async () => {
    const recipient = contactsOf('ZhangWei')[2]!;
    await queue({ recipient, groupKey: 'fresh' });
    await dispatcher().drainOnce();
    const timing = { freshMs: 3_600_000, intervalMs: 300_000 };
    const at = (minutes: number) => new Date(clock.getTime() + minutes * 60_000);
    const pass = async (minutes: number) => (await syncSendResults({ db: handle.db, gateway, logger }, { now: at(minutes), ...timing })).tasks;
    expect([await pass(0), await pass(1), await pass(2)], 'fresh: every minute').to.deep.equal([1, 1, 1]);
    expect(await pass(61), 'past the hour, last asked 59 minutes ago').to.equal(1);
    expect([await pass(62), await pass(65)], 'then not before five minutes').to.deep.equal([0, 0]);
    expect(await pass(66)).to.equal(1);
    const checked = await handle.db.selectFrom('outbox_batches').select('results_checked_at').where('msgid', 'is not', null).executeTakeFirstOrThrow();
    expect(new Date(checked.results_checked_at!).getTime()).to.equal(at(66).getTime());
  });

  it('wakes on the notification a new row sends, long before its next poll, and stops after its calls finish', async () => {
    const d = dispatcher({ pollMs: 60_000, databaseUrl: handle.url });
    await d.start();
    try {
      await new Promise((r) => setTimeout(r, 200));
      const queued = await queue({ recipient: contactsOf('ZhangWei')[0]! });
      const deadline = Date.now() + 5_000;
      while ((await rowsOf([queued.id]))[0]!.status !== 'sent') {
        if (Date.now() > deadline) throw new Error('not sent within 5 s');
        await new Promise((r) => setTimeout(r, 25));
      }
      sandbox.control.addFault({ api: 'externalcontact/add_msg_template', delayMs: 300, count: 1 });
      const slow = await queue({ recipient: contactsOf('ZhangWei')[1]! });
      await new Promise((r) => setTimeout(r, 150));
      await d.stop();
      expect((await rowsOf([slow.id]))[0]).to.include({ status: 'sent' });
    } finally {
      await d.stop();
    }
  });

  it('syncs delivery after the member confirms: delivered, not a friend, quota reached, and unsent after three days', async () => {
    const [a, b, c, late] = contactsOf('ZhangWei');
    const customerA = await customer();
    sandbox.control.setReceivingQuota({ period: 'month', limit: 1 });
    // c already got this month's one corp message.
    await queue({ recipient: c!, content: { text: '上周的活动回顾' } });
    await dispatcher().drainOnce();
    sandbox.control.confirmMassSend({ msgid: massSends()[0]!.msgid });

    const ids = [];
    ids.push((await queue({ recipient: a!, customerId: customerA, groupKey: 'r', ref: { type: 'mass_send', id: 'm-9' } })).id);
    for (const r of [b!, c!]) ids.push((await queue({ recipient: r, groupKey: 'r' })).id);
    const unconfirmed = await queue({ recipient: late!, content: { text: '另一条群发' } });
    await dispatcher().drainOnce();
    const task = massSends().find((m) => m.senders[0]!.targets.length === 3)!;
    sandbox.control.driftDeleteFollow({ userid: 'ZhangWei', externalUserid: b! });
    sandbox.control.confirmMassSend({ msgid: task.msgid });

    const summary = await syncSendResults({ db: handle.db, gateway, logger }, { now: clock });
    expect(summary).to.include({ delivered: 2, notFriend: 1, quotaReached: 1, awaiting: 1 });
    const [rowA, rowB, rowC] = await rowsOf(ids);
    expect(rowA).to.include({ delivery: 'delivered' });
    expect(new Date(rowA!.delivered_at!).getTime()).to.equal(task.senders[0]!.send_time! * 1000);
    expect(rowB).to.include({ delivery: 'not_friend' });
    expect(rowC).to.include({ delivery: 'quota_reached' });
    const timeline = await handle.db.selectFrom('timeline_events').selectAll().where('kind', '=', 'message_out').where('external_userid', '=', a!).execute();
    expect(timeline).to.have.length(1);
    expect(timeline[0]).to.include({ customer_id: customerA, cause_type: 'system', cause_id: 'test' });
    expect(timeline[0]!.summary).to.contain('理财沙龙');

    // Once: a second pass writes nothing new.
    expect(await syncSendResults({ db: handle.db, gateway, logger }, { now: clock })).to.include({ delivered: 0, awaiting: 1 });
    expect(await handle.db.selectFrom('timeline_events').select('id').where('kind', '=', 'message_out').execute()).to.have.length(2);
    expect((await syncSendResults({ db: handle.db, gateway, logger }, { now: new Date(clock.getTime() + 4 * 86_400_000) })).unsent).to.equal(1);
    expect((await rowsOf([unconfirmed.id]))[0]).to.include({ delivery: 'unsent' });
  });
});
