import { sql } from 'kysely';
import type { Db } from './db/database.js';

/**
 * A limit shared by every process on the database: fixed windows of `windowMs` (aligned to the epoch, by the
 * database's clock), one counter row per key and window (`rate_limit_hits`, migration 0023), incremented by one
 * upsert per hit. Windows two or more behind are pruned by the hits themselves now and then, so the table holds
 * about two windows of keys.
 */
export class SharedRateLimiter {
  private hits = 0;

  constructor(
    private readonly db: Db,
    private readonly bucket: string,
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly pruneEvery = 1_000,
  ) {
    if (!Number.isSafeInteger(windowMs) || windowMs < 1_000) throw new Error('rate limit: the window is a whole number of milliseconds, at least 1,000');
  }

  /** Seconds to wait when the key is over its limit, else undefined; every hit is counted. */
  async hit(key: string): Promise<number | undefined> {
    const window = sql`to_timestamp(floor(extract(epoch FROM now()) * 1000 / ${this.windowMs}::bigint) * ${this.windowMs}::bigint / 1000.0)`;
    const { rows } = await sql<{ count: number; wait_ms: number }>`
      INSERT INTO rate_limit_hits AS r (bucket, key, window_start, count) VALUES (${this.bucket}, ${key}, ${window}, 1)
      ON CONFLICT (bucket, key, window_start) DO UPDATE SET count = r.count + 1
      RETURNING r.count, ceil(extract(epoch FROM r.window_start - now()) * 1000 + ${this.windowMs}::bigint)::int AS wait_ms`.execute(this.db);
    if (++this.hits % this.pruneEvery === 0) await this.prune();
    const row = rows[0]!;
    return row.count > this.limit ? Math.max(1, Math.ceil(row.wait_ms / 1000)) : undefined;
  }

  /** Deletes this bucket's windows that ended before the previous one began. */
  async prune(): Promise<number> {
    const result = await sql`DELETE FROM rate_limit_hits WHERE bucket = ${this.bucket}
      AND window_start < now() - make_interval(secs => ${(2 * this.windowMs) / 1000})`.execute(this.db);
    return Number(result.numAffectedRows ?? 0);
  }
}
