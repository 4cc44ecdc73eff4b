import { sql, type Kysely } from 'kysely';

/**
 * Live updates (src/realtime):
 *
 * - `realtime_events`: every event sent to a socket.io room, kept for REALTIME_RETENTION_HOURS so
 *   that a client that reconnects can ask for what it missed. Writers take one advisory lock per
 *   statement, so ids become visible in id order and a reader that has seen id N has seen every
 *   earlier one (src/realtime/log.ts). The BRIN index serves the retention delete: rows arrive in
 *   created_at order, so a few pages of summary cover the whole table.
 * - `socket_io_attachments`: the table of `@socket.io/postgres-adapter` for messages too large for
 *   a NOTIFY, created here so that the application never needs DDL rights at run time. Its shape
 *   is the one the adapter's README gives; the adapter deletes rows older than its cleanup interval.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE realtime_events (
      id bigserial PRIMARY KEY,
      room text NOT NULL,
      event text NOT NULL,
      payload jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX realtime_events_room ON realtime_events (room, id)`.execute(db);
  await sql`CREATE INDEX realtime_events_created ON realtime_events USING brin (created_at)`.execute(db);
  await sql`
    CREATE TABLE IF NOT EXISTS socket_io_attachments (
      id bigserial UNIQUE,
      created_at timestamptz DEFAULT now(),
      payload bytea
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS socket_io_attachments`.execute(db);
  await sql`DROP TABLE IF EXISTS realtime_events`.execute(db);
}
