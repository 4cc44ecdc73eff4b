import { expect } from 'chai';
import { sql } from 'kysely';
import { io as connect, type Socket } from 'socket.io-client';
import { bootApp, type TestApp, type TestClient } from '../../test/harness.js';
import { until } from '../../test/wecom.js';
import { DEMO_CORP_ID } from '../demo/seed.js';
import { OutboxDispatcher, syncSendResults } from '../outbox/index.js';
import { createLogger } from '../platform/logger.js';
import { fanOutMassSend } from './fanout.js';
import { watchMassSends } from './jobs.js';
import { massSendProgress, type MassSendProgress } from './progress.js';
import { PROGRESS_EVENT, type MassSendDeps } from './types.js';

const logger = createLogger({ level: 'silent' });

/** Moves a clock out of the default quiet hours (21:00–08:00 in Shanghai) without going back in time. */
function daytimeShiftMs(): number {
  const hour = new Date(Date.now() + 8 * 3_600_000).getUTCHours();
  return hour >= 8 && hour < 21 ? 0 : ((10 - hour + 24) % 24) * 3_600_000;
}

const consoleSocket = (url: string, cookie: string) =>
  new Promise<Socket>((resolve, reject) => {
    const s = connect(url, { transports: ['websocket'], extraHeaders: { cookie }, reconnection: false });
    s.once('ready', () => resolve(s));
    s.once('connect_error', reject);
  });

describe('mass sends', function () {
  this.timeout(120_000);
  let app: TestApp;
  let ops: TestClient;
  let deps: MassSendDeps;
  const db = () => app.database.db;
  /** Customers handed out so far: each test sends to its own, so WeCom's receiving quota never interferes. */
  const used = new Set<string>();

  /** Linked customers with exactly one live relation, `perMember` for each of `members` members. */
  async function wecomCustomers(members: number, perMember: number): Promise<{ customerId: string; cifNo: string; userid: string; externalUserid: string }[]> {
    const rows = (
      await sql<{ customer_id: string; cif_no: string; userid: string; external_userid: string }>`
        SELECT ec.customer_id, c.cif_no, fr.userid, fr.external_userid FROM external_contacts ec
        JOIN customers c ON c.id = ec.customer_id
        JOIN follow_relations fr ON fr.corp_id = ec.corp_id AND fr.external_userid = ec.external_userid AND fr.deleted_at IS NULL
        WHERE ec.corp_id = ${DEMO_CORP_ID}
          AND (SELECT count(*) FROM follow_relations x WHERE x.corp_id = ec.corp_id AND x.external_userid = ec.external_userid AND x.deleted_at IS NULL) = 1
        ORDER BY fr.userid, c.cif_no`.execute(db())
    ).rows.filter((r) => !used.has(r.customer_id));
    const byMember = new Map<string, typeof rows>();
    for (const r of rows) byMember.set(r.userid, [...(byMember.get(r.userid) ?? []), r]);
    const picked = [...byMember.values()].filter((list) => list.length >= perMember).slice(0, members).flatMap((list) => list.slice(0, perMember));
    expect(picked).to.have.length(members * perMember);
    for (const p of picked) used.add(p.customer_id);
    return picked.map((p) => ({ customerId: p.customer_id, cifNo: p.cif_no, userid: p.userid, externalUserid: p.external_userid }));
  }

  /** Customers with no WeCom contact at all. */
  async function strangers(n: number): Promise<{ customerId: string; cifNo: string }[]> {
    const rows = await sql<{ id: string; cif_no: string }>`
      SELECT c.id, c.cif_no FROM customers c WHERE NOT EXISTS (SELECT 1 FROM external_contacts ec WHERE ec.customer_id = c.id)
      ORDER BY c.cif_no`.execute(db());
    const picked = rows.rows.filter((r) => !used.has(r.id)).slice(0, n);
    for (const p of picked) used.add(p.id);
    return picked.map((p) => ({ customerId: p.id, cifNo: p.cif_no }));
  }

  async function segmentOf(cifs: string[], name = `群发客群 ${used.size}`): Promise<string> {
    const r = await ops.post('/api/v1/segments', { name, definition: { method: 'fixed' }, members: { add: cifs } });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    return r.body.segment?.id ?? r.body.id;
  }

  async function material(status: 'approved' | 'draft', text = '端午节假期网点营业时间调整通知：6月1日至3日营业时间为9:00-16:00。'): Promise<string> {
    const row = await db()
      .insertInto('materials')
      .values({ kind: 'text', title: `网点通知（${status}）`, text, status, verdict: status === 'approved' ? 'pass' : null, review_note: null, created_by: null, submitted_at: null, reviewed_by: null, reviewed_at: null, retired_at: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  let approved: string;
  /** A send to the segment, created through the API, scheduled `inMs` from now (default: now). */
  async function createSend(audience: { segmentId: string } | { snapshotId: string }, inMs = 0) {
    const r = await ops.post('/api/v1/mass-sends', {
      name: '端午营业时间通知',
      audience,
      materialId: approved,
      purpose: 'service',
      ...(inMs ? { scheduledAt: new Date(Date.now() + inMs).toISOString() } : {}),
    });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    return r.body as { id: string; status: string };
  }

  /** The outbox dispatcher hands due rows to WeCom (one add_msg_template per member and send). */
  async function dispatch() {
    const shift = daytimeShiftMs();
    await new OutboxDispatcher({ db: db(), gateway: app.wecom.gateway, logger, now: () => new Date(Date.now() + shift) }).drainOnce();
  }
  /** The dispatcher's result sync learns what members confirmed; the watch turns it into progress. */
  async function syncResults() {
    await syncSendResults({ db: db(), gateway: app.wecom.gateway, logger });
    await watchMassSends(deps);
  }
  const world = () => app.wecom.sandbox!.world;
  const control = () => app.wecom.sandbox!.control;
  const progressOf = async (id: string): Promise<MassSendProgress> => (await ops.get(`/api/v1/mass-sends/${id}`)).body.progress;
  /** A send now to the customers, fanned out and handed to WeCom. */
  async function dispatchedSend(customers: { cifNo: string }[]) {
    const send = await createSend({ segmentId: await segmentOf(customers.map((c) => c.cifNo)) });
    await until(async () => (await statusOf(send.id)) === 'sending', 20_000, 'fan-out');
    await dispatch();
    const rows = await rowsOf(send.id);
    expect(rows.map((r) => [r.status, r.delivery])).to.deep.equal(rows.map(() => ['sent', 'awaiting']));
    return { ...send, rows, msgidOf: (userid: string) => rows.find((r) => r.sender === userid)!.msgid! };
  }

  const rowsOf = (id: string) => db().selectFrom('outbox').selectAll().where('ref_type', '=', 'mass_send').where('ref_id', '=', id).orderBy('customer_id').execute();
  const statusOf = async (id: string) => (await db().selectFrom('mass_sends').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;

  before(async () => {
    app = await bootApp({ DEMO_CUSTOMERS: '600' });
    // The test drives the dispatcher itself (drainOnce), so "before dispatch" means what it says.
    await app.outbox?.stop();
    ops = await app.client().login('ops');
    deps = { db: app.database.db, gate: app.gate, gateway: app.wecom.gateway, jobs: app.jobs, realtime: app.realtime!, logger };
    approved = await material('approved');
  });
  after(() => app.close());

  it('a send to a segment fans out one row per WeCom customer grouped by member and reaches 100 % after each member confirms in the sandbox', async () => {
    const friends = await wecomCustomers(2, 3);
    const [first, second] = [...new Set(friends.map((f) => f.userid))] as [string, string];
    const socket = await consoleSocket(app.url, ops.cookie);
    const events: MassSendProgress[] = [];
    socket.on(PROGRESS_EVENT, (p: MassSendProgress) => events.push(p));
    try {
      const send = await dispatchedSend(friends);
      expect(new Set(send.rows.map((r) => r.group_key))).to.deep.equal(new Set([`mass:${send.id}:${first}`, `mass:${send.id}:${second}`]));
      // One WeCom task per member, carrying exactly that member's customers.
      const tasks = [first, second].map((userid) => world().massSends.get(send.msgidOf(userid))!);
      expect(tasks.map((t) => t.senders.map((s) => s.userid))).to.deep.equal([[first], [second]]);
      for (const [i, userid] of [first, second].entries()) {
        expect(tasks[i]!.senders[0]!.targets.map((t) => t.id).sort()).to.deep.equal(friends.filter((f) => f.userid === userid).map((f) => f.externalUserid).sort());
        expect(tasks[i]!.text?.content).to.equal('端午节假期网点营业时间调整通知：6月1日至3日营业时间为9:00-16:00。');
      }
      let progress = await progressOf(send.id);
      expect(progress).to.include({ recipients: 6, settled: 0, percent: 0 });
      expect(progress.members.map((m) => [m.userid, m.total, m.confirm])).to.have.deep.members([[first, 3, 'awaiting'], [second, 3, 'awaiting']]);

      control().confirmMassSend({ msgid: send.msgidOf(first) });
      await syncResults();
      progress = await progressOf(send.id);
      expect(progress).to.include({ status: 'sending', settled: 3, percent: 50 });
      expect(progress.members.find((m) => m.userid === first)).to.include({ confirm: 'confirmed' });
      expect(progress.members.find((m) => m.userid === second)).to.include({ confirm: 'awaiting' });

      control().confirmMassSend({ msgid: send.msgidOf(second) });
      await syncResults();
      progress = await progressOf(send.id);
      expect(progress).to.include({ status: 'completed', settled: 6, percent: 100 });
      expect(progress.byDelivery.delivered).to.equal(6);
      expect(control().received({ kind: 'mass' }).filter((r) => friends.some((f) => f.externalUserid === r.to))).to.have.length(6);
      // The console heard it from the watch, which saw the rows the result sync had moved.
      const done = await until(() => events.find((e) => e.id === send.id && e.status === 'completed'), 5_000, 'a completed progress event');
      expect(done).to.include({ percent: 100 });

      const results = await ops.get(`/api/v1/mass-sends/${send.id}/recipients`);
      expect(results.body.total).to.equal(6);
      for (const item of results.body.items) {
        const friend = friends.find((f) => f.customerId === item.customerId)!;
        expect(item).to.include({ result: 'delivered', reason: '已送达', status: 'sent', delivery: 'delivered' });
        expect(item.member.userid).to.equal(friend.userid);
        expect(item.name).to.match(/^.\*+$/); // ops sees masked names
      }
      const admin = await app.client().login('admin');
      const unmasked = await admin.get(`/api/v1/mass-sends/${send.id}/recipients?limit=1`);
      expect(unmasked.body.items[0].name).not.to.contain('*');
    } finally {
      socket.close();
    }
  });

  it('per-customer results show not_friend when the customer deleted the member before confirming', async () => {
    const friends = await wecomCustomers(1, 2);
    const [gone, kept] = friends as [(typeof friends)[0], (typeof friends)[0]];
    const send = await dispatchedSend(friends);
    control().customerDeletesMember({ userid: gone.userid, externalUserid: gone.externalUserid });
    control().confirmMassSend({ msgid: send.msgidOf(gone.userid) });
    // Only the result sync here: the app's own watch job notices that the send is done.
    await syncSendResults({ db: db(), gateway: app.wecom.gateway, logger });
    await until(async () => (await statusOf(send.id)) === 'completed', 20_000, 'the watch to complete the send');
    const notFriend = await ops.get(`/api/v1/mass-sends/${send.id}/recipients?result=not_friend`);
    expect(notFriend.body.total).to.equal(1);
    expect(notFriend.body.items[0]).to.include({ customerId: gone.customerId, delivery: 'not_friend', reason: '客户已不是该成员的好友' });
    const delivered = await ops.get(`/api/v1/mass-sends/${send.id}/recipients?result=delivered`);
    expect(delivered.body.items.map((i: { customerId: string }) => i.customerId)).to.deep.equal([kept.customerId]);
    expect(await progressOf(send.id)).to.include({ status: 'completed', percent: 100 });
  });

  it('remind reminds each member who has not confirmed, and the 4th reminder in 24 h is reported', async () => {
    const friends = await wecomCustomers(2, 1);
    const send = await dispatchedSend(friends);
    for (let i = 1; i <= 3; i++) {
      const r = await ops.post(`/api/v1/mass-sends/${send.id}/remind`);
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect(r.body.reminded.map((t: { sender: string }) => t.sender).sort()).to.deep.equal(friends.map((f) => f.userid).sort());
      expect(r.body.failed).to.deep.equal([]);
    }
    for (const f of friends) expect(world().massSends.get(send.msgidOf(f.userid))!.reminders).to.have.length(3);
    const started = Date.now();
    const fourth = await ops.post(`/api/v1/mass-sends/${send.id}/remind`);
    expect(fourth.status).to.equal(429);
    expect(fourth.body.error.message).to.equal('企业微信限制每个群发任务24小时内最多提醒3次，已达上限（45009）');
    expect(Date.now() - started).to.be.lessThan(5_000);
    const audit = await db().selectFrom('audit_log').selectAll().where('action', '=', 'masssend.remind').where('target_id', '=', send.id).orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(audit.outcome).to.equal('failure');
    expect((audit.detail as { failed: { errcode: number }[] }).failed.map((f) => f.errcode)).to.deep.equal([45009, 45009]);
    // A member who confirmed is not reminded any more: only the other task is asked for, and refused.
    control().confirmMassSend({ msgid: send.msgidOf(friends[0]!.userid) });
    await syncResults();
    const again = await ops.post(`/api/v1/mass-sends/${send.id}/remind`);
    expect(again.status).to.equal(429);
    const last = await db().selectFrom('audit_log').select('detail').where('action', '=', 'masssend.remind').where('target_id', '=', send.id).orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect((last.detail as { failed: { sender: string }[] }).failed.map((f) => f.sender)).to.deep.equal([friends[1]!.userid]);
  });

  it('cancel after dispatch calls cancel_groupmsg_send for the unconfirmed tasks (the sandbox shows them cancelled) and keeps what was delivered', async () => {
    const friends = await wecomCustomers(2, 2);
    const [sent, open] = [...new Set(friends.map((f) => f.userid))] as [string, string];
    const send = await dispatchedSend(friends);
    control().confirmMassSend({ msgid: send.msgidOf(sent) });
    await syncResults();
    const r = await ops.post(`/api/v1/mass-sends/${send.id}/cancel`);
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect(r.body).to.deep.include({ rowsCancelled: 0, tasksCancelled: [{ msgid: send.msgidOf(open), sender: open }], failed: [] });
    const tasks = (await (await fetch(`${app.wecom.sandbox!.url}/sandbox/world/mass-sends`)).json()) as { msgid: string; cancelled: boolean }[];
    expect(tasks.find((t) => t.msgid === send.msgidOf(open))!.cancelled).to.equal(true);
    expect(tasks.find((t) => t.msgid === send.msgidOf(sent))!.cancelled).to.equal(false);
    const rows = await rowsOf(send.id);
    expect(rows.filter((row) => row.sender === open).map((row) => row.delivery)).to.deep.equal(['cancelled', 'cancelled']);
    expect(rows.filter((row) => row.sender === sent).map((row) => row.delivery)).to.deep.equal(['delivered', 'delivered']);
    const cancelled = await ops.get(`/api/v1/mass-sends/${send.id}/recipients?result=cancelled`);
    expect(cancelled.body.items.map((i: { reason: string }) => i.reason)).to.deep.equal(['群发已取消', '群发已取消']);
    expect(r.body.progress).to.include({ status: 'cancelled', percent: 100 });
    expect(r.body.progress.byDelivery).to.include({ delivered: 2, cancelled: 2 });
  });

  it('reports customers without a WeCom relation as skipped (无企微好友关系) and writes no row for them', async () => {
    const friends = await wecomCustomers(1, 2);
    const others = await strangers(3);
    const send = await createSend({ segmentId: await segmentOf([...friends, ...others].map((c) => c.cifNo)) });
    await until(async () => (await statusOf(send.id)) === 'sending', 20_000, 'fan-out');

    const rows = await rowsOf(send.id);
    expect(rows.map((r) => r.customer_id).sort()).to.deep.equal(friends.map((f) => f.customerId).sort());
    const progress = (await ops.get(`/api/v1/mass-sends/${send.id}`)).body.progress;
    expect(progress).to.include({ audience: 5, recipients: 2, skipped: 3, fannedOut: true });
    const skipped = await ops.get(`/api/v1/mass-sends/${send.id}/recipients?result=skipped`);
    expect(skipped.body.total).to.equal(3);
    expect(skipped.body.items.map((i: { customerId: string }) => i.customerId).sort()).to.deep.equal(others.map((o) => o.customerId).sort());
    for (const item of skipped.body.items) expect(item).to.include({ result: 'skipped', reason: '无企微好友关系', status: null, member: null });
  });

  it('refuses an unapproved material with a 400 naming materialId', async () => {
    const draft = await material('draft');
    const segmentId = await segmentOf((await strangers(1)).map((c) => c.cifNo));
    const r = await ops.post('/api/v1/mass-sends', { name: '草稿素材', audience: { segmentId }, materialId: draft, purpose: 'service' });
    expect(r.status).to.equal(400);
    expect(r.body.error.issues).to.have.length(1);
    expect(r.body.error.issues[0].path).to.equal('body.materialId');
    expect(r.body.error.issues[0].message).to.contain('只有审核通过的素材可以发送');
    const missing = await ops.post('/api/v1/mass-sends', { name: '无此素材', audience: { segmentId }, materialId: '00000000-0000-4000-8000-000000000000', purpose: 'service' });
    expect([missing.status, missing.body.error.issues[0].path]).to.deep.equal([400, 'body.materialId']);
  });

  it('names the field of an invalid request: audience, time in the past, unknown segment', async () => {
    const segmentId = await segmentOf((await strangers(1)).map((c) => c.cifNo));
    const past = await ops.post('/api/v1/mass-sends', { name: '过去', audience: { segmentId }, materialId: approved, purpose: 'service', scheduledAt: new Date(Date.now() - 5 * 60_000).toISOString() });
    expect([past.status, past.body.error.issues.map((i: { path: string }) => i.path)]).to.deep.equal([400, ['body.scheduledAt']]);
    const unknown = await ops.post('/api/v1/mass-sends', { name: '无客群', audience: { segmentId: '00000000-0000-4000-8000-000000000000' }, materialId: approved, purpose: 'service' });
    expect([unknown.status, unknown.body.error.issues.map((i: { path: string }) => i.path)]).to.deep.equal([400, ['body.audience.segmentId']]);
    const bad = await ops.post('/api/v1/mass-sends', { name: '', audience: { segmentId: 'x' }, materialId: approved, purpose: 'spam' });
    expect(bad.status).to.equal(400);
    expect(bad.body.error.issues.map((i: { path: string }) => i.path)).to.include.members(['body.name', 'body.purpose']);
  });

  it('fails a send whose material compliance withdrew before it started, writing no row', async () => {
    const materialId = await material('approved', '网点营业时间调整通知（待下架）。');
    const segmentId = await segmentOf((await wecomCustomers(1, 1)).map((c) => c.cifNo));
    const r = await ops.post('/api/v1/mass-sends', { name: '下架素材', audience: { segmentId }, materialId, purpose: 'service', scheduledAt: new Date(Date.now() + 3_600_000).toISOString() });
    expect(r.status).to.equal(201);
    await db().updateTable('materials').set({ status: 'retired', retired_at: new Date() }).where('id', '=', materialId).execute();
    expect(await fanOutMassSend(deps, r.body.id)).to.include({ status: 'failed', queued: 0 });
    const send = (await ops.get(`/api/v1/mass-sends/${r.body.id}`)).body;
    expect(send.status).to.equal('failed');
    expect(send.error).to.match(/^素材已不可发送：/);
    expect(await rowsOf(r.body.id)).to.deep.equal([]);
  });

  it('lets branch managers read mass sends but not create, remind or cancel them', async () => {
    const bm = await app.client().login('bm.liuyang');
    const segmentId = await segmentOf((await strangers(1)).map((c) => c.cifNo));
    const send = await createSend({ segmentId }, 3_600_000);
    expect((await bm.get('/api/v1/mass-sends')).status).to.equal(200);
    expect((await bm.get(`/api/v1/mass-sends/${send.id}`)).status).to.equal(200);
    expect((await bm.post('/api/v1/mass-sends', { name: 'x', audience: { segmentId }, materialId: approved, purpose: 'service' })).status).to.equal(403);
    expect((await bm.post(`/api/v1/mass-sends/${send.id}/cancel`)).status).to.equal(403);
    const am = await app.client().login('am.zhangwei');
    expect((await am.get('/api/v1/mass-sends')).status).to.equal(403);
  });

  it('re-running the fan-out job writes no duplicates and takes no second snapshot', async () => {
    const friends = await wecomCustomers(2, 3);
    const segmentId = await segmentOf(friends.map((c) => c.cifNo));
    // Scheduled an hour ahead: the job does not run by itself; the test runs it.
    const send = await createSend({ segmentId }, 3_600_000);
    const first = await fanOutMassSend(deps, send.id, { pageSize: 2 });
    expect(first).to.include({ status: 'sending', queued: 6, existing: 0, skipped: 0 });
    const rows = await rowsOf(send.id);
    // As if the worker had died before it could record that the fan-out was done.
    await db().updateTable('mass_sends').set({ status: 'queued' }).where('id', '=', send.id).execute();
    const second = await fanOutMassSend(deps, send.id, { pageSize: 2 });
    expect(second).to.include({ status: 'sending', queued: 0, existing: 6 });
    const again = await rowsOf(send.id);
    expect(again.map((r) => [r.id, r.idempotency_key, r.created_at.toISOString()])).to.deep.equal(rows.map((r) => [r.id, r.idempotency_key, r.created_at.toISOString()]));
    const snapshots = await db().selectFrom('segment_snapshots').select('id').where('segment_id', '=', segmentId).execute();
    expect(snapshots).to.have.length(1);
    for (const r of again) {
      const friend = friends.find((f) => f.customerId === r.customer_id)!;
      expect(r).to.include({
        idempotency_key: `mass:${send.id}:${friend.customerId}`, group_key: `mass:${send.id}:${friend.userid}`, channel: 'mass_single',
        sender: friend.userid, recipient: friend.externalUserid, ref_type: 'mass_send', ref_id: send.id, cause_type: 'member', status: 'pending',
      });
    }
    await ops.post(`/api/v1/mass-sends/${send.id}/cancel`);
  });

  it('cancel before dispatch cancels the pending rows and stops the send', async () => {
    const friends = await wecomCustomers(2, 2);
    const send = await createSend({ segmentId: await segmentOf(friends.map((c) => c.cifNo)) }, 3_600_000);
    await fanOutMassSend(deps, send.id);
    const r = await ops.post(`/api/v1/mass-sends/${send.id}/cancel`);
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect(r.body).to.include({ rowsCancelled: 4 });
    expect(r.body.tasksCancelled).to.deep.equal([]);
    expect((await rowsOf(send.id)).map((row) => row.status)).to.deep.equal(['cancelled', 'cancelled', 'cancelled', 'cancelled']);
    expect(await statusOf(send.id)).to.equal('cancelled');
    expect(r.body.progress).to.include({ status: 'cancelled', percent: 100 });
    const audit = await db().selectFrom('audit_log').selectAll().where('action', '=', 'masssend.cancel').where('target_id', '=', send.id).executeTakeFirstOrThrow();
    expect(audit.detail).to.deep.include({ from: 'sending', rowsCancelled: 4 });
    const again = await ops.post(`/api/v1/mass-sends/${send.id}/cancel`);
    expect(again.status).to.equal(409);
  });

  it('emits masssend.progress to a socket.io client logged in as ops while the send fans out', async () => {
    const friends = await wecomCustomers(1, 3);
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(app.url, { transports: ['websocket'], extraHeaders: { cookie: ops.cookie }, reconnection: false });
      s.once('ready', () => resolve(s));
      s.once('connect_error', reject);
    });
    try {
      const events: { id: string; recipients: number; fannedOut: boolean; status: string }[] = [];
      socket.on(PROGRESS_EVENT, (p) => events.push(p));
      const send = await createSend({ segmentId: await segmentOf(friends.map((c) => c.cifNo)) });
      const last = await until(() => events.filter((e) => e.id === send.id && e.fannedOut).at(-1), 20_000, 'a progress event after the fan-out');
      expect(last).to.include({ recipients: 3, status: 'sending' });
      expect((last as unknown as { members: unknown[] }).members).to.have.length(1);
      expect((await massSendProgress(db(), send.id)).recipients).to.equal(3);
    } finally {
      socket.close();
    }
  });
});
