import pg from 'pg';
import type { Db } from '../platform/db/database.js';
import type { Logger } from '../platform/logger.js';
import { BATCH_MAX, NOTIFY_CHANNEL, currentEventId, readEventsAfter, type RealtimeEvent } from './log.js';

/**
 * One web process's reading of `realtime_events`: it follows the table in id order from the
 * moment the process starts and hands each batch of new events to `deliver`, which sends them to
 * the process's own sockets. Every process reads every event, so a room is whole on every
 * process whichever process (web or worker) wrote the event.
 *
 * It reads when PostgreSQL notifies NOTIFY_CHANNEL (sent by the writing statement at commit) and
 * every `pollMs` besides, so a notification lost while the listening connection was down delays
 * events by at most one poll and loses none. Events the process wrote itself are usually handed
 * over at commit (`offer`) and need no read. `cursor` is the highest id delivered; because ids
 * become visible in order (log.ts), every event up to it has been delivered, in order.
 */
export class RealtimeFeed {
  private cursorId = 0;
  private client: pg.Client | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The read that has been asked for and not started yet; later callers share it. */
  private queued: Promise<void> | undefined;
  private last: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: {
      db: Db;
      logger: Logger;
      databaseUrl: string;
      pollMs: number;
      deliver(events: RealtimeEvent[]): void;
    },
  ) {}

  /** The highest id this process has delivered to its sockets. */
  get cursor(): number {
    return this.cursorId;
  }

  async start(): Promise<void> {
    this.cursorId = await currentEventId(this.deps.db);
    await this.listen();
    this.pollTimer = setInterval(() => void this.pull(), this.deps.pollMs);
    this.pollTimer.unref();
  }

  /**
   * Reads and delivers everything committed before this call. Never rejects: a failed read is
   * logged, and the cursor stays where it was until the next notification or poll.
   */
  pull(): Promise<void> {
    if (this.queued) return this.queued;
    const run = this.last.then(() => {
      this.queued = undefined;
      return this.drain();
    });
    this.queued = run;
    this.last = run;
    return run;
  }

  /**
   * Events this process has just written (log.ts). Delivered at once when they follow the cursor
   * without a gap, which under the ordering invariant means no other event lies between; otherwise
   * the feed reads the table as usual.
   */
  offer(events: readonly RealtimeEvent[]): void {
    if (this.stopped || !events.length || events[events.length - 1]!.id <= this.cursorId) return;
    const contiguous = events.every((e, i) => e.id === this.cursorId + 1 + i);
    if (!contiguous) return void this.pull();
    this.cursorId = events[events.length - 1]!.id;
    this.deps.deliver([...events]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pollTimer);
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
    await this.last;
  }

  private async drain(): Promise<void> {
    if (this.stopped) return;
    try {
      for (;;) {
        const read = await readEventsAfter(this.deps.db, this.cursorId, BATCH_MAX);
        // Some may have been delivered by offer() while the read was in flight.
        const events = read.filter((e) => e.id > this.cursorId);
        if (events.length) {
          this.cursorId = events[events.length - 1]!.id;
          this.deps.deliver(events);
        }
        if (read.length < BATCH_MAX) return;
      }
    } catch (error) {
      this.deps.logger.warn({ err: error, cursor: this.cursorId }, 'live updates: read failed; retrying at the next notification or poll');
    }
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.deps.databaseUrl, application_name: 'xinghe-scrm realtime' });
    client.on('notification', () => void this.pull());
    // A lost connection emits 'error' and then 'end'; the first is logged, the second reconnects.
    client.on('error', (error) => this.deps.logger.warn({ err: error }, 'live updates: notification connection error'));
    client.on('end', () => {
      if (this.client !== client) return;
      this.client = undefined;
      this.scheduleReconnect();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.stopped) {
      await client.end();
      return;
    }
    this.client = client;
    // Whatever was committed while no connection listened.
    void this.pull();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.listen().catch((error: unknown) => {
        this.deps.logger.warn({ err: error }, 'live updates: cannot listen for notifications; retrying');
        this.scheduleReconnect();
      });
    }, 1000);
    this.reconnectTimer.unref();
  }
}
