import { sql, type Kysely } from 'kysely';

/**
 * What an import changed, kept until the service has passed it on (src/customers/import/followup.ts).
 *
 * - `import_changes`: one row per customer whose watched attributes (AUM and its tier, risk level, consent, branch)
 *   a committed batch changed, written in that batch's transaction, with the `customer.updated` payload's
 *   `changed`. The follow-up job publishes each as an event and deletes it once the handlers (the SOP triggers,
 *   which queue keyed jobs) have finished, so a crash anywhere leaves the change to be published again, never lost;
 *   and an import run from the command line, which has no event bus, is followed up by the service the same way.
 * - `imports.followed_up_at`: set once a finished import's changes are all published and the fact tags' recompute
 *   is queued. Imports finished before this migration count as followed up.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE import_changes (
      id bigserial PRIMARY KEY,
      import_id uuid NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
      customer_id uuid NOT NULL,
      changed jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX import_changes_import ON import_changes (import_id)`.execute(db);
  await sql`ALTER TABLE imports ADD COLUMN followed_up_at timestamptz`.execute(db);
  // Failed imports are left unmarked: resumed and finished, they are followed up like any other.
  await sql`UPDATE imports SET followed_up_at = coalesce(finished_at, now()) WHERE status = 'done'`.execute(db);
  await sql`CREATE INDEX imports_to_follow_up ON imports (finished_at) WHERE status = 'done' AND followed_up_at IS NULL`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS import_changes`.execute(db);
  await sql`ALTER TABLE imports DROP COLUMN IF EXISTS followed_up_at`.execute(db);
}
