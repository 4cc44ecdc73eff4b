import { expect } from 'chai';
import { sql } from 'kysely';
import { testDatabase } from '../../test/harness.js';
import type { DatabaseHandle } from './db/database.js';
import { SharedRateLimiter } from './rateLimit.js';

describe('limits shared through the database', () => {
  let handle: DatabaseHandle;
  before(async () => {
    handle = await testDatabase();
  });
  after(() => handle?.close());
  beforeEach(() => sql`TRUNCATE rate_limit_hits`.execute(handle.db));

  it('counts the hits of every process on one key together, and says how many seconds to wait once over the limit', async () => {
    // Two limiters on the same bucket stand for two web processes.
    const first = new SharedRateLimiter(handle.db, 'test', 3, 3_600_000);
    const second = new SharedRateLimiter(handle.db, 'test', 3, 3_600_000);
    expect(await first.hit('1.2.3.4')).to.equal(undefined);
    expect(await second.hit('1.2.3.4')).to.equal(undefined);
    expect(await first.hit('1.2.3.4')).to.equal(undefined);
    const wait = await second.hit('1.2.3.4');
    expect(wait).to.be.a('number').within(1, 3600);
    expect(await first.hit('5.6.7.8'), 'another key has its own count').to.equal(undefined);
    expect(await new SharedRateLimiter(handle.db, 'other', 3, 3_600_000).hit('1.2.3.4'), 'another bucket too').to.equal(undefined);
  });

  it('starts a new count in the next window', async () => {
    const limiter = new SharedRateLimiter(handle.db, 'test', 1, 1_000);
    // Windows are aligned to whole seconds (the database's clock, on this machine): start just after a boundary.
    await new Promise((r) => setTimeout(r, 1_050 - (Date.now() % 1_000)));
    expect(await limiter.hit('k')).to.equal(undefined);
    const wait = await limiter.hit('k');
    expect(wait).to.equal(1);
    await new Promise((r) => setTimeout(r, 1_100));
    expect(await limiter.hit('k')).to.equal(undefined);
  });

  it('prunes its bucket’s windows that ended before the previous one, as the hits go', async () => {
    const limiter = new SharedRateLimiter(handle.db, 'test', 100, 60_000, 3);
    await sql`INSERT INTO rate_limit_hits (bucket, key, window_start, count) VALUES
      ('test', 'old', now() - interval '3 minutes', 5), ('test', 'recent', now() - interval '90 seconds', 5), ('other', 'old', now() - interval '1 day', 5)`.execute(handle.db);
    await limiter.hit('a');
    await limiter.hit('b');
    await limiter.hit('c'); // the third hit prunes
    const left = await sql<{ bucket: string; key: string }>`SELECT bucket, key FROM rate_limit_hits ORDER BY bucket, key`.execute(handle.db);
    expect(left.rows).to.deep.equal([
      { bucket: 'other', key: 'old' }, { bucket: 'test', key: 'a' }, { bucket: 'test', key: 'b' }, { bucket: 'test', key: 'c' }, { bucket: 'test', key: 'recent' },
    ]);
  });
});
