import { expect } from 'chai';
import { bootApp, type TestApp, type TestClient } from '../../test/harness.js';
import { DEMO_CORP_ID as CORP } from '../demo/seed.js';
import type { Db } from '../platform/db/database.js';
import { resolveRange } from './range.js';

/**
 * The dashboard over HTTP on planted rows, 2026-11-01 to 2026-11-07 (China days). Members: LiNa and LiuQiang
 * work in 西湖支行 (bm.liuyang's branch), ZhangWei at head office, SunHao in 鄞州支行.
 */
const at = (local: string) => new Date(`${local}+08:00`);
const RANGE = '?from=2026-11-01&to=2026-11-07';
const zeros = (over: Record<number, number>) => Array.from({ length: 7 }, (_, i) => over[i + 1] ?? 0);

async function customer(db: Db, cif: string, products: string[]): Promise<string> {
  const row = await db.insertInto('customers').values({ cif_no: cif, name: `客户${cif}`, branch_id: 'br-hz-xihu', products, aum: 10_000, attrs: '{}' })
    .returning('id').executeTakeFirstOrThrow();
  return row.id;
}

async function contact(db: Db, externalUserid: string, customerId: string | null): Promise<void> {
  await db.insertInto('external_contacts').values({ corp_id: CORP, external_userid: externalUserid, name: externalUserid, customer_id: customerId }).execute();
}

async function relation(db: Db, externalUserid: string, userid: string, addedAt: string, over: { state?: string | null; deletedAt?: string; by?: 'member' | 'customer' | 'transfer' } = {}) {
  await db.insertInto('follow_relations').values({
    corp_id: CORP, userid, external_userid: externalUserid, remark: null, description: null, remark_mobiles: [], add_way: 1,
    state: over.state ?? null, added_at: at(addedAt), deleted_at: over.deletedAt ? at(over.deletedAt) : null, deleted_by: over.by ?? null,
  }).execute();
}

async function messageIn(db: Db, externalUserid: string, local: string): Promise<void> {
  await db.insertInto('timeline_events').values({
    corp_id: CORP, external_userid: externalUserid, at: at(local), kind: 'message_in', summary: '发来消息', detail: '{}', cause_type: 'customer', cause_id: externalUserid,
  }).execute();
}

async function plantContacts(db: Db): Promise<void> {
  await db.insertInto('wecom_contact_ways').values({ corp_id: CORP, type: 2, scene: 2, state: 'qr-br-hz-xihu', name: '西湖支行大堂二维码', members: ['LiNa'] }).execute();
  const withProduct = await customer(db, 'DB-1', ['p-dep-fix-1y']);
  const without = await customer(db, 'DB-2', []);
  const alsoProduct = await customer(db, 'DB-4', ['p-dep-fix-1y']);
  await contact(db, 'wmC1', withProduct);
  await contact(db, 'wmC2', without);
  await contact(db, 'wmC3', null);
  await contact(db, 'wmC4', alsoProduct);
  for (const id of ['wmC5', 'wmC6', 'wmC7', 'wmC8']) await contact(db, id, null);
  // c1: added, replied, bound, bought; added again (to ZhangWei) on the 4th: two relations, one contact.
  await relation(db, 'wmC1', 'LiNa', '2026-11-01T10:00:00', { state: 'qr-br-hz-xihu' });
  await relation(db, 'wmC1', 'ZhangWei', '2026-11-04T09:00:00', { state: 'card-ZhangWei' });
  await messageIn(db, 'wmC1', '2026-11-02T08:00:00');
  // c2: late on the 1st (15:30 UTC), replied, bound, holds nothing.
  await relation(db, 'wmC2', 'LiNa', '2026-11-01T23:30:00');
  await messageIn(db, 'wmC2', '2026-11-03T12:00:00');
  // c3: just after midnight on the 2nd (the 1st in UTC), replied, not bound.
  await relation(db, 'wmC3', 'ZhangWei', '2026-11-02T00:10:00', { state: 'card-ZhangWei' });
  await messageIn(db, 'wmC3', '2026-11-05T18:00:00');
  // c4: bound with a product, but its only message came before it added the member.
  await relation(db, 'wmC4', 'ZhangWei', '2026-11-03T11:00:00', { state: 'card-ZhangWei' });
  await messageIn(db, 'wmC4', '2026-11-02T11:00:00');
  // c5: added before the range, deleted the member on the 4th.
  await relation(db, 'wmC5', 'LiuQiang', '2026-10-31T23:59:00', { deletedAt: '2026-11-04T10:00:00', by: 'customer' });
  // c6: added on the 5th, deleted by the member on the 6th, wrote only after the range.
  await relation(db, 'wmC6', 'SunHao', '2026-11-05T10:00:00', { state: 'qr-br-nb-yinzhou', deletedAt: '2026-11-06T10:00:00', by: 'member' });
  await messageIn(db, 'wmC6', '2026-11-09T10:00:00');
  // c7: handed over to a colleague inside the range: not lost.
  await relation(db, 'wmC7', 'ZhangWei', '2026-10-01T10:00:00', { state: 'card-ZhangWei', deletedAt: '2026-11-06T10:00:00', by: 'transfer' });
  // c8: added after the range.
  await relation(db, 'wmC8', 'LiNa', '2026-11-08T00:00:00');
}

async function plantSop(db: Db): Promise<void> {
  const template = async (key: string, name: string) => {
    const t = await db.insertInto('sop_templates').values({ key, name, draft: '{}' }).returning('id').executeTakeFirstOrThrow();
    const v = await db.insertInto('sop_template_versions').values({ template_id: t.id, version: 1, definition: '{}' }).returning('id').executeTakeFirstOrThrow();
    return { id: t.id, version: v.id };
  };
  const welcome = await template('dash-welcome', '新客欢迎');
  const birthday = await template('dash-birthday', '生日关怀');
  let n = 0;
  const enroll = async (t: { id: string; version: string }, member: string, local: string) => {
    await db.insertInto('sop_enrollments').values({
      template_id: t.id, version_id: t.version, corp_id: CORP, member_userid: member, external_userid: `wmE${++n}`, run_key: `dash:${n}`,
      cause_type: 'sop', cause_id: t.id, started_at: at(local),
    }).execute();
  };
  await enroll(welcome, 'LiNa', '2026-11-01T09:00:00');
  await enroll(welcome, 'LiNa', '2026-11-01T21:00:00');
  await enroll(welcome, 'ZhangWei', '2026-11-03T09:00:00');
  await enroll(welcome, 'LiNa', '2026-10-31T09:00:00');
  await enroll(birthday, 'LiNa', '2026-11-07T23:59:00');
  // Never pending: the running dispatcher would send a pending row and change its status under the test.
  const message = async (over: { cause?: string; template?: string; channel?: string; sender: string; status: string; local: string }) => {
    await db.insertInto('outbox').values({
      idempotency_key: `dash:${++n}`, corp_id: CORP, channel: over.channel ?? 'mass_single', recipient: `wmR${n}`, sender: over.sender,
      payload: JSON.stringify({ text: '您好' }), status: over.status as 'sent', cause_type: over.cause ?? 'sop', cause_id: over.template ?? welcome.id,
      created_at: at(over.local),
    }).execute();
  };
  await message({ sender: 'LiNa', status: 'sent', local: '2026-11-01T10:00:00' });
  await message({ sender: 'LiNa', status: 'failed', local: '2026-11-01T11:00:00' });
  await message({ sender: 'ZhangWei', status: 'cancelled', local: '2026-11-02T10:00:00' });
  await message({ sender: 'LiNa', status: 'sent', channel: 'app_message', local: '2026-11-02T10:00:00' });
  await message({ sender: 'LiNa', status: 'sent', cause: 'member', local: '2026-11-02T10:00:00' });
  await message({ sender: 'LiNa', status: 'blocked', template: birthday.id, local: '2026-11-07T10:00:00' });
}

async function plantReplies(db: Db): Promise<void> {
  let n = 0;
  const log = async (decision: string, member: string | null, local: string, reason: string | null = null) => {
    await db.insertInto('reply_log').values({
      channel: 'kf', message_id: `dash-${++n}`, corp_id: CORP, conversation: `wmK${n}`, sender: `wmK${n}`, member_userid: member,
      text: '你好', decision: decision as 'kb', reason, received_at: at(local),
    }).execute();
  };
  await log('kb', 'LiNa', '2026-11-02T09:00:00');
  await log('ai', 'LiNa', '2026-11-02T10:00:00');
  await log('handoff', 'ZhangWei', '2026-11-02T11:00:00', '投诉');
  await log('none', null, '2026-11-02T12:00:00');
  await log('rule', 'ZhangWei', '2026-11-03T09:00:00');
  await log('handoff', 'LiNa', '2026-11-03T10:00:00', '转人工');
  await log('ignored', 'LiNa', '2026-11-03T11:00:00', '人工接待中');
  await log('handoff', 'LiNa', '2026-11-08T10:00:00', '投诉');
}

describe('dashboard over HTTP', () => {
  let app: TestApp;
  const clients: Record<string, TestClient> = {};
  const as = (user: string) => clients[user]!;

  before(async function () {
    this.timeout(120_000);
    app = await bootApp();
    const db = app.database.db;
    await plantContacts(db);
    await plantSop(db);
    await plantReplies(db);
    for (const user of ['admin', 'ops', 'compliance', 'bm.liuyang', 'am.lina']) clients[user] = await app.client().login(user);
  });
  after(() => app?.close());

  it('counts relations added and lost per China day and per channel, leaving out handovers', async () => {
    const r = await as('ops').get(`/api/v1/dashboard/contacts${RANGE}`);
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect(r.body.days).to.deep.equal(['2026-11-01', '2026-11-02', '2026-11-03', '2026-11-04', '2026-11-05', '2026-11-06', '2026-11-07']);
    expect(r.body.added).to.deep.equal(zeros({ 1: 2, 2: 1, 3: 1, 4: 1, 5: 1 }));
    expect(r.body.lost).to.deep.equal(zeros({ 4: 1, 6: 1 }));
    expect(r.body.lostByCustomer).to.deep.equal(zeros({ 4: 1 }));
    expect(r.body.lostByMember).to.deep.equal(zeros({ 6: 1 }));
    expect(r.body.totals).to.deep.equal({ added: 6, lost: 2, net: 4 });
    const byState = Object.fromEntries((r.body.channels as { state: string | null; name: string; added: number[]; lost: number[] }[])
      .map((c) => [String(c.state), { name: c.name, added: c.added, lost: c.lost }]));
    expect(byState).to.deep.equal({
      'card-ZhangWei': { name: 'card-ZhangWei', added: zeros({ 2: 1, 3: 1, 4: 1 }), lost: zeros({}) },
      'qr-br-hz-xihu': { name: '西湖支行大堂二维码', added: zeros({ 1: 1 }), lost: zeros({}) },
      'qr-br-nb-yinzhou': { name: 'qr-br-nb-yinzhou', added: zeros({ 5: 1 }), lost: zeros({ 6: 1 }) },
      null: { name: '未标记渠道', added: zeros({ 1: 1 }), lost: zeros({ 4: 1 }) },
    });
    expect(r.body.channels[0].state).to.equal('card-ZhangWei');
  });

  it('counts the funnel over contacts added in the range, each stage within the one before', async () => {
    const r = await as('admin').get(`/api/v1/dashboard/funnel${RANGE}`);
    expect(r.status).to.equal(200);
    expect(r.body.stages).to.deep.equal([
      { key: 'added', label: '添加企微', count: 5 },
      { key: 'replied', label: '有回复', count: 3 },
      { key: 'bound', label: '已绑定客户', count: 2 },
      { key: 'bought', label: '已购产品', count: 1 },
    ]);
  });

  it('counts SOP enrollments and SOP messages to customers per day and per template', async () => {
    const r = await as('compliance').get(`/api/v1/dashboard/sop${RANGE}`);
    expect(r.status).to.equal(200);
    expect(r.body.enrollments).to.deep.equal(zeros({ 1: 2, 3: 1, 7: 1 }));
    expect(r.body.messages).to.deep.equal(zeros({ 1: 2, 2: 1, 7: 1 }));
    expect(r.body.sent).to.deep.equal(zeros({ 1: 1 }));
    expect(r.body.failed).to.deep.equal(zeros({ 1: 1, 2: 1, 7: 1 }));
    expect(r.body.totals).to.deep.equal({ enrollments: 4, messages: 4, sent: 1, failed: 3 });
    expect(r.body.templates.map((t: { name: string; enrollments: number; messages: number; sent: number }) => [t.name, t.enrollments, t.messages, t.sent]))
      .to.deep.equal([['新客欢迎', 3, 3, 1], ['生日关怀', 1, 1, 0]]);
  });

  it('counts customer messages, automatic answers and handoffs per day, with the handoff reasons', async () => {
    const r = await as('admin').get(`/api/v1/dashboard/conversations${RANGE}`);
    expect(r.status).to.equal(200);
    expect(r.body.messages).to.deep.equal(zeros({ 2: 4, 3: 3 }));
    expect(r.body.autoReplied).to.deep.equal(zeros({ 2: 2, 3: 1 }));
    expect(r.body.handoffs).to.deep.equal(zeros({ 2: 1, 3: 1 }));
    expect(r.body.decisions).to.deep.equal({ rule: 1, kb: 1, ai: 1, handoff: 2, ignored: 1, none: 1 });
    expect(r.body.handoffReasons).to.have.deep.members([{ reason: '投诉', count: 1 }, { reason: '转人工', count: 1 }]);
    expect(r.body.totals).to.deep.equal({ messages: 7, autoReplied: 3, handoffs: 2 });
  });

  it('shows a branch manager only the work of their branch’s members', async () => {
    const contacts = (await as('bm.liuyang').get(`/api/v1/dashboard/contacts${RANGE}`)).body;
    expect(contacts.added).to.deep.equal(zeros({ 1: 2 }));
    expect(contacts.lost).to.deep.equal(zeros({ 4: 1 }));
    expect(contacts.totals).to.deep.equal({ added: 2, lost: 1, net: 1 });
    const funnel = (await as('bm.liuyang').get(`/api/v1/dashboard/funnel${RANGE}`)).body;
    expect(funnel.stages.map((s: { count: number }) => s.count)).to.deep.equal([2, 2, 2, 1]);
    const sop = (await as('bm.liuyang').get(`/api/v1/dashboard/sop${RANGE}`)).body;
    expect(sop.totals).to.deep.equal({ enrollments: 3, messages: 3, sent: 1, failed: 2 });
    const talk = (await as('bm.liuyang').get(`/api/v1/dashboard/conversations${RANGE}`)).body;
    expect(talk.messages).to.deep.equal(zeros({ 2: 2, 3: 2 }));
    expect(talk.decisions).to.deep.equal({ rule: 0, kb: 1, ai: 1, handoff: 1, ignored: 1, none: 0 });
  });

  it('refuses account managers, and names the parameter of a bad range', async () => {
    expect((await as('am.lina').get(`/api/v1/dashboard/contacts${RANGE}`)).status).to.equal(403);
    const reversed = await as('ops').get('/api/v1/dashboard/funnel?from=2026-11-07&to=2026-11-01');
    expect(reversed.status).to.equal(400);
    expect(reversed.body.error.issues.map((i: { path: string }) => i.path)).to.deep.equal(['query.from']);
    const tooLong = await as('ops').get('/api/v1/dashboard/sop?from=2025-01-01&to=2026-11-01');
    expect(tooLong.status).to.equal(400);
    const notADate = await as('ops').get('/api/v1/dashboard/sop?to=2026-02-30');
    expect(notADate.body.error.issues.map((i: { path: string }) => i.path)).to.deep.equal(['query.to']);
  });

  it('defaults to the last 30 China days, today included', async () => {
    const r = await as('ops').get('/api/v1/dashboard/contacts');
    expect(r.status).to.equal(200);
    const expected = resolveRange({}, new Date());
    expect(r.body.days).to.have.length(30);
    expect(r.body.to).to.equal(expected.to);
    expect(r.body.from).to.equal(expected.from);
  });
});

describe('dashboard ranges', () => {
  it('completes a missing end of the range in China days', () => {
    const now = new Date('2026-12-05T17:30:00Z'); // 01:30 on 6 December in China
    expect(resolveRange({}, now)).to.include({ from: '2026-11-07', to: '2026-12-06' });
    expect(resolveRange({ from: '2026-12-01' }, now)).to.include({ from: '2026-12-01', to: '2026-12-06' });
    expect(resolveRange({ from: '2026-10-01' }, now)).to.include({ from: '2026-10-01', to: '2026-10-30' });
    expect(resolveRange({ to: '2026-03-01' }, now)).to.include({ from: '2026-01-31', to: '2026-03-01' });
    expect(resolveRange({ from: '2026-12-01', to: '2026-12-01' }, now).days).to.deep.equal(['2026-12-01']);
  });
});
