import { sql, type Kysely } from 'kysely';

/**
 * The claim's check that a conversation's row waits for the older ones (src/outbox/claim.ts, ordered senders such as
 * 微信客服 replies): an older pending or sending row of the same corp, channel and recipient, found by this index.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX outbox_conversation ON outbox (corp_id, channel, recipient, created_at, id) WHERE status IN ('pending', 'sending')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS outbox_conversation`.execute(db);
}
