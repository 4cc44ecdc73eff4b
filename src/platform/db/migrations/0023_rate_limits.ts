import { sql, type Kysely } from 'kysely';

/**
 * Hits per key and time window for limits that every web process must share (src/platform/rateLimit.ts): the public
 * card pages per client address, card shares per visitor. UNLOGGED: counters need no crash safety (a restart of
 * PostgreSQL resets them, as a restart of the limiter would) and write no WAL on the public pages' hot path.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE UNLOGGED TABLE rate_limit_hits (
      bucket text NOT NULL,
      key text NOT NULL,
      window_start timestamptz NOT NULL,
      count integer NOT NULL,
      PRIMARY KEY (bucket, key, window_start)
    )`.execute(db);
  await sql`CREATE INDEX rate_limit_hits_window ON rate_limit_hits (window_start)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS rate_limit_hits`.execute(db);
}
