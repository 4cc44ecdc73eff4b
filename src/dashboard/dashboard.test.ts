import { expect } from 'chai';
import { bootApp, type TestApp, type TestClient } from '../../test/harness.js';
import { resolveRange } from './range.js';
import { plantDashboard } from './testing.js';

/**
 * The dashboard over HTTP on the rows of testing.ts planted on 2026-11-01 to 2026-11-07 (China days).
 */
const RANGE = '?from=2026-11-01&to=2026-11-07';
const zeros = (over: Record<number, number>) => Array.from({ length: 7 }, (_, i) => over[i + 1] ?? 0);

describe('dashboard over HTTP', () => {
  let app: TestApp;
  const clients: Record<string, TestClient> = {};
  const as = (user: string) => clients[user]!;

  before(async function () {
    this.timeout(120_000);
    app = await bootApp();
    const db = app.database.db;
    await plantDashboard(db, '2026-11-01');
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
