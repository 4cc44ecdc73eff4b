import { sql, type Kysely } from 'kysely';

/** The dispatcher's second claim query: the due rows of the group keys it found, oldest first. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX outbox_pending_group ON outbox (group_key, created_at) WHERE status = 'pending' AND group_key IS NOT NULL`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS outbox_pending_group`.execute(db);
}
