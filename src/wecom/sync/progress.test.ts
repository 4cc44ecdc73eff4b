import { expect } from 'chai';
import { bootApp, type TestApp } from '../../../test/harness.js';
import { liveClients, type LiveEvent } from '../../../test/sockets.js';
import { finishedRun, metric } from '../../../test/wecom.js';
import type { ReconcileProgress } from './reconcile.js';

describe('live progress of a WeCom sync on the console room', function () {
  this.timeout(120_000);
  let app: TestApp;
  const open = liveClients(() => app);
  const ofRun = (runId: string, event: string) => (e: LiveEvent) => e.event === event && e.data.runId === runId;

  before(async () => {
    app = await bootApp({ DEMO_CUSTOMERS: '2000' });
  });
  afterEach(() => app.wecom.sandbox!.control.clearFaults());
  after(() => app.close());

  it('streams each step of a sync in order with a rising estimate, fewer contacts updates than pages (at most one a second), then done with the stored report', async () => {
    const admin = await open('admin');
    const member = await open('am.zhangwei');
    // Slow pages, so that the contacts step lasts a few seconds.
    app.wecom.sandbox!.control.addFault({ api: 'externalcontact/batch/get_by_user', delayMs: 250 });
    const pagesBefore = await metric(app, 'wecom_api_calls_total', { api: 'externalcontact/batch/get_by_user', errcode: '0' });
    const started = await (await app.client().login('admin')).post('/api/v1/wecom/sync', {});
    expect(started.status).to.equal(202);
    const { runId } = started.body as { runId: string };

    const done = await admin.until(ofRun(runId, 'wecom.sync.done'), 60_000, 'wecom.sync.done');
    const progress = admin.received.filter(ofRun(runId, 'wecom.sync.progress')).map((e) => e.data as unknown as ReconcileProgress & { eventId: number });
    // Every step is announced, in order, ending with `done` at 100 %.
    const steps = progress.map((p) => p.step).filter((s, i, all) => s !== all[i - 1]);
    expect(steps).to.deep.equal(['directory', 'tags', 'contacts', 'groups', 'retire', 'done']);
    expect(progress.map((p) => p.stepNumber).filter((n, i, all) => n !== all[i - 1])).to.deep.equal([1, 2, 3, 4, 5]);
    const percents = progress.map((p) => p.percent);
    expect(percents).to.deep.equal([...percents].sort((a, b) => a - b));
    expect(percents.at(-1)).to.equal(100);
    // Inside the contacts step: pages were read, but told at most once a second.
    const contacts = progress.filter((p) => p.step === 'contacts' && p.contacts);
    expect(contacts.length).to.be.greaterThan(0);
    const last = contacts.at(-1)!.contacts!;
    expect(last.seen).to.be.greaterThan(0);
    expect(last.chunks).to.equal(Math.ceil(app.wecom.sandbox!.world.members.size / 100));
    const pages = (await metric(app, 'wecom_api_calls_total', { api: 'externalcontact/batch/get_by_user', errcode: '0' })) - pagesBefore;
    expect(pages).to.be.greaterThan(4);
    expect(contacts.length).to.be.lessThan(pages);
    const run = await finishedRun(app, runId);
    // The end: the report as stored, the progress never carrying the samples.
    expect(done.data).to.include({ runId, corpId: app.wecom.sandbox!.world.corpId, cause: `member:${(await app.database.db.selectFrom('staff').select('id').where('username', '=', 'admin').executeTakeFirstOrThrow()).id}` });
    expect(done.data.report).to.deep.equal(run.report);
    expect((done.data.report as { members: { added: number } }).members.added).to.equal(app.wecom.sandbox!.world.members.size);
    expect(progress.every((p) => !('samples' in p.counts))).to.equal(true);
    expect(done.data.eventId).to.be.greaterThan(progress.at(-1)!.eventId);
    // Operations, not an account manager's business.
    expect(member.received.some((e) => e.event.startsWith('wecom.sync.'))).to.equal(false);
  });

  it('tells the console of a failed attempt with its error and that it will be retried, then the retry that finished the run', async () => {
    const admin = await open('admin');
    // One page of contacts is refused with a permission error: the attempt fails, the job retries from the checkpoint.
    app.wecom.sandbox!.control.addFault({ api: 'externalcontact/batch/get_by_user', errcode: 60011, count: 1 });
    const { runId } = (await (await app.client().login('ops')).post('/api/v1/wecom/sync', {})).body as { runId: string };

    const failed = await admin.until(ofRun(runId, 'wecom.sync.failed'), 30_000, 'wecom.sync.failed');
    expect(failed.data).to.include({ runId, attempt: 1, attempts: 6, willRetry: true });
    expect(failed.data.error).to.match(/^WeCom externalcontact\/batch\/get_by_user failed with 60011/);
    const listed = (await (await app.client().login('admin')).get('/api/v1/wecom/sync/runs?limit=5')).body.items.find((r: { id: string }) => r.id === runId);
    expect(listed).to.include({ status: 'running', error: failed.data.error });
    expect(listed.started_by.display_name).to.be.a('string').and.not.equal('');

    const done = await admin.until(ofRun(runId, 'wecom.sync.done'), 60_000, 'wecom.sync.done after the retry');
    expect(done.data.eventId).to.be.greaterThan(failed.data.eventId!);
    // The retry went on from the contacts step rather than starting again.
    const after = admin.received.filter((e) => ofRun(runId, 'wecom.sync.progress')(e) && e.data.eventId! > failed.data.eventId!);
    expect(after[0]!.data.step).to.equal('contacts');
    const run = await finishedRun(app, runId);
    expect(run).to.include({ status: 'done', error: null });
  });

  it('refuses a second sync of the corp while one runs, naming the running one', async () => {
    app.wecom.sandbox!.control.addFault({ api: 'externalcontact/batch/get_by_user', delayMs: 200 });
    const ops = await app.client().login('ops');
    const first = await ops.post('/api/v1/wecom/sync', {});
    expect(first.status).to.equal(202);
    const second = await ops.post('/api/v1/wecom/sync', {});
    expect(second.status).to.equal(409);
    expect(second.body.error.message).to.contain(first.body.runId);
    app.wecom.sandbox!.control.clearFaults();
    expect((await finishedRun(app, first.body.runId, 60_000)).status).to.equal('done');
    const third = await ops.post('/api/v1/wecom/sync', {});
    expect(third.status).to.equal(202);
    expect((await finishedRun(app, third.body.runId, 60_000)).status).to.equal('done');
    const audited = await app.database.db.selectFrom('audit_log').select('detail').where('action', '=', 'wecom.sync').execute();
    expect(audited.map((a) => (a.detail as { runId: string }).runId)).to.include.members([first.body.runId, third.body.runId]);
  });
});
