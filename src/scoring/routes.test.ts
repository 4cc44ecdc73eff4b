import { expect } from 'chai';
import { bootApp, type TestApp, type TestClient } from '../../test/harness.js';
import { runScoring, SCORING_JOB } from './job.js';
import { createLogger } from '../platform/logger.js';

describe('scores over HTTP', () => {
  let app: TestApp;
  let ops: TestClient;
  let lina: TestClient;

  before(async () => {
    app = await bootApp({ DEMO_CUSTOMERS: '300' });
    // The demo seed planted a history of lost customers, so the churn model trains on the demo bank.
    await runScoring({ db: app.database.db, logger: createLogger({ level: 'silent' }) }, { now: new Date('2026-11-23T10:00:00+08:00') });
    ops = await app.client().login('ops');
    lina = await app.client().login('am.lina');
  });
  after(() => app.close());

  it('shows a customer’s RFM class, churn band with reasons and recommendations with their suitability reason', async () => {
    const scored = await app.database.db.selectFrom('customer_scores').select('customer_id').where('churn_band', '=', 'high').executeTakeFirstOrThrow();
    const r = await ops.get(`/api/v1/customers/${scored.customer_id}/scores`);
    expect(r.status).to.equal(200);
    expect(r.body.rfm.class).to.be.a('string');
    expect(['low', 'medium', 'high']).to.include(r.body.churn.band);
    expect(r.body.churn.reasons).to.be.an('array').that.is.not.empty;
    expect(r.body.propensity).to.be.an('array');
  });

  it('answers 404 for a customer outside the account manager’s scope, and 400 naming a malformed id', async () => {
    const lina_ = await app.database.db.selectFrom('staff').select('wecom_userid').where('username', '=', 'am.lina').executeTakeFirstOrThrow();
    const outside = await app.database.db
      .selectFrom('customers')
      .select('id')
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('external_contacts as ec').innerJoin('follow_relations as fr', (j) => j.onRef('fr.external_userid', '=', 'ec.external_userid')).select('ec.customer_id').whereRef('ec.customer_id', '=', 'customers.id').where('fr.userid', '=', lina_.wecom_userid!))),
      )
      .executeTakeFirstOrThrow();
    expect((await lina.get(`/api/v1/customers/${outside.id}/scores`)).status).to.equal(404);
    const bad = await ops.get('/api/v1/customers/not-a-uuid/scores');
    expect(bad.status).to.equal(400);
    expect(bad.body.error.issues[0].path).to.equal('params.id');
  });

  it('queues one scoring run on demand, once per minute, and refuses account managers', async () => {
    const first = await ops.post('/api/v1/scoring/run');
    expect(first.status).to.equal(202);
    expect(first.body.queued).to.equal(true);
    const jobs = await app.database.pool.query(`SELECT count(*)::int AS n FROM agenda_jobs WHERE name = $1 AND data->>'jobKey' = $2`, [SCORING_JOB, first.body.key]);
    expect(jobs.rows[0].n).to.equal(1);
    expect((await lina.post('/api/v1/scoring/run')).status).to.equal(403);
  });
});

describe('the first sandbox start', () => {
  it('queues the fact tags and a scoring run for the freshly seeded demo bank, and the churn model trains on its history', async () => {
    const app = await bootApp({ DEMO_CUSTOMERS: '200', DEMO_SCORE_ON_SEED: 'true' });
    try {
      const jobs = await app.database.pool.query<{ name: string }>(`SELECT name FROM agenda_jobs WHERE data->>'jobKey' = 'demo-seed' ORDER BY name`);
      expect(jobs.rows.map((r) => r.name)).to.deep.equal([SCORING_JOB, 'tags.nightly']);
      const summary = await runScoring({ db: app.database.db, logger: createLogger({ level: 'silent' }) }, { now: new Date() });
      expect(summary.churn.trained).to.equal(true);
      expect(summary.churn.positives).to.be.greaterThan(0);
    } finally {
      await app.close();
    }
  });
});
