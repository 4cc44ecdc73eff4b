import { expect } from 'chai';
import { sql } from 'kysely';
import type { JobRunner, JobSpec } from '../platform/jobs.js';
import { createLogger } from '../platform/logger.js';
import { cronProblem, createSegment, defineSegmentJobs, isDue, parseCron, previousRun, REFRESH_JOB, scheduleSegmentJobs } from './index.js';
import { byOps, segmentWorld, type SegmentWorld } from './testing.js';

const at = (local: string) => new Date(`${local}+08:00`);

describe('segment refresh schedules (cron in China time)', () => {
  const prev = (expr: string, when: string) => previousRun(parseCron(expr), at(when))?.toISOString();

  it('finds the latest selected minute at or before an instant', () => {
    expect(prev('*/15 * * * *', '2026-11-23T10:07:30')).to.equal(at('2026-11-23T10:00:00').toISOString());
    expect(prev('*/15 * * * *', '2026-11-23T10:15:00')).to.equal(at('2026-11-23T10:15:00').toISOString());
    expect(prev('30 2 * * *', '2026-11-23T01:00:00')).to.equal(at('2026-11-22T02:30:00').toISOString());
    expect(prev('0 9 * * 1', '2026-11-23T08:00:00')).to.equal(at('2026-11-16T09:00:00').toISOString()); // 23 Nov 2026 is a Monday
    expect(prev('0 9 * * 7', '2026-11-23T08:00:00')).to.equal(at('2026-11-22T09:00:00').toISOString()); // 7 is Sunday too
    expect(prev('0 0 29 2 *', '2026-11-23T08:00:00')).to.equal(at('2024-02-29T00:00:00').toISOString());
    expect(prev('0 8-18/5 * 1,4 *', '2026-11-23T08:00:00')).to.equal(at('2026-04-30T18:00:00').toISOString());
  });

  it('runs on a day matching either day field when both are restricted, as classic cron does', () => {
    // The 1st of the month or a Sunday: before Monday 23 November comes Sunday 22 November.
    expect(prev('0 0 1 * 0', '2026-11-23T08:00:00')).to.equal(at('2026-11-22T00:00:00').toISOString());
    expect(prev('0 0 1 * 0', '2026-11-02T08:00:00')).to.equal(at('2026-11-01T00:00:00').toISOString());
  });

  it('says which field of a bad expression is wrong', () => {
    expect(cronProblem('*/15 * * * *')).to.equal(null);
    expect(cronProblem('61 * * * *')).to.contain('minute');
    expect(cronProblem('0 0 * 13 *')).to.contain('month');
    expect(cronProblem('0 0 * *')).to.contain('five fields');
    expect(cronProblem('0 0 * * mon')).to.contain('day of week');
  });

  it('is due when never refreshed or when a selected minute passed since the last refresh', () => {
    expect(isDue('0 * * * *', null, at('2026-11-23T10:30:00'))).to.equal(true);
    expect(isDue('0 * * * *', at('2026-11-23T09:59:00'), at('2026-11-23T10:30:00'))).to.equal(true);
    expect(isDue('0 * * * *', at('2026-11-23T10:00:30'), at('2026-11-23T10:30:00'))).to.equal(false);
  });
});

describe('the segments.refresh job', () => {
  let w: SegmentWorld;
  before(async function () {
    this.timeout(120_000);
    w = await segmentWorld();
  });
  after(() => w?.handle.close());

  /** A JobRunner that only records what is defined and scheduled. */
  function recordingRunner() {
    const specs = new Map<string, JobSpec<never>>();
    const every: { name: string; interval: string | number; payload: unknown }[] = [];
    const runner = {
      define: (spec: JobSpec<never>) => void specs.set(spec.name, spec),
      every: async (name: string, interval: string | number, payload: unknown) => void every.push({ name, interval, payload }),
    } as unknown as JobRunner;
    return { runner, specs, every };
  }

  it('is scheduled once, every 15 minutes', async () => {
    const { runner, every } = recordingRunner();
    await scheduleSegmentJobs(runner);
    expect(every).to.deep.equal([{ name: REFRESH_JOB, interval: '*/15 * * * *', payload: {} }]);
  });

  it('re-counts the segments whose schedule is due and leaves the others as they were', async () => {
    const db = w.handle.db;
    const filter = { field: 'aum', op: 'gte', value: 50_000 };
    const make = async (name: string, refreshCron: string | null) =>
      (await createSegment(db, { name, refreshCron, definition: { method: 'rule', filter } }, byOps({ now: at('2026-11-23T09:30:00') }))).segment;
    const hourly = await make('每小时', '0 * * * *');
    const nightly = await make('每晚', '30 2 * * *');
    const manual = await make('手动', null);
    const expected = w.oracle(filter).size;
    // Counts are stale: pretend every segment was counted at 0 customers.
    await sql`UPDATE segments SET member_count = 0`.execute(db);

    const { runner, specs } = recordingRunner();
    const clock = at('2026-11-23T10:05:00');
    defineSegmentJobs(runner, { db, now: () => clock });
    const spec = specs.get(REFRESH_JOB)!;
    const logger = createLogger({ level: 'silent' });
    await spec.handler({} as never, { jobId: 'j', name: REFRESH_JOB, attempt: 1, cause: { type: 'system' }, logger });

    const rows = new Map((await db.selectFrom('segments').select(['id', 'member_count', 'refreshed_at']).execute()).map((r) => [r.id, r]));
    expect(rows.get(hourly.id)).to.deep.include({ member_count: expected });
    expect(rows.get(hourly.id)!.refreshed_at!.toISOString()).to.equal(clock.toISOString());
    // 02:30 had passed before the 09:30 creation count, and 10:05 is not yet the next 02:30.
    expect(rows.get(nightly.id)).to.deep.include({ member_count: 0 });
    expect(rows.get(manual.id)).to.deep.include({ member_count: 0 });

    // A payload naming a segment refreshes it whatever its schedule.
    await spec.handler({ segmentId: manual.id } as never, { jobId: 'k', name: REFRESH_JOB, attempt: 1, cause: { type: 'system' }, logger });
    const refreshed = await db.selectFrom('segments').select('member_count').where('id', '=', manual.id).executeTakeFirstOrThrow();
    expect(refreshed.member_count).to.equal(expected);
  });
});
