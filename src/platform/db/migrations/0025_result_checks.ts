import { sql, type Kysely } from 'kysely';

/**
 * When WeCom was last asked for a mass-send task's results (src/outbox/results.ts): a task in its first hour is
 * asked every minute, so the console's progress follows members confirming it; an older one every
 * OUTBOX_RESULT_SYNC_MS, for up to three days.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE outbox_batches ADD COLUMN results_checked_at timestamptz`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE outbox_batches DROP COLUMN IF EXISTS results_checked_at`.execute(db);
}
