import type { ColumnType, Generated } from 'kysely';

/** The live-update tables (migration 0016), merged into the Database interface. */
export interface RealtimeEventRow {
  /** bigserial: read back as a string (bigint), exact. */
  id: Generated<string>;
  room: string;
  event: string;
  payload: ColumnType<Record<string, unknown>, string, string>;
  created_at: Generated<Date>;
}

/** `@socket.io/postgres-adapter`'s overflow table; only the adapter reads and writes it. */
export interface SocketIoAttachmentRow {
  id: Generated<string>;
  created_at: Generated<Date>;
  payload: Buffer | null;
}

declare module '../platform/db/schema.js' {
  interface Database {
    realtime_events: RealtimeEventRow;
    socket_io_attachments: SocketIoAttachmentRow;
  }
}
