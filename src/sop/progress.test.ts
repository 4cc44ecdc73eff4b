import { expect } from 'chai';
import { sql } from 'kysely';
import { bootApp, type TestApp } from '../../test/harness.js';
import { liveClients, type LiveClient, type LiveEvent } from '../../test/sockets.js';
import { createLogger } from '../platform/logger.js';
import { advanceDueSteps } from './engine.js';
import { SOP_PROGRESS_EVENT, SOP_PROGRESS_EVERY_MS, SopProgress, type MonitorCounts, type ProgressChange } from './progress.js';
import { publish } from './testing.js';
import { runClock } from './triggers.js';

type Progress = MonitorCounts & { templateId: string; changes: ProgressChange; eventId: number };

describe('live SOP progress on the console room (sop.progress)', function () {
  this.timeout(180_000);
  let app: TestApp;
  const open = liveClients(() => app);
  const progressOf = (client: LiveClient, templateId: string) =>
    client.received.filter((e) => e.event === SOP_PROGRESS_EVENT && e.data.templateId === templateId).map((e) => e.data as unknown as Progress);
  const isProgress = (templateId: string, test: (p: Progress) => boolean) => (e: LiveEvent) =>
    e.event === SOP_PROGRESS_EVENT && e.data.templateId === templateId && test(e.data as unknown as Progress);
  const stepCount = (p: Pick<MonitorCounts, 'steps'>, step: string, status: string) => p.steps.filter((s) => s.step_id === step && s.status === status).reduce((n, s) => n + s.n, 0);
  const sum = (list: Progress[], pick: (c: ProgressChange) => number | undefined) => list.reduce((n, p) => n + (pick(p.changes) ?? 0), 0);

  before(async () => {
    app = await bootApp();
  });
  after(() => app.close());

  it('tells the console as customers enrol and their steps run, with the counts the monitor answers, and a cancelled enrolment', async () => {
    const admin = await open('admin');
    const member = await open('am.lina');
    const ops = await app.client().login('ops');
    const published = await ops.post('/api/v1/sop/templates/new-customer-7d/publish');
    expect(published.status, JSON.stringify(published.body)).to.equal(200);
    const templateId = published.body.id as string;
    // Two people add the account manager in WeCom: the add events enrol them, the engine runs their first steps.
    for (const name of ['周敏', '郑凯']) app.wecom.sandbox!.control.scanQr({ state: 'card-LiNa', customer: { name } });

    const settled = await admin.until(isProgress(templateId, (p) => p.enrollments.active === 2 && stepCount(p, 'day-1', 'waiting') === 2), 30_000, 'both enrolled and waiting at day-1');
    const live = settled.data as unknown as Progress;
    // The contacts are not linked to bank customers, so the tag step skips them.
    expect(stepCount(live, 'mark', 'skipped')).to.equal(2);
    const monitor = await ops.get(`/api/v1/sop/templates/${templateId}/monitor`);
    expect(monitor.status).to.equal(200);
    const { at: _at, ...counts } = monitor.body as MonitorCounts & { id: string; key: string; status: string };
    expect({ enrollments: live.enrollments, steps: live.steps, failures: live.failures }).to.deep.equal({ enrollments: counts.enrollments, steps: counts.steps, failures: counts.failures });
    expect(Date.parse(monitor.body.at)).to.be.at.least(Date.parse(live.at));
    // What changed, summed over the events so far: two enrolments, two tag steps skipped, two waits.
    const events = progressOf(admin, templateId).filter((p) => p.eventId <= settled.data.eventId!);
    expect(sum(events, (c) => c.enrolled)).to.equal(2);
    expect(sum(events, (c) => c.steps?.mark?.skipped)).to.equal(2);
    expect(sum(events, (c) => c.steps?.['day-1']?.waiting)).to.equal(2);

    // Cancelling one from the console is told too.
    const [enrollment] = (await ops.get(`/api/v1/sop/templates/${templateId}/enrollments?limit=1`)).body.enrollments as { id: string }[];
    expect((await ops.post(`/api/v1/sop/enrollments/${enrollment!.id}/cancel`)).status).to.equal(200);
    const cancelled = await admin.until(isProgress(templateId, (p) => p.enrollments.cancelled === 1), 20_000, 'the cancellation');
    expect(cancelled.data.enrollments).to.deep.include({ active: 1, cancelled: 1 });
    expect((cancelled.data as unknown as Progress).changes.enrollments).to.deep.equal({ cancelled: 1 });
    // Operations, not an account manager's business.
    expect(member.received.some((e) => e.event === SOP_PROGRESS_EVENT)).to.equal(false);
  });

  it('sends a run of 3,000 enrolments and steps as at most one event a second, whose changes add up to what happened', async () => {
    const admin = await open('ops');
    const db = app.database.db;
    const N = 3_000;
    await sql`INSERT INTO customers (cif_no, name, branch_id, marketing_consent)
              SELECT 'PROGRESS-' || g, '批量客户' || g, 'br-hz-xihu', true FROM generate_series(1, ${N}) g`.execute(db);
    // Simulated time in March 2027, ahead of the clock, so the app's own minute jobs leave this journey alone.
    const now = new Date('2027-03-02T02:00:00Z');
    const { templateId } = await publish(db, { key: 't-progress', name: '进度测试', trigger: { type: 'schedule', cron: '0 9 * * *', timezone: 'Asia/Shanghai' }, steps: [{ id: 'w', type: 'wait', duration: '1d' }] }, new Date('2027-03-01T00:00:00Z'));
    await db.updateTable('sop_templates').set({ fired_until: new Date('2027-03-02T00:30:00Z') }).where('id', '=', templateId).execute();
    const logger = createLogger({ level: 'silent' });
    const progress = new SopProgress({ db, logger, toConsole: (event, data) => app.realtime!.toConsole(event, data) });
    const customers = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM customers`.execute(db)).rows[0]!.n;

    const started = Date.now();
    // The clock's firing at 09:00 enrols every customer; the engine then runs 200 step runs a round.
    expect(await runClock({ db, events: app.events, logger, wake: async () => {}, progress }, now)).to.equal(customers);
    const advanced = await advanceDueSteps({ db, gate: app.gate, events: app.events, gateway: app.wecom.gateway, logger, progress }, { now, batch: 200 });
    expect(advanced.outcomes.waiting).to.equal(customers);
    await progress.flush();
    const elapsed = Date.now() - started;

    const last = await admin.until(isProgress(templateId, (p) => stepCount(p, 'w', 'waiting') === customers), 30_000, 'the last event');
    const events = progressOf(admin, templateId).filter((p) => p.eventId <= last.data.eventId!);
    expect(events.length).to.be.at.least(2);
    expect(events.length).to.be.at.most(Math.ceil(elapsed / SOP_PROGRESS_EVERY_MS) + 1);
    expect(events.length).to.be.lessThan(customers / 200);
    // Each event read its counts a second or more after the one before, and later than it.
    for (let i = 1; i < events.length - 1; i++) expect(Date.parse(events[i]!.at) - Date.parse(events[i - 1]!.at)).to.be.at.least(SOP_PROGRESS_EVERY_MS - 50);
    // Nothing lost between the events: the changes add up, the last counts are the final state.
    expect(sum(events, (c) => c.enrolled)).to.equal(customers);
    expect(sum(events, (c) => c.steps?.w?.waiting)).to.equal(customers);
    expect(last.data.enrollments).to.deep.equal({ active: customers });
    const monitor = await (await app.client().login('ops')).get(`/api/v1/sop/templates/${templateId}/monitor`);
    expect((last.data as unknown as Progress).steps).to.deep.equal(monitor.body.steps);
    expect(customers).to.be.at.least(N);
    await progress.close();
  });

  it('sends nothing once closed: a change not yet sent is dropped, and later ones are ignored', async () => {
    const admin = await open('admin');
    const db = app.database.db;
    const progress = new SopProgress({ db, logger: createLogger({ level: 'silent' }), toConsole: (event, data) => app.realtime!.toConsole(event, data) });
    const { templateId } = await publish(db, { key: 't-quiet-progress', name: '关闭测试', trigger: { type: 'event', event: 'card_visited' }, steps: [{ id: 'w', type: 'wait', duration: '1d' }] });
    progress.touch(templateId, { enrolled: 1 });
    await progress.close();
    progress.touch(templateId, { enrolled: 1 });
    await progress.flush();
    // A probe written after both touches arrives with nothing for the template before it.
    app.realtime!.toConsole('probe', { n: 1 });
    await admin.until((e) => e.event === 'probe');
    expect(progressOf(admin, templateId)).to.deep.equal([]);
  });
});
