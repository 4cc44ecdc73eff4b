import { expect } from 'chai';
import { sql } from 'kysely';
import { bootApp, type TestApp } from '../../../test/harness.js';
import { finishedRun, metric, until } from '../../../test/wecom.js';
import { DEMO_CORP_ID } from '../../demo/seed.js';
import type { ReconcileReport } from './reconcile.js';

describe('WeCom sync against the sandbox', function () {
  this.timeout(90_000);
  let app: TestApp;
  const liveRelations = async () =>
    (await sql<{ n: number }>`SELECT count(*)::int AS n FROM follow_relations WHERE corp_id = ${DEMO_CORP_ID} AND deleted_at IS NULL`.execute(app.database.db)).rows[0]!.n;
  const sync = async () => {
    const ops = await app.client().login('ops');
    const started = await ops.post('/api/v1/wecom/sync', {});
    expect(started.status).to.equal(202);
    const run = await finishedRun(app, started.body.runId);
    expect(run.status, String(run.error)).to.equal('done');
    return run.report as unknown as ReconcileReport;
  };

  before(async () => {
    app = await bootApp({ DEMO_CUSTOMERS: '1000' });
  });
  after(() => app.close());

  it('brings members, corp tags, relation tags and groups over, and finds the seeded contacts already in agreement', async () => {
    const world = app.wecom.sandbox!.world;
    const report = await sync();
    expect(report.members.added).to.equal(world.members.size);
    expect(report.contacts).to.deep.equal({ added: 0, updated: 0 });
    expect(report.relations).to.deep.equal({ added: 0, updated: 0, restored: 0, removed: 0 });
    expect(await liveRelations()).to.equal(world.follows.size);
    const tagged = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM wecom_contact_tags`.execute(app.database.db)).rows[0]!.n;
    expect(tagged).to.equal([...world.follows.values()].reduce((n, f) => n + f.tagIds.length, 0));
    const groups = await app.database.db.selectFrom('wecom_groups').select('chat_id').execute();
    expect(groups).to.have.length(world.groupChats.size);
  });

  it('repairs drift that no callback reported, and says what it fixed', async () => {
    const control = app.wecom.sandbox!.control;
    const before = await liveRelations();
    const added = control.driftAddContact({ userid: 'ZhangWei', customer: { name: '漂移新增' } });
    const victim = [...app.wecom.sandbox!.world.follows.values()].find((f) => f.userid === 'LiNa')!;
    control.driftDeleteFollow({ userid: victim.userid, externalUserid: victim.external_userid });
    const tag = app.wecom.sandbox!.world.tagGroups[0]!.tag[0]!;
    control.driftRenameTag({ id: tag.id, name: '改名后的标签' });

    const report = await sync();
    expect(report.contacts.added).to.equal(1);
    expect(report.relations.added).to.equal(1);
    expect(report.relations.removed).to.equal(1);
    expect(report.tags.updated).to.equal(1);
    expect(report.samples['relations.added']).to.deep.equal([`ZhangWei→${added.externalUserid}`]);
    expect(report.samples['relations.removed']).to.deep.equal([`${victim.userid}→${victim.external_userid}`]);
    expect(await liveRelations()).to.equal(before);
    const renamed = await app.database.db.selectFrom('wecom_tags').select('name').where('tag_id', '=', tag.id).executeTakeFirstOrThrow();
    expect(renamed.name).to.equal('改名后的标签');
    const again = await sync();
    expect(again.relations).to.deep.equal({ added: 0, updated: 0, restored: 0, removed: 0 });
  });

  it('carries on when WeCom kills the token in the middle of a sync', async () => {
    const control = app.wecom.sandbox!.control;
    const tokensBefore = await metric(app, 'wecom_api_calls_total', { api: 'gettoken' });
    control.addFault({ api: 'externalcontact/batch/get_by_user', delayMs: 150 });
    const ops = await app.client().login('ops');
    const { runId } = (await ops.post('/api/v1/wecom/sync', {})).body;
    await until(async () => {
      const run = await app.database.db.selectFrom('wecom_sync_runs').select('checkpoint').where('id', '=', runId).executeTakeFirstOrThrow();
      const checkpoint = run.checkpoint as { step: string; pages?: number };
      return checkpoint.step === 'contacts' && (checkpoint.pages ?? 0) >= 1;
    });
    control.expireTokens();
    const run = await finishedRun(app, runId);
    control.clearFaults();
    expect(run.status).to.equal('done');
    expect(await metric(app, 'wecom_api_calls_total', { api: 'externalcontact/batch/get_by_user', errcode: '42001' })).to.equal(1);
    expect(await metric(app, 'wecom_api_calls_total', { api: 'gettoken' })).to.equal(tokensBefore + 1);
    expect((run.report as unknown as ReconcileReport).relations.removed).to.equal(0);
  });

  it('resumes an interrupted sync from its checkpoint instead of starting again', async () => {
    const control = app.wecom.sandbox!.control;
    const okPages = () => metric(app, 'wecom_api_calls_total', { api: 'externalcontact/batch/get_by_user', errcode: '0' });
    // A reference run gives the number of pages a whole sync reads.
    const reference = await okPages();
    await sync();
    const pagesPerRun = (await okPages()) - reference;
    expect(pagesPerRun).to.be.greaterThan(1);

    const start = await okPages();
    control.addFault({ api: 'externalcontact/batch/get_by_user', delayMs: 150 });
    const { runId } = (await (await app.client().login('ops')).post('/api/v1/wecom/sync', {})).body;
    await until(async () => {
      const run = await app.database.db.selectFrom('wecom_sync_runs').select('checkpoint').where('id', '=', runId).executeTakeFirstOrThrow();
      return ((run.checkpoint as { pages?: number }).pages ?? 0) >= 1;
    });
    control.clearFaults();
    control.addFault({ api: 'externalcontact/batch/get_by_user', httpStatus: 503 });
    const failed = await until(async () => {
      const run = await app.database.db.selectFrom('wecom_sync_runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
      return run.error ? run : undefined;
    });
    expect(failed.status).to.equal('running');
    expect(failed.error).to.match(/unavailable/);
    control.clearFaults();
    const done = await finishedRun(app, runId, 60_000);
    expect(done.status).to.equal('done');
    // Every page read once: the retry started from the saved cursor, not from the first page.
    expect((await okPages()) - start).to.equal(pagesPerRun);
  });
});
