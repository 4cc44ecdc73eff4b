import { sql, type Kysely } from 'kysely';

/**
 * The dashboard's reads (src/dashboard): every chart is a range scan on a time column, grouped by day. The
 * INCLUDE columns are what the scope (corp, member) and the grouping (channel, status, template) read, so
 * the scans stay inside the index; the partial indexes hold only the rows a chart counts.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Customers added per day and channel, and the funnel's cohort.
  await sql`CREATE INDEX follow_relations_added ON follow_relations (added_at) INCLUDE (corp_id, userid, external_userid, state)`.execute(db);
  // Customers lost per day and channel.
  await sql`CREATE INDEX follow_relations_deleted ON follow_relations (deleted_at) INCLUDE (corp_id, userid, state, deleted_by)
    WHERE deleted_at IS NOT NULL`.execute(db);
  await sql`CREATE INDEX sop_enrollments_started ON sop_enrollments (started_at) INCLUDE (corp_id, member_userid, template_id)`.execute(db);
  // SOP messages to customers (member notifications go by app_message and are not counted).
  await sql`CREATE INDEX outbox_sop_created ON outbox (created_at) INCLUDE (corp_id, sender, status, cause_id)
    WHERE cause_type = 'sop' AND channel <> 'app_message'`.execute(db);
  // The funnel's "replied": does this contact have a message_in since it was added.
  await sql`CREATE INDEX timeline_message_in ON timeline_events (corp_id, external_userid, at) WHERE kind = 'message_in'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const name of ['follow_relations_added', 'follow_relations_deleted', 'sop_enrollments_started', 'outbox_sop_created', 'timeline_message_in']) {
    await sql`DROP INDEX IF EXISTS ${sql.id(name)}`.execute(db);
  }
}
