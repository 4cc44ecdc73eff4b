import { sql, type Kysely } from 'kysely';

/**
 * The outbox dispatcher's wake-ups and backstops.
 *
 * - Every statement that leaves a row pending and due (an insert by any writer, a release or a
 *   reschedule) sends one `NOTIFY outbox_pending`, so dispatchers wake at once instead of at their
 *   next poll. Rows deferred to a later time do not notify; dispatchers keep their own timers.
 * - One WeCom msgid belongs to at most one batch: the in-doubt resolution can never attribute a
 *   mass send WeCom holds to two provider calls (the database is the backstop).
 * - Due rows are found by channel and age without scanning rows no dispatcher sends (sidebar).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION outbox_notify_pending() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM changed WHERE status = 'pending' AND (not_before IS NULL OR not_before <= now())) THEN
        PERFORM pg_notify('outbox_pending', '');
      END IF;
      RETURN NULL;
    END
    $$`.execute(db);
  await sql`
    CREATE TRIGGER outbox_notify_insert AFTER INSERT ON outbox
      REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify_pending()`.execute(db);
  await sql`
    CREATE TRIGGER outbox_notify_update AFTER UPDATE ON outbox
      REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify_pending()`.execute(db);

  await sql`DROP INDEX IF EXISTS outbox_batches_msgid`.execute(db);
  await sql`CREATE UNIQUE INDEX outbox_batches_msgid ON outbox_batches (corp_id, msgid) WHERE msgid IS NOT NULL`.execute(db);
  await sql`CREATE INDEX outbox_due ON outbox (channel, created_at) WHERE status = 'pending'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS outbox_due`.execute(db);
  await sql`DROP INDEX IF EXISTS outbox_batches_msgid`.execute(db);
  await sql`CREATE INDEX outbox_batches_msgid ON outbox_batches (corp_id, msgid) WHERE msgid IS NOT NULL`.execute(db);
  await sql`DROP TRIGGER IF EXISTS outbox_notify_update ON outbox`.execute(db);
  await sql`DROP TRIGGER IF EXISTS outbox_notify_insert ON outbox`.execute(db);
  await sql`DROP FUNCTION IF EXISTS outbox_notify_pending()`.execute(db);
}
