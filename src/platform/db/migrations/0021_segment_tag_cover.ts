import { sql, type Kysely } from 'kysely';

/**
 * Tag conditions answered from the covering indexes (docs/benchmarks.md, "Segments").
 *
 * "AUM ≥ 50万 且 标签含 代发" and "R3及以上 且 测评有效 且 标签含任一 …" were bitmap plans: a bitmap index scan of
 * `customers_tag_nos` ANDed with one of 0009's covering indexes, then a bitmap heap scan that reads one heap page
 * for almost every customer found (21,600 and 70,300 pages of the ~1 GB heap at a million customers). PostgreSQL
 * 18 reads the heap page for every bitmap entry even when the page is all-visible and no column is needed (the
 * bitmap scan's skip-fetch shortcut is gone), so no bitmap plan counts without visiting the rows.
 *
 * `customers.tag_nos` is now carried in the covering indexes on `aum` and on `(risk_level, risk_assessed_at)`: the
 * count becomes an index-only scan of the range, the tag overlap checked on the index entry (no heap fetch while
 * the visibility map says the pages are all-visible). Updates that change `tag_nos` were never HOT (the column is
 * in the GIN index), so including it adds no index writes, only ~60 bytes an entry.
 *
 * Index-only scans need a vacuumed table: after a run that rewrote many customer rows (nightly scoring moving
 * bands, a rule tag recomputed, an import), the rewritten pages are not all-visible until VACUUM, and each of
 * their entries costs a heap fetch again. Autovacuum's default threshold for customers is 20% of the rows (200,000
 * at a million); it is lowered to 2% so a large run is vacuumed within minutes of finishing.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX customers_aum_tags ON customers (aum) INCLUDE (id, tag_nos)`.execute(db);
  await sql`CREATE INDEX customers_risk_tags ON customers (risk_level, risk_assessed_at) INCLUDE (id, tag_nos)`.execute(db);
  await sql`DROP INDEX customers_aum_id`.execute(db);
  await sql`DROP INDEX customers_risk_assessed`.execute(db);
  await sql`ALTER TABLE customers SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_insert_scale_factor = 0.02,
    autovacuum_analyze_scale_factor = 0.02)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE customers RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_insert_scale_factor, autovacuum_analyze_scale_factor)`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS customers_aum_id ON customers (aum) INCLUDE (id)`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS customers_risk_assessed ON customers (risk_level, risk_assessed_at) INCLUDE (id)`.execute(db);
  await sql`DROP INDEX IF EXISTS customers_aum_tags`.execute(db);
  await sql`DROP INDEX IF EXISTS customers_risk_tags`.execute(db);
}
