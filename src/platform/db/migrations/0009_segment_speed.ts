import { sql, type Kysely } from 'kysely';

/**
 * Segment counting over one table (docs/benchmarks.md, "Segments").
 *
 * - Covering indexes (INCLUDE (id)) for the customer fields segments compare most, replacing the plain ones:
 *   customer rows are wide (encrypted fields), so a count answered from an index need not visit the heap.
 * - `tags.tag_no`: a small integer per tag (identity, never reused), beside the uuid every reference keeps using.
 * - `customers.tag_nos integer[]` (GIN): the tag_no of every customer_tags row of the customer, deleted tags
 *   included (filters exclude those by looking the references up in `tags`), sorted and without duplicates.
 * - `customers.last_contact_at`: the filter grammar's "last contact" — the latest of the customer's follow
 *   relations being added (through external_contacts.customer_id, deleted relations included) and their
 *   message_in / message_out timeline events; NULL when there is none.
 *
 * Both columns are maintained by triggers on their sources, so every writer (the application, a job, a hand-run
 * statement) keeps them right, and a guard refuses direct writes. Concurrency (READ COMMITTED): additions are
 * increments applied to the row's latest version (`tag_nos` ∪ added, `GREATEST`), so concurrent writers compose;
 * changes that can lower `last_contact_at` lock the customer rows first (in id order) and then recompute in a
 * new statement, whose snapshot includes everything committed before the lock was granted. Raising also locks
 * first, so a raise never slips past a concurrent recompute that could not see it.
 */
const MESSAGE_KINDS = sql`('message_in', 'message_out')`;

async function coveringIndexes(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX customers_aum_id ON customers (aum) INCLUDE (id)`.execute(db);
  await sql`CREATE INDEX customers_branch_id ON customers (branch_id) INCLUDE (id)`.execute(db);
  await sql`CREATE INDEX customers_risk_assessed ON customers (risk_level, risk_assessed_at) INCLUDE (id)`.execute(db);
  // An expression index serves an index-only scan only when the columns under the expression are included.
  await sql`CREATE INDEX customers_birth_md_cover ON customers (((EXTRACT(MONTH FROM birth_date) * 100 + EXTRACT(DAY FROM birth_date))::int))
    INCLUDE (birth_date, marketing_consent, id)`.execute(db);
  await sql`CREATE INDEX customer_scores_band ON customer_scores (churn_band) INCLUDE (customer_id)`.execute(db);
  for (const index of ['customers_aum', 'customers_branch', 'customers_risk', 'customers_birth_md']) await sql`DROP INDEX ${sql.ref(index)}`.execute(db);
}

/** Tag numbers: the set operations of `customers.tag_nos`, and the triggers that mirror customer_tags into it. */
async function tagNumbers(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE tags ADD COLUMN tag_no integer GENERATED ALWAYS AS IDENTITY`.execute(db);
  await sql`ALTER TABLE tags ADD CONSTRAINT tags_tag_no UNIQUE (tag_no)`.execute(db);
  await sql`ALTER TABLE customers ADD COLUMN tag_nos integer[] NOT NULL DEFAULT '{}'`.execute(db);

  await sql`
    CREATE FUNCTION tag_nos_apply(held integer[], removed integer[], added integer[]) RETURNS integer[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT coalesce(array_agg(n ORDER BY n), '{}') FROM (
        (SELECT unnest(held) EXCEPT SELECT unnest(removed)) UNION SELECT unnest(added)) AS x(n)
    $$`.execute(db);
  // One UPDATE per statement, not per row: a nightly fact or rule run changes hundreds of thousands of rows.
  await sql`
    CREATE FUNCTION customer_tags_mirror_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE customers c SET tag_nos = tag_nos_apply(c.tag_nos, NULL, d.added)
      FROM (SELECT n.customer_id, array_agg(t.tag_no) AS added FROM new_rows n JOIN tags t ON t.id = n.tag_id GROUP BY n.customer_id) d
      WHERE c.id = d.customer_id AND NOT c.tag_nos @> d.added;
      RETURN NULL;
    END $$`.execute(db);
  await sql`
    CREATE FUNCTION customer_tags_mirror_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE customers c SET tag_nos = tag_nos_apply(c.tag_nos, d.removed, NULL)
      FROM (SELECT o.customer_id, array_agg(t.tag_no) AS removed FROM old_rows o JOIN tags t ON t.id = o.tag_id GROUP BY o.customer_id) d
      WHERE c.id = d.customer_id AND c.tag_nos && d.removed;
      RETURN NULL;
    END $$`.execute(db);
  // Most updates only change source, cause or assigned_at (upserts, re-caused rules): those pairs cancel out.
  await sql`
    CREATE FUNCTION customer_tags_mirror_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE customers c SET tag_nos = tag_nos_apply(c.tag_nos, d.removed, d.added)
      FROM (
        SELECT p.customer_id, array_agg(t.tag_no) FILTER (WHERE NOT p.added) AS removed, array_agg(t.tag_no) FILTER (WHERE p.added) AS added
        FROM (
          (SELECT customer_id, tag_id, false AS added FROM old_rows EXCEPT SELECT customer_id, tag_id, false FROM new_rows)
          UNION ALL
          (SELECT customer_id, tag_id, true FROM new_rows EXCEPT SELECT customer_id, tag_id, true FROM old_rows)
        ) p JOIN tags t ON t.id = p.tag_id
        GROUP BY p.customer_id) d
      WHERE c.id = d.customer_id;
      RETURN NULL;
    END $$`.execute(db);
  await sql`
    CREATE FUNCTION customer_tags_mirror_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE customers SET tag_nos = '{}' WHERE tag_nos <> '{}';
      RETURN NULL;
    END $$`.execute(db);
  // A hard-deleted tag takes its assignments with it (ON DELETE CASCADE); by the time customer_tags' trigger runs
  // the tag row, and so its number, is gone, so the number is removed here.
  await sql`
    CREATE FUNCTION tags_mirror_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE customers SET tag_nos = array_remove(tag_nos, OLD.tag_no) WHERE tag_nos @> ARRAY[OLD.tag_no];
      RETURN NULL;
    END $$`.execute(db);

  await sql`CREATE TRIGGER customer_tags_mirror_insert AFTER INSERT ON customer_tags REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION customer_tags_mirror_insert()`.execute(db);
  await sql`CREATE TRIGGER customer_tags_mirror_delete AFTER DELETE ON customer_tags REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION customer_tags_mirror_delete()`.execute(db);
  await sql`CREATE TRIGGER customer_tags_mirror_update AFTER UPDATE ON customer_tags REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION customer_tags_mirror_update()`.execute(db);
  await sql`CREATE TRIGGER customer_tags_mirror_truncate AFTER TRUNCATE ON customer_tags FOR EACH STATEMENT EXECUTE FUNCTION customer_tags_mirror_truncate()`.execute(db);
  await sql`CREATE TRIGGER tags_mirror_delete AFTER DELETE ON tags FOR EACH ROW EXECUTE FUNCTION tags_mirror_delete()`.execute(db);
}

/** Last contact: the value from its sources, the two ways of keeping it, and the triggers that call them. */
async function lastContact(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE customers ADD COLUMN last_contact_at timestamptz`.execute(db);

  await sql`
    CREATE FUNCTION customer_last_contact(customer uuid) RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS $$
      SELECT GREATEST(
        (SELECT max(fr.added_at) FROM external_contacts ec
          JOIN follow_relations fr ON fr.corp_id = ec.corp_id AND fr.external_userid = ec.external_userid
          WHERE ec.customer_id = customer),
        (SELECT max(te.at) FROM timeline_events te WHERE te.customer_id = customer AND te.kind IN ${MESSAGE_KINDS}))
    $$`.execute(db);
  // Locks first, in id order (so two writers cannot deadlock on each other's customers), then raises. The lock
  // is taken even when nothing rises: a concurrent recompute must either wait for this contact or be waited for.
  await sql`
    CREATE FUNCTION customers_contact_raise(customer_ids uuid[], ats timestamptz[]) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM 1 FROM customers WHERE id = ANY(customer_ids) ORDER BY id FOR NO KEY UPDATE;
      UPDATE customers c SET last_contact_at = v.at
      FROM (SELECT u.id, max(u.at) AS at FROM unnest(customer_ids, ats) AS u(id, at) WHERE u.id IS NOT NULL AND u.at IS NOT NULL GROUP BY u.id) v
      WHERE c.id = v.id AND (c.last_contact_at IS NULL OR c.last_contact_at < v.at);
    END $$`.execute(db);
  // A delete or a move can lower the value: lock, then recompute in a new statement (a fresh snapshot in READ
  // COMMITTED, which sees every contact committed before the lock was granted).
  await sql`
    CREATE FUNCTION customers_contact_recompute(customer_ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM 1 FROM customers WHERE id = ANY(customer_ids) ORDER BY id FOR NO KEY UPDATE;
      UPDATE customers c SET last_contact_at = v.at
      FROM (SELECT x.id, customer_last_contact(x.id) AS at FROM (SELECT DISTINCT id FROM unnest(customer_ids) AS u(id) WHERE id IS NOT NULL) x) v
      WHERE c.id = v.id AND c.last_contact_at IS DISTINCT FROM v.at;
    END $$`.execute(db);

  await sql`
    CREATE FUNCTION timeline_contact_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM customers_contact_raise(array_agg(customer_id), array_agg(at)) FROM new_rows WHERE kind IN ${MESSAGE_KINDS} AND customer_id IS NOT NULL HAVING count(*) > 0;
      RETURN NULL;
    END $$`.execute(db);
  await sql`
    CREATE FUNCTION timeline_contact_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM customers_contact_recompute(array_agg(DISTINCT customer_id)) FROM old_rows WHERE kind IN ${MESSAGE_KINDS} AND customer_id IS NOT NULL HAVING count(*) > 0;
      RETURN NULL;
    END $$`.execute(db);
  // Rows whose customer, time and kind are unchanged cancel out; a message that moved or changed is recomputed
  // where it was and raised where it is (adopting a contact's earlier messages moves them from NULL to a customer).
  await sql`
    CREATE FUNCTION timeline_contact_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM customers_contact_recompute(array_agg(DISTINCT customer_id)) FROM (
        SELECT id, customer_id, at, kind FROM old_rows WHERE kind IN ${MESSAGE_KINDS} AND customer_id IS NOT NULL
        EXCEPT SELECT id, customer_id, at, kind FROM new_rows) gone HAVING count(*) > 0;
      PERFORM customers_contact_raise(array_agg(customer_id), array_agg(at)) FROM (
        SELECT id, customer_id, at, kind FROM new_rows WHERE kind IN ${MESSAGE_KINDS} AND customer_id IS NOT NULL
        EXCEPT SELECT id, customer_id, at, kind FROM old_rows) came HAVING count(*) > 0;
      RETURN NULL;
    END $$`.execute(db);
  await sql`
    CREATE FUNCTION follow_contact_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM customers_contact_raise(array_agg(ec.customer_id), array_agg(n.added_at)) FROM new_rows n
        JOIN external_contacts ec ON ec.corp_id = n.corp_id AND ec.external_userid = n.external_userid
        WHERE ec.customer_id IS NOT NULL AND n.added_at IS NOT NULL HAVING count(*) > 0;
      RETURN NULL;
    END $$`.execute(db);
  // A contact deleted with its relations (ON DELETE CASCADE) is no longer there to join: external_contacts'
  // own delete trigger recomputes its customer.
  await sql`
    CREATE FUNCTION follow_contact_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM customers_contact_recompute(array_agg(DISTINCT ec.customer_id)) FROM old_rows o
        JOIN external_contacts ec ON ec.corp_id = o.corp_id AND ec.external_userid = o.external_userid
        WHERE ec.customer_id IS NOT NULL AND o.added_at IS NOT NULL HAVING count(*) > 0;
      RETURN NULL;
    END $$`.execute(db);
  // Row-level, behind a WHEN: syncs rewrite relations all day, and almost never their add time.
  await sql`
    CREATE FUNCTION follow_contact_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM customers_contact_recompute(array_agg(DISTINCT ec.customer_id)) FROM external_contacts ec
        WHERE (ec.corp_id, ec.external_userid) IN ((OLD.corp_id, OLD.external_userid), (NEW.corp_id, NEW.external_userid)) AND ec.customer_id IS NOT NULL
        HAVING count(*) > 0;
      RETURN NULL;
    END $$`.execute(db);
  // Linking, unlinking or relinking a contact moves its relations' add times between customers.
  await sql`
    CREATE FUNCTION external_contact_link_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        PERFORM customers_contact_recompute(ARRAY[OLD.customer_id]);
      ELSE
        PERFORM customers_contact_recompute(ARRAY[OLD.customer_id, NEW.customer_id]);
      END IF;
      RETURN NULL;
    END $$`.execute(db);
  await sql`
    CREATE FUNCTION customers_contact_recompute_all() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM customers_contact_recompute(array_agg(id)) FROM customers WHERE last_contact_at IS NOT NULL HAVING count(*) > 0;
      RETURN NULL;
    END $$`.execute(db);

  await sql`CREATE TRIGGER timeline_contact_insert AFTER INSERT ON timeline_events REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION timeline_contact_insert()`.execute(db);
  await sql`CREATE TRIGGER timeline_contact_delete AFTER DELETE ON timeline_events REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION timeline_contact_delete()`.execute(db);
  await sql`CREATE TRIGGER timeline_contact_update AFTER UPDATE ON timeline_events REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION timeline_contact_update()`.execute(db);
  await sql`CREATE TRIGGER follow_contact_insert AFTER INSERT ON follow_relations REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION follow_contact_insert()`.execute(db);
  await sql`CREATE TRIGGER follow_contact_delete AFTER DELETE ON follow_relations REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION follow_contact_delete()`.execute(db);
  await sql`CREATE TRIGGER follow_contact_update AFTER UPDATE ON follow_relations FOR EACH ROW
    WHEN (OLD.added_at IS DISTINCT FROM NEW.added_at OR OLD.corp_id <> NEW.corp_id OR OLD.external_userid <> NEW.external_userid)
    EXECUTE FUNCTION follow_contact_update()`.execute(db);
  await sql`CREATE TRIGGER external_contact_link_change AFTER UPDATE ON external_contacts FOR EACH ROW
    WHEN (OLD.customer_id IS DISTINCT FROM NEW.customer_id) EXECUTE FUNCTION external_contact_link_change()`.execute(db);
  await sql`CREATE TRIGGER external_contact_link_delete AFTER DELETE ON external_contacts FOR EACH ROW
    WHEN (OLD.customer_id IS NOT NULL) EXECUTE FUNCTION external_contact_link_change()`.execute(db);
  for (const table of ['timeline_events', 'follow_relations', 'external_contacts']) {
    await sql`CREATE TRIGGER ${sql.id(`${table}_contact_truncate`)} AFTER TRUNCATE ON ${sql.table(table)} FOR EACH STATEMENT EXECUTE FUNCTION customers_contact_recompute_all()`.execute(db);
  }
}

/** Both columns in one pass over customers (each row is rewritten once), before the guard exists. */
async function backfill(db: Kysely<unknown>): Promise<void> {
  await sql`
    UPDATE customers c SET tag_nos = coalesce(x.nos, '{}'), last_contact_at = x.at
    FROM (
      SELECT coalesce(t.customer_id, l.customer_id) AS id, t.nos, l.at
      FROM (SELECT ct.customer_id, array_agg(DISTINCT tg.tag_no ORDER BY tg.tag_no) AS nos
          FROM customer_tags ct JOIN tags tg ON tg.id = ct.tag_id GROUP BY ct.customer_id) t
      FULL JOIN (SELECT s.customer_id, max(s.at) AS at FROM (
          SELECT ec.customer_id, fr.added_at AS at FROM follow_relations fr
            JOIN external_contacts ec ON ec.corp_id = fr.corp_id AND ec.external_userid = fr.external_userid WHERE ec.customer_id IS NOT NULL
          UNION ALL
          SELECT te.customer_id, te.at FROM timeline_events te WHERE te.customer_id IS NOT NULL AND te.kind IN ${MESSAGE_KINDS}) s
        GROUP BY s.customer_id) l ON l.customer_id = t.customer_id) x
    WHERE c.id = x.id`.execute(db);
}

/** The columns are derived: only the triggers above write them (pg_trigger_depth() > 0); a new customer has neither. */
async function guard(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION customers_derived_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'customers.tag_nos and customers.last_contact_at are maintained by triggers on their sources; write customer_tags, timeline_events or follow_relations instead'
        USING ERRCODE = 'check_violation';
    END $$`.execute(db);
  await sql`CREATE TRIGGER customers_derived_guard_update BEFORE UPDATE OF tag_nos, last_contact_at ON customers FOR EACH ROW
    WHEN (pg_trigger_depth() = 0 AND (OLD.tag_nos IS DISTINCT FROM NEW.tag_nos OR OLD.last_contact_at IS DISTINCT FROM NEW.last_contact_at))
    EXECUTE FUNCTION customers_derived_guard()`.execute(db);
  await sql`CREATE TRIGGER customers_derived_guard_insert BEFORE INSERT ON customers FOR EACH ROW
    WHEN (NEW.tag_nos <> '{}' OR NEW.last_contact_at IS NOT NULL)
    EXECUTE FUNCTION customers_derived_guard()`.execute(db);
}

export async function up(db: Kysely<unknown>): Promise<void> {
  // No write may fall between the backfill's snapshot and the triggers taking over (all in this transaction).
  await sql`LOCK TABLE customers, tags, customer_tags, timeline_events, external_contacts, follow_relations IN SHARE ROW EXCLUSIVE MODE`.execute(db);
  await coveringIndexes(db);
  await tagNumbers(db);
  await lastContact(db);
  await backfill(db);
  await sql`CREATE INDEX customers_tag_nos ON customers USING gin (tag_nos)`.execute(db);
  await guard(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  const triggers: [string, string][] = [
    ['customers_derived_guard_update', 'customers'], ['customers_derived_guard_insert', 'customers'],
    ['customer_tags_mirror_insert', 'customer_tags'], ['customer_tags_mirror_delete', 'customer_tags'],
    ['customer_tags_mirror_update', 'customer_tags'], ['customer_tags_mirror_truncate', 'customer_tags'], ['tags_mirror_delete', 'tags'],
    ['timeline_contact_insert', 'timeline_events'], ['timeline_contact_delete', 'timeline_events'], ['timeline_contact_update', 'timeline_events'],
    ['follow_contact_insert', 'follow_relations'], ['follow_contact_delete', 'follow_relations'], ['follow_contact_update', 'follow_relations'],
    ['external_contact_link_change', 'external_contacts'], ['external_contact_link_delete', 'external_contacts'],
    ['timeline_events_contact_truncate', 'timeline_events'], ['follow_relations_contact_truncate', 'follow_relations'],
    ['external_contacts_contact_truncate', 'external_contacts'],
  ];
  for (const [name, table] of triggers) await sql`DROP TRIGGER IF EXISTS ${sql.id(name)} ON ${sql.table(table)}`.execute(db);
  for (const fn of ['customers_derived_guard()', 'customer_tags_mirror_insert()', 'customer_tags_mirror_delete()', 'customer_tags_mirror_update()',
    'customer_tags_mirror_truncate()', 'tags_mirror_delete()', 'timeline_contact_insert()', 'timeline_contact_delete()', 'timeline_contact_update()',
    'follow_contact_insert()', 'follow_contact_delete()', 'follow_contact_update()', 'external_contact_link_change()', 'customers_contact_recompute_all()',
    'customers_contact_raise(uuid[], timestamptz[])', 'customers_contact_recompute(uuid[])', 'customer_last_contact(uuid)', 'tag_nos_apply(integer[], integer[], integer[])']) {
    await sql.raw(`DROP FUNCTION IF EXISTS ${fn}`).execute(db);
  }
  await sql`ALTER TABLE customers DROP COLUMN IF EXISTS tag_nos, DROP COLUMN IF EXISTS last_contact_at`.execute(db);
  await sql`ALTER TABLE tags DROP COLUMN IF EXISTS tag_no`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS customers_aum ON customers (aum)`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS customers_branch ON customers (branch_id)`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS customers_risk ON customers (risk_level)`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS customers_birth_md ON customers (((EXTRACT(MONTH FROM birth_date) * 100 + EXTRACT(DAY FROM birth_date))::int))`.execute(db);
  for (const index of ['customers_aum_id', 'customers_branch_id', 'customers_risk_assessed', 'customers_birth_md_cover', 'customer_scores_band']) {
    await sql`DROP INDEX IF EXISTS ${sql.ref(index)}`.execute(db);
  }
}
