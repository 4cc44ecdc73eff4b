import { sql } from 'kysely';
import type { Db } from '../../platform/db/database.js';
import type { AumThresholds } from '../../tags/facts.js';
import { changedRows, mergeBatch, type Batch, type WatchedChange } from './batch.js';
import { recordChanges } from './changes.js';
import { saveProgress, type Totals } from './store.js';

/**
 * Applies batches on one or more connections at once while committing them strictly in file order.
 *
 * Each batch is one transaction: BEGIN, merge (customers and rejections; see batch.ts), then — only
 * once the previous batch has committed — the progress row and COMMIT. So the database can merge batch k+1
 * while batch k is still being merged (on a two-core machine the second core does useful work), yet
 * a committed batch always has every earlier batch committed before it: the saved resume point never
 * skips a batch. If a batch fails, every later one rolls back; a crash rolls back whatever had not
 * committed. Batches never touch the same customer (a CIF number repeated in a file is rejected).
 */
export class OrderedWriters {
  private readonly busy: (Promise<void> | undefined)[];
  private last: Promise<void> = Promise.resolve();
  private next = 0;
  private probing = true;

  constructor(
    private readonly connections: readonly Db[],
    private readonly importId: string,
    private readonly totals: Totals,
    /** Called after each commit, in order, with the watched changes it made; throwing from it stops the import after that batch. */
    private readonly committed: (b: Batch, watched: WatchedChange[]) => void,
    /** AUM tiers for the recorded changes (changes.ts recordChanges). */
    private readonly thresholds: AumThresholds,
    /** Checked before each batch is handed over: throws to stop taking new batches. */
    private readonly check: () => void = () => undefined,
  ) {
    if (!connections.length) throw new Error('at least one connection is needed');
    this.busy = connections.map(() => undefined);
  }

  /** Hands a batch to the next connection once that connection's previous batch has committed. */
  async submit(b: Batch): Promise<void> {
    const slot = this.next++ % this.connections.length;
    await this.busy[slot];
    this.check();
    const conn = this.connections[slot]!;
    const previous = this.last;
    const work = this.apply(conn, b, previous);
    work.catch(() => undefined); // surfaced by the next submit on this slot, by a later batch, or by drain
    this.busy[slot] = work;
    this.last = work;
  }

  /** Waits for every submitted batch; rejects with the failure of the earliest failed batch. */
  async drain(): Promise<void> {
    const n = this.busy.length;
    // Slots are used in turn, so the oldest batch still in flight is in the slot used next.
    const inFileOrder = Array.from({ length: n }, (_, k) => this.busy[(this.next + k) % n]);
    for (const r of await Promise.allSettled(inFileOrder)) if (r.status === 'rejected') throw r.reason;
  }

  /** Waits for every transaction to end (committed or rolled back) without raising, for the error path. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.busy);
  }

  private async apply(conn: Db, b: Batch, previous: Promise<void>): Promise<void> {
    // Two imports touching the same customers could each wait (here, outside the database's deadlock
    // detector) for a batch the other blocks: a lock wait this long fails the batch instead (resumable).
    await sql.raw(`BEGIN; SET LOCAL lock_timeout = '60s'`).execute(conn);
    let watched: WatchedChange[];
    try {
      // Probe first while most rows turn out unchanged (a re-sent file); write straight away while most are new.
      const which = this.probing && b.accepted ? await changedRows(conn, b) : undefined;
      const writes = which ? which.length : b.accepted;
      const r = writes || b.rejLine.length ? await mergeBatch(conn, this.importId, b, which) : { inserted: 0, updated: 0, watched: [] };
      if (b.accepted) this.probing = (which ? which.length : r.inserted + r.updated) * 2 <= b.accepted;
      // In this batch's transaction: the changes are published after the commit, by the follow-up job.
      if (r.watched.length) await recordChanges(conn, this.importId, r.watched, this.thresholds);
      await previous; // throws if an earlier batch failed: this one must not commit either
      const t = this.totals;
      const next: Totals = {
        processed: t.processed + b.records,
        inserted: t.inserted + r.inserted,
        updated: t.updated + r.updated,
        unchanged: t.unchanged + b.accepted - r.inserted - r.updated,
        rejected: t.rejected + b.rejLine.length,
      };
      await saveProgress(conn, this.importId, next, b);
      await sql`COMMIT`.execute(conn);
      Object.assign(this.totals, next);
      watched = r.watched;
    } catch (error) {
      await sql`ROLLBACK`.execute(conn).catch(() => undefined);
      throw error;
    }
    this.committed(b, watched);
  }
}
