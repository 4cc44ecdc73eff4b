import { expect } from 'chai';
import { z } from 'zod';
import { createLogger } from './logger.js';
import { createJobRunner, type JobRunner } from './jobs.js';
import { testDatabase, LogCapture } from '../../test/harness.js';
import type { DatabaseHandle } from './db/database.js';

const until = async (check: () => boolean | Promise<boolean>, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('jobs', () => {
  let database: DatabaseHandle;
  let jobs: JobRunner;
  const logs = new LogCapture();
  before(async () => {
    database = await testDatabase();
    jobs = createJobRunner({ pool: database.pool, logger: createLogger({ level: 'info', destination: logs }), processEveryMs: 100 });
  });
  after(async () => {
    await jobs.stop();
    await database.close();
  });

  it('retries a job that fails, with backoff, until it succeeds', async () => {
    const attempts: number[] = [];
    jobs.define({
      name: 'test.flaky',
      payload: z.object({ customerId: z.string() }),
      retryDelayMs: 200,
      handler: async (payload, context) => {
        attempts.push(context.attempt);
        if (context.attempt < 3) throw new Error(`flaky failure ${context.attempt} for ${payload.customerId}`);
      },
    });
    await jobs.start();
    await jobs.enqueue('test.flaky', { customerId: 'c-1' }, { key: 'flaky:c-1', cause: { type: 'system', id: 'test' } });
    await until(() => attempts.length === 3);
    expect(attempts).to.deep.equal([1, 2, 3]);
    const failures = logs.lines.filter((l) => l.msg === 'job failed');
    expect(failures).to.have.length(2);
    expect(failures[0]).to.include({ job: 'test.flaky', jobKey: 'flaky:c-1' });
    expect(failures[0]!.cause).to.deep.equal({ type: 'system', id: 'test' });
  });

  it('runs one job per deterministic key however often it is enqueued', async () => {
    let runs = 0;
    jobs.define({ name: 'test.once', payload: z.object({ n: z.number() }), handler: async () => void runs++ });
    const cause = { type: 'sop', id: 'tmpl-1' } as const;
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => jobs.enqueue('test.once', { n }, { key: 'once:a', cause })));
    expect(results.filter(Boolean)).to.have.length(1);
    await until(() => runs === 1);
    await new Promise((r) => setTimeout(r, 500));
    expect(runs).to.equal(1);
  });

  it('refuses a payload that does not match the job’s schema, naming the field', async () => {
    try {
      await jobs.enqueue('test.flaky', { customerId: 42 }, { cause: { type: 'system' } });
      expect.fail('should have thrown');
    } catch (error) {
      expect((error as { details: { issues: { path: string }[] } }).details.issues[0]!.path).to.equal('payload.customerId');
    }
  });

  it('hands the handler what caused the job', async () => {
    const seen: unknown[] = [];
    jobs.define({ name: 'test.cause', payload: z.object({}), handler: async (_p, context) => void seen.push(context.cause) });
    await jobs.enqueue('test.cause', {}, { cause: { type: 'member', id: 'staff-9' } });
    await until(() => seen.length === 1);
    expect(seen[0]).to.deep.equal({ type: 'member', id: 'staff-9' });
  });

  it('enqueues many jobs in one call, each run once with its payload and cause, skipping keys already there', async () => {
    const seen: { n: number; cause: unknown; key: string | undefined }[] = [];
    jobs.define({ name: 'test.bulk', payload: z.object({ n: z.number() }), handler: async (p, context) => void seen.push({ n: p.n, cause: context.cause, key: context.key }) });
    const cause = { type: 'sop', id: 'enrollment-1' } as const;
    expect(await jobs.enqueue('test.bulk', { n: 0 }, { key: 'bulk:0', cause })).to.equal(true);
    const items = [0, 1, 2, 3, 4, 2].map((n) => ({ payload: { n }, key: `bulk:${n}`, cause }));
    // bulk:0 exists already and bulk:2 is given twice: four new jobs.
    expect(await jobs.enqueueMany('test.bulk', items)).to.equal(4);
    await until(() => seen.length === 5);
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.map((s) => s.n).sort()).to.deep.equal([0, 1, 2, 3, 4]);
    expect(seen.every((s) => s.key === `bulk:${s.n}` && (s.cause as { id: string }).id === 'enrollment-1')).to.equal(true);
    expect(await jobs.enqueueMany('test.bulk', items)).to.equal(0);
  });

  it('writes none of a bulk enqueue when one payload is wrong, and names the item and field', async () => {
    const cause = { type: 'system' } as const;
    try {
      await jobs.enqueueMany('test.bulk', [{ payload: { n: 10 }, key: 'bulk:10', cause }, { payload: { n: 'x' }, key: 'bulk:11', cause }]);
      expect.fail('should have thrown');
    } catch (error) {
      expect((error as { details: { issues: { path: string }[] } }).details.issues[0]!.path).to.equal('1.payload.n');
    }
    const { rows } = await database.pool.query(`SELECT count(*)::int AS n FROM agenda_jobs WHERE data->>'jobKey' IN ('bulk:10', 'bulk:11')`);
    expect(rows[0].n).to.equal(0);
  });
});
