import { sql } from 'kysely';
import type { Db } from '../platform/db/database.js';
import type { Logger } from '../platform/logger.js';
import './schema.js';

/**
 * The durable side of live updates: every event sent to a room is first a row of
 * `realtime_events`, and only the row's id makes it an event a client can resume after.
 *
 * Invariant: ids become visible in id order. Each write is one statement that takes a
 * transaction-scoped advisory lock before the sequence hands out ids, and keeps it until it has
 * committed; so when a reader sees id N, every id below N is committed or never will be. Readers
 * can therefore follow the table with `id > cursor` and never step over a row that commits later.
 * The price is that writes are serialised cluster-wide; each process sends what queued up while
 * its previous write ran as one statement, so the lock is taken once per batch, not per event.
 *
 * The same statement notifies NOTIFY_CHANNEL, which PostgreSQL delivers at commit to every web
 * process (src/realtime/feed.ts), whatever kind of process wrote the row.
 */
export const NOTIFY_CHANNEL = 'realtime_events';
const LOCK = sql`hashtext('realtime_events')`;
/** Rows per statement, both when writing a backlog and when reading one. */
export const BATCH_MAX = 500;

export interface RealtimeEvent {
  id: number;
  room: string;
  event: string;
  payload: Record<string, unknown>;
}

/** What a client receives: the event's data with its id (data that is not a JSON object arrives as `{ value }`). */
export const wireData = (event: RealtimeEvent): Record<string, unknown> => ({ ...event.payload, eventId: event.id });

export const memberRoom = (staffId: string) => `member:${staffId}`;
export const CONSOLE_ROOM = 'console';

interface Queued {
  room: string;
  event: string;
  /** The data's JSON, serialised when the event was published (later changes to the object do not count). */
  payloadJson: string;
  resolve(id: number): void;
  reject(error: unknown): void;
}

export class RealtimeLog {
  private queue: Queued[] = [];
  private flushing: Promise<void> | undefined;
  private readonly listeners = new Set<(events: RealtimeEvent[]) => void>();

  constructor(private readonly deps: { db: Db; logger: Logger }) {}

  /** Writes the event and resolves with its id once it is committed (and web processes are notified). */
  publish(room: string, event: string, data: unknown): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      // Whatever does not serialise to a JSON object (an array, a string, a Date) travels as { value }.
      const json = JSON.stringify(data) as string | undefined;
      const payloadJson = json?.startsWith('{') ? json : JSON.stringify({ value: data });
      this.queue.push({ room, event, payloadJson, resolve, reject });
      // A microtask later, so that events published in one synchronous loop share a statement.
      if (!this.flushing) this.flushing = Promise.resolve().then(() => this.flush());
    });
  }

  /** Fire-and-forget for the existing emit paths: a failed write is logged, never thrown at the caller. */
  toMember(staffId: string, event: string, data: unknown): void {
    this.publishQuietly(memberRoom(staffId), event, data);
  }

  toConsole(event: string, data: unknown): void {
    this.publishQuietly(CONSOLE_ROOM, event, data);
  }

  /**
   * Hears this process's events as soon as they are committed, in id order (a web process's feed
   * delivers them without reading them back). Returns the function that stops it.
   */
  onWritten(listener: (events: RealtimeEvent[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when every event published so far has been written (or has failed). */
  async settled(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private publishQuietly(room: string, event: string, data: unknown): void {
    // Rejected when the write fails, or when JSON.stringify refuses the data (a BigInt, a cycle).
    this.publish(room, event, data).catch((error: unknown) =>
      this.deps.logger.error({ err: error, room, event }, 'live update not written; dropped'),
    );
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0, BATCH_MAX);
        try {
          const rows = batch.map((q) => `{"room":${JSON.stringify(q.room)},"event":${JSON.stringify(q.event)},"payload":${q.payloadJson}}`);
          const ids = await insertEvents(this.deps.db, `[${rows.join(',')}]`);
          if (this.listeners.size) {
            const events = batch.map((q, i) => ({ id: ids[i]!, room: q.room, event: q.event, payload: JSON.parse(q.payloadJson) as Record<string, unknown> }));
            for (const listener of this.listeners) {
              try {
                listener(events);
              } catch (error) {
                // The events are written; a failing listener must not fail their writers.
                this.deps.logger.warn({ err: error }, 'live updates: a listener failed');
              }
            }
          }
          batch.forEach((q, i) => q.resolve(ids[i]!));
        } catch (error) {
          for (const q of batch) q.reject(error);
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }
}

/**
 * One statement: lock, insert in the given order (ids follow the ordinality), notify, commit.
 * The lock is released only at commit, after the rows are visible: the ordering invariant above.
 */
async function insertEvents(db: Db, rowsJson: string): Promise<number[]> {
  const { rows } = await sql<{ id: string }>`
    WITH lock AS MATERIALIZED (SELECT pg_advisory_xact_lock(${LOCK})),
    input AS (
      SELECT e.item, e.ord FROM lock, jsonb_array_elements(${rowsJson}::jsonb) WITH ORDINALITY AS e(item, ord)
    ),
    written AS (
      INSERT INTO realtime_events (room, event, payload)
      SELECT item->>'room', item->>'event', item->'payload' FROM input ORDER BY ord
      RETURNING id
    ),
    wake AS MATERIALIZED (SELECT pg_notify(${NOTIFY_CHANNEL}, '') FROM lock)
    SELECT written.id FROM written, wake ORDER BY written.id`.execute(db);
  return rows.map((r) => Number(r.id));
}

const toEvent = (r: { id: string; room: string; event: string; payload: Record<string, unknown> }): RealtimeEvent => ({
  id: Number(r.id),
  room: r.room,
  event: r.event,
  payload: r.payload,
});

/** Events after `after`, in id order. */
export async function readEventsAfter(db: Db, after: number, limit: number): Promise<RealtimeEvent[]> {
  const rows = await db
    .selectFrom('realtime_events')
    .select(['id', 'room', 'event', 'payload'])
    .where('id', '>', String(after))
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map(toEvent);
}

/**
 * The events of `rooms` after `after` (at most `limit`, in id order), and the oldest id still kept,
 * read in one snapshot so that the retention delete cannot fall between the two.
 */
export async function readRoomEventsAfter(
  db: Db,
  rooms: readonly string[],
  after: number,
  limit: number,
): Promise<{ oldest: number | null; events: RealtimeEvent[] }> {
  const { rows } = await sql<{ oldest: string | null; id: string | null; room: string; event: string; payload: Record<string, unknown> }>`
    SELECT b.oldest, e.id, e.room, e.event, e.payload
    FROM (SELECT min(id) AS oldest FROM realtime_events) b
    LEFT JOIN LATERAL (
      SELECT id, room, event, payload FROM realtime_events
      WHERE room = ANY(${[...rooms]}::text[]) AND id > ${String(after)}
      ORDER BY id LIMIT ${limit}
    ) e ON true
    ORDER BY e.id`.execute(db);
  const oldest = rows[0]?.oldest ?? null;
  return {
    oldest: oldest === null ? null : Number(oldest),
    events: rows.filter((r): r is typeof r & { id: string } => r.id !== null).map(toEvent),
  };
}

/**
 * The highest id handed out so far. Taken under the writers' lock, so no write is in flight: every
 * id up to the answer is committed or rolled back, and a reader may start after it.
 */
export async function currentEventId(db: Db): Promise<number> {
  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${LOCK})`.execute(trx);
    const { rows } = await sql<{ last: string }>`
      SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS last FROM realtime_events_id_seq`.execute(trx);
    return Number(rows[0]!.last);
  });
}

/** Deletes events created before `before`, in batches so that no statement holds many rows. */
export async function deleteEventsBefore(db: Db, before: Date, batch = 10_000): Promise<number> {
  let deleted = 0;
  for (;;) {
    const result = await sql`
      DELETE FROM realtime_events WHERE id IN (
        SELECT id FROM realtime_events WHERE created_at < ${before} ORDER BY id LIMIT ${batch}
      )`.execute(db);
    const n = Number(result.numAffectedRows ?? 0);
    deleted += n;
    if (n < batch) return deleted;
  }
}
