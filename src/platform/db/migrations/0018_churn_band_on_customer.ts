import { sql, type Kysely } from 'kysely';

/**
 * The churn band on the customer row (docs/benchmarks.md, "Segments"): `customers.churn_band` is the `churn_band`
 * of the customer's customer_scores row, NULL when there is no row or the row has no band. "西湖或滨江支行 且
 * 流失风险高" then reads one covering index instead of intersecting a few hundred thousand customers of the
 * branches with a few hundred thousand score rows.
 *
 * Kept like 0009's tag_nos: statement-level triggers with transition tables on customer_scores (the nightly
 * scoring run upserts a page of 1,000 scores per statement), a guard refusing direct writes. Concurrency (READ
 * COMMITTED): customer_scores has one row per customer (its primary key), so two writers of one customer's score
 * are serialised by that row (or its key), and each copies the band while it still holds it; the customer row
 * therefore ends with the value of the last writer to commit. Removals read the table as it is at the end of the
 * statement, so an insert and a delete of one customer in the same statement (MERGE) cannot leave a stale value
 * whatever order their triggers fire in.
 */
async function mirror(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE customers ADD COLUMN churn_band text`.execute(db);

  await sql`
    CREATE FUNCTION customer_scores_band_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      -- Customer rows are locked in id order first, as 0009's triggers do, so that this and the tag_nos and
      -- last_contact_at maintenance of another transaction never wait on each other in a circle.
      PERFORM 1 FROM customers WHERE id IN (SELECT customer_id FROM new_rows) ORDER BY id FOR NO KEY UPDATE;
      UPDATE customers c SET churn_band = n.churn_band FROM new_rows n
      WHERE c.id = n.customer_id AND c.churn_band IS DISTINCT FROM n.churn_band;
      RETURN NULL;
    END $$`.execute(db);
  // The nightly run rewrites every score and moves few bands: rows whose customer and band are unchanged cancel
  // out here, before any customer row is visited. A row that left a customer (its key changed) re-reads the table.
  await sql`
    CREATE FUNCTION customer_scores_band_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM 1 FROM customers
       WHERE id IN (
         SELECT n.customer_id FROM new_rows n
          WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.customer_id = n.customer_id AND o.churn_band IS NOT DISTINCT FROM n.churn_band)
         UNION ALL SELECT o.customer_id FROM old_rows o WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.customer_id = o.customer_id))
       ORDER BY id FOR NO KEY UPDATE;
      UPDATE customers c SET churn_band = d.band
      FROM (
        SELECT n.customer_id, n.churn_band AS band FROM new_rows n
        WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.customer_id = n.customer_id AND o.churn_band IS NOT DISTINCT FROM n.churn_band)
        UNION ALL
        SELECT o.customer_id, (SELECT s.churn_band FROM customer_scores s WHERE s.customer_id = o.customer_id) FROM old_rows o
        WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.customer_id = o.customer_id)
      ) d
      WHERE c.id = d.customer_id AND c.churn_band IS DISTINCT FROM d.band;
      RETURN NULL;
    END $$`.execute(db);
  await sql`
    CREATE FUNCTION customer_scores_band_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM 1 FROM customers WHERE id IN (SELECT customer_id FROM old_rows) ORDER BY id FOR NO KEY UPDATE;
      UPDATE customers c SET churn_band = d.band
      FROM (SELECT o.customer_id, (SELECT s.churn_band FROM customer_scores s WHERE s.customer_id = o.customer_id) AS band FROM old_rows o) d
      WHERE c.id = d.customer_id AND c.churn_band IS DISTINCT FROM d.band;
      RETURN NULL;
    END $$`.execute(db);
  await sql`
    CREATE FUNCTION customer_scores_band_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE customers SET churn_band = NULL WHERE churn_band IS NOT NULL;
      RETURN NULL;
    END $$`.execute(db);

  await sql`CREATE TRIGGER customer_scores_band_insert AFTER INSERT ON customer_scores REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION customer_scores_band_insert()`.execute(db);
  await sql`CREATE TRIGGER customer_scores_band_update AFTER UPDATE ON customer_scores REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION customer_scores_band_update()`.execute(db);
  await sql`CREATE TRIGGER customer_scores_band_delete AFTER DELETE ON customer_scores REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION customer_scores_band_delete()`.execute(db);
  await sql`CREATE TRIGGER customer_scores_band_truncate AFTER TRUNCATE ON customer_scores
    FOR EACH STATEMENT EXECUTE FUNCTION customer_scores_band_truncate()`.execute(db);
}

/** Only the triggers above write the column (pg_trigger_depth() > 0); a new customer has no score yet. */
async function guard(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION customers_churn_band_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'customers.churn_band is maintained by triggers on customer_scores; write customer_scores instead'
        USING ERRCODE = 'check_violation';
    END $$`.execute(db);
  await sql`CREATE TRIGGER customers_churn_band_guard_update BEFORE UPDATE OF churn_band ON customers FOR EACH ROW
    WHEN (pg_trigger_depth() = 0 AND OLD.churn_band IS DISTINCT FROM NEW.churn_band)
    EXECUTE FUNCTION customers_churn_band_guard()`.execute(db);
  await sql`CREATE TRIGGER customers_churn_band_guard_insert BEFORE INSERT ON customers FOR EACH ROW
    WHEN (NEW.churn_band IS NOT NULL)
    EXECUTE FUNCTION customers_churn_band_guard()`.execute(db);
}

export async function up(db: Kysely<unknown>): Promise<void> {
  // No score may be written between the backfill's snapshot and the triggers taking over (all in this transaction).
  await sql`LOCK TABLE customer_scores, customers IN SHARE ROW EXCLUSIVE MODE`.execute(db);
  await mirror(db);
  await sql`UPDATE customers c SET churn_band = s.churn_band FROM customer_scores s WHERE s.customer_id = c.id AND s.churn_band IS NOT NULL`.execute(db);
  // Band first: "流失风险高" alone (a model-score segment) is one range on any PostgreSQL 14+, and with branches it
  // is one range probed per branch; INCLUDE (id) answers counts and id lists from the index alone.
  await sql`CREATE INDEX customers_band_branch ON customers (churn_band, branch_id) INCLUDE (id)`.execute(db);
  // Filters no longer read customer_scores by band, so the nightly run stops maintaining an index nobody reads.
  await sql`DROP INDEX customer_scores_band`.execute(db);
  await guard(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  const triggers: [string, string][] = [
    ['customers_churn_band_guard_update', 'customers'], ['customers_churn_band_guard_insert', 'customers'],
    ['customer_scores_band_insert', 'customer_scores'], ['customer_scores_band_update', 'customer_scores'],
    ['customer_scores_band_delete', 'customer_scores'], ['customer_scores_band_truncate', 'customer_scores'],
  ];
  for (const [name, table] of triggers) await sql`DROP TRIGGER IF EXISTS ${sql.id(name)} ON ${sql.table(table)}`.execute(db);
  for (const fn of ['customers_churn_band_guard', 'customer_scores_band_insert', 'customer_scores_band_update', 'customer_scores_band_delete', 'customer_scores_band_truncate']) {
    await sql`DROP FUNCTION IF EXISTS ${sql.id(fn)}()`.execute(db);
  }
  await sql`ALTER TABLE customers DROP COLUMN IF EXISTS churn_band`.execute(db); // takes customers_band_branch with it
  await sql`CREATE INDEX IF NOT EXISTS customer_scores_band ON customer_scores (churn_band) INCLUDE (customer_id)`.execute(db);
}
