import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { sql } from 'kysely';
import pg from 'pg';
import type { Db } from '../platform/db/database.js';
import type { Logger } from '../platform/logger.js';
import { getSetting } from '../settings/index.js';
import { ERRCODES, WeComApiError, WeComDeadlineError, WeComUnavailableError, type WeComGateway } from '../wecom/client/index.js';
import { appMessageSender } from './app.js';
import { claimBatches, type ClaimRules } from './claim.js';
import { massGroupSender, massSingleSender } from './mass.js';
import { recordFailed, recordRetry, recordSent, type RetryPolicy } from './record.js';
import { NotSendableError, type Batch, type Resolution, type Sender } from './senders.js';

/**
 * The outbox dispatcher drains pending rows to WeCom, exactly once, within the rate budget, the
 * customers' receiving quota, quiet hours and marketing consent (README.md in this folder).
 *
 * A batch is claimed under a lease (lease_until, on the database clock) and its call may start only
 * until `lease − 2 × timeout` after the claim (CallOptions.notAfter). So by the time the lease runs out
 * every attempt of the call has been answered or abandoned for at least one timeout, and cannot land
 * any more. A batch still `sending` after its lease is in doubt; it is settled against WeCom (found, or
 * released to be sent again) before any of its rows can be sent again.
 */
export interface DispatcherOptions {
  db: Db;
  gateway: WeComGateway;
  logger: Logger;
  /** A connection string for LISTEN outbox_pending; without it the dispatcher only polls. */
  databaseUrl?: string;
  /** Written to each batch it claims; default host:pid:random. */
  instance?: string;
  /** Recipients per provider call (add_msg_template takes up to 10,000). */
  batchMax?: number;
  /** Provider calls in flight at once. */
  concurrency?: number;
  /** A claim's lease; must exceed twice the API timeout. Default 2 × timeout + 5 s. */
  leaseMs?: number;
  /** The fallback poll when no notification arrives. */
  pollMs?: number;
  /** Attempts (provider calls) before a row fails for good. */
  maxAttempts?: number;
  /** First retry delay after 45009 / 45033 / -1; doubles per attempt with jitter, up to retryMaxMs. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** App messages per member WeCom accepts (REFERENCE §2: 30/min; 1000/h). */
  appMessagesPerMemberPerMinute?: number;
  appMessagesPerMemberPerHour?: number;
  /** Channel senders; default mass_single, mass_group and app_message. */
  senders?: Sender[];
  /** The clock the rules see (due times, quiet hours, quota periods); leases use the database clock. */
  now?: () => Date;
}

export interface DrainSummary {
  batches: number;
  sent: number;
  failed: number;
  retried: number;
  unknown: number;
  deferred: number;
  cancelled: number;
  expired: number;
  resolved: { found: number; released: number; resent: number; abandoned: number; undecided: number };
}

interface Leased extends Batch {
  /** No attempt of the call may start after this (epoch ms, process clock). */
  notAfter: number;
  /** Sent again after an in-doubt attempt (app messages, under WeCom's duplicate check). */
  resent?: boolean;
}

const RETRYABLE = new Set<number>([ERRCODES.frequencyLimit, ERRCODES.concurrencyLimit, ERRCODES.busy]);

export const defaultSenders = (): Sender[] => [massSingleSender, massGroupSender, appMessageSender()];

const emptySummary = (): DrainSummary => ({
  batches: 0, sent: 0, failed: 0, retried: 0, unknown: 0, deferred: 0, cancelled: 0, expired: 0,
  resolved: { found: 0, released: 0, resent: 0, abandoned: 0, undecided: 0 },
});

export class OutboxDispatcher {
  readonly instance: string;
  private readonly senders: Map<string, Sender>;
  private readonly batchMax: number;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly policy: RetryPolicy;
  private readonly appRate: ClaimRules['appRate'];
  private readonly now: () => Date;
  private readonly log: Logger;
  private running = false;
  private pumping: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private listener: pg.Client | undefined;
  private readonly inflight = new Set<Promise<void>>();
  private summary = emptySummary();
  /** When the loop last looked for batches whose lease ran out (process clock). */
  private lastResolve = 0;

  constructor(private readonly options: DispatcherOptions) {
    this.instance = options.instance ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.senders = new Map((options.senders ?? defaultSenders()).map((s) => [s.channel, s]));
    this.batchMax = options.batchMax ?? 10_000;
    this.concurrency = options.concurrency ?? 8;
    const timeout = options.gateway.timeoutMs;
    this.leaseMs = options.leaseMs ?? 2 * timeout + 5_000;
    if (this.leaseMs <= 2 * timeout) throw new RangeError(`the outbox lease (${this.leaseMs} ms) must exceed twice the WeCom API timeout (${timeout} ms)`);
    this.pollMs = options.pollMs ?? 5_000;
    this.policy = { maxAttempts: options.maxAttempts ?? 8, baseMs: options.retryBaseMs ?? 5_000, maxMs: options.retryMaxMs ?? 15 * 60_000 };
    this.appRate = { perMinute: options.appMessagesPerMemberPerMinute ?? 30, perHour: options.appMessagesPerMemberPerHour ?? 1000 };
    this.now = options.now ?? (() => new Date());
    this.log = options.logger.child({ component: 'outbox-dispatcher', instance: this.instance });
  }

  private get resolveEveryMs(): number {
    return Math.min(1_000, this.leaseMs / 4);
  }

  /** Adds or replaces the sender of a channel (bot, kf). */
  register(sender: Sender): void {
    this.senders.set(sender.channel, sender);
  }

  /** Starts listening and draining; returns at once. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.listen();
    this.log.info({ channels: [...this.senders.keys()], batchMax: this.batchMax, concurrency: this.concurrency, leaseMs: this.leaseMs }, 'outbox dispatcher started');
    this.wake();
  }

  /** Stops claiming, and waits for the calls in flight and their results to be written. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearTimeout(this.timer);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
    await this.pumping;
    await Promise.allSettled([...this.inflight]);
    this.log.info('outbox dispatcher stopped');
  }

  /**
   * One full pass without the loop (tests, scripts): settles in-doubt batches whose lease ran out,
   * then claims and sends until nothing due is left, waiting for every call.
   */
  async drainOnce(): Promise<DrainSummary> {
    const before = this.summary;
    this.summary = emptySummary();
    try {
      for (;;) {
        const resend = await this.resolveInDoubt();
        await Promise.all(resend.map((b) => this.sendBatch(b)));
        const batches = await this.claim(this.concurrency);
        if (!batches.length) break;
        await Promise.all(batches.map((b) => this.sendBatch(b)));
      }
      return this.summary;
    } finally {
      this.summary = before;
    }
  }

  private wake = (): void => {
    if (!this.running) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      if (this.again && this.running) this.wake();
    });
  };

  private async pump(): Promise<void> {
    let delay = this.pollMs;
    try {
      do {
        this.again = false;
        // Leases run out on their own schedule; looking a few times per lease is enough and keeps claims cheap.
        if (Date.now() - this.lastResolve >= this.resolveEveryMs) {
          this.lastResolve = Date.now();
          for (const b of await this.resolveInDoubt()) this.launch(b);
        }
        while (this.running && this.inflight.size < this.concurrency) {
          const batches = await this.claim(this.concurrency - this.inflight.size);
          if (!batches.length) break;
          for (const b of batches) this.launch(b);
        }
      } while (this.again && this.running);
      delay = await this.nextWakeMs();
    } catch (error) {
      this.log.warn({ err: error }, 'outbox dispatch pass failed; trying again at the next poll');
    }
    if (this.running) {
      clearTimeout(this.timer);
      this.timer = setTimeout(this.wake, delay);
      this.timer.unref?.();
    }
  }

  private launch(batch: Leased): void {
    const run: Promise<void> = this.sendBatch(batch)
      .catch((error: unknown) => this.log.error({ err: error, batchId: batch.id }, 'outbox batch could not be settled; its lease will bring it back'))
      .finally(() => {
        this.inflight.delete(run);
        this.wake();
      });
    this.inflight.add(run);
  }

  /** How long until something may be due: a deferred row, a lease running out, or the poll. */
  private async nextWakeMs(): Promise<number> {
    const channels = [...this.senders.keys()];
    const now = this.now();
    const { rows } = await sql<{ due: Date | null; lease_ms: number | null }>`
      SELECT (SELECT min(not_before) FROM outbox WHERE status = 'pending' AND channel = ANY(${channels}) AND not_before > ${now}) AS due,
             (SELECT extract(epoch FROM min(lease_until) - now()) * 1000 FROM outbox_batches WHERE status = 'sending' AND channel = ANY(${channels}))::float8 AS lease_ms`.execute(this.options.db);
    const row = rows[0];
    const candidates = [this.pollMs];
    if (row?.due) candidates.push(new Date(row.due).getTime() - now.getTime());
    if (row?.lease_ms !== null && row?.lease_ms !== undefined) candidates.push(Math.max(Number(row.lease_ms) + 50, this.lastResolve + this.resolveEveryMs - Date.now()));
    return Math.max(10, Math.min(...candidates));
  }

  private async listen(): Promise<void> {
    const url = this.options.databaseUrl;
    if (!url || !this.running) return;
    const client = new pg.Client({ connectionString: url, application_name: 'xinghe-scrm-outbox' });
    const retry = () => {
      if (this.listener !== client) return;
      this.listener = undefined;
      client.end().catch(() => undefined);
      if (this.running) setTimeout(() => void this.listen(), this.pollMs).unref?.();
    };
    client.on('error', (error) => {
      this.log.warn({ err: error }, 'outbox notification channel lost; polling until it is back');
      retry();
    });
    client.on('end', retry);
    client.on('notification', () => this.wake());
    this.listener = client;
    try {
      await client.connect();
      await client.query('LISTEN outbox_pending');
      // Rows may have become due while the channel was down.
      this.wake();
    } catch (error) {
      this.log.warn({ err: error }, 'outbox notification channel unavailable; polling');
      retry();
    }
  }

  /** Read at every claim: a change by operations applies to the next claim on every node. */
  private async rules(): Promise<ClaimRules> {
    const [quietHours, quota] = await Promise.all([getSetting(this.options.db, 'outbound.quietHours'), getSetting(this.options.db, 'outbound.customerQuota')]);
    return { quietHours, quota, appRate: this.appRate };
  }

  private async claim(slots: number): Promise<Leased[]> {
    if (slots <= 0) return [];
    const started = Date.now();
    const budget = this.options.gateway.budget;
    const result = await claimBatches({
      db: this.options.db,
      instance: this.instance,
      senders: this.senders,
      slots,
      batchMax: this.batchMax,
      leaseMs: this.leaseMs,
      now: this.now(),
      rules: await this.rules(),
      blockedFor: (corpId, api) => budget.blockedFor(corpId, api),
    });
    this.summary.batches += result.batches.length;
    this.summary.deferred += result.deferred;
    this.summary.cancelled += result.cancelled;
    this.summary.expired += result.expired;
    if (result.deferred || result.cancelled || result.expired) this.log.info({ deferred: result.deferred, cancelled: result.cancelled, expired: result.expired }, 'outbox rows held back at claim');
    // Measured from before the claim began, so the deadline falls before the lease's own (database) clock says.
    const notAfter = started + this.leaseMs - 2 * this.options.gateway.timeoutMs;
    return result.batches.map((b) => ({ ...b, notAfter }));
  }

  /** Makes the batch's one call and writes the outcome. */
  private async sendBatch(batch: Leased): Promise<void> {
    const sender = this.senders.get(batch.channel)!;
    const log = this.log.child({ batchId: batch.id, channel: batch.channel, corpId: batch.corpId, rows: batch.rows.length });
    const corp = await this.options.gateway.registry.get(batch.corpId);
    try {
      if (!corp) throw new NotSendableError(`未知企业 ${batch.corpId}，无法发送`);
      const result = await sender.send(batch, { gateway: this.options.gateway, corp, notAfter: batch.notAfter, logger: log });
      if (await recordSent(this.options.db, batch, result, { now: this.now(), awaitsConfirmation: sender.customerFacing, ...(batch.resent ? { resolution: 'resent' as const } : {}) })) {
        this.summary.sent += batch.rows.length - result.rejected.size;
        this.summary.failed += result.rejected.size;
        log.debug({ msgid: result.msgid, rejected: result.rejected.size }, 'outbox batch sent');
      } else log.warn({ msgid: result.msgid }, 'outbox batch was settled elsewhere while its call ran');
    } catch (error) {
      await this.recordError(batch, sender, error, log);
    }
  }

  private async recordError(batch: Leased, sender: Sender, error: unknown, log: Logger): Promise<void> {
    const now = this.now();
    const db = this.options.db;
    if (error instanceof NotSendableError) {
      await recordFailed(db, batch, { errcode: null, error: error.message, called: false }, now);
      this.summary.failed += batch.rows.length;
      log.warn({ err: error }, 'outbox batch cannot be sent');
      return;
    }
    if (error instanceof WeComDeadlineError) {
      // Nothing left: the budget was blocked or busy for longer than the lease allows.
      const wait = Math.max(1_000, this.options.gateway.budget.blockedFor(batch.corpId, sender.api));
      await recordRetry(db, batch, { errcode: null, error: '企业微信接口限流，稍后发送', called: false, resolution: 'not_sent', backoff: false, notBefore: new Date(now.getTime() + wait) }, this.policy, now);
      this.summary.retried += batch.rows.length;
      log.info({ waitMs: wait }, 'outbox batch not sent before its deadline; queued again');
      return;
    }
    if (error instanceof WeComApiError) {
      // A token or secret problem (gettoken) was answered before the call itself went out.
      const called = error.api === sender.api;
      if (RETRYABLE.has(error.errcode) || !called) {
        await recordRetry(db, batch, { errcode: error.errcode, error: `企业微信暂时无法处理（${error.errcode}），稍后重试`, called, resolution: 'retry', backoff: true }, this.policy, now);
        this.summary.retried += batch.rows.length;
        log.warn({ errcode: error.errcode, api: error.api }, 'outbox batch refused for now; retrying with backoff');
      } else {
        await recordFailed(db, batch, { errcode: error.errcode, error: `企业微信拒绝发送（${error.errcode}）：${error.errmsg.split(',')[0]}`, called: true }, now);
        this.summary.failed += batch.rows.length;
        log.warn({ errcode: error.errcode }, 'outbox batch refused by WeCom');
      }
      return;
    }
    if (error instanceof WeComUnavailableError && error.api !== sender.api) {
      await recordRetry(db, batch, { errcode: null, error: `企业微信暂时不可用：${error.reason}`, called: false, resolution: 'retry', backoff: true }, this.policy, now);
      this.summary.retried += batch.rows.length;
      return;
    }
    // Timeout, reset, 5xx, or anything else after the request may have left: the outcome is unknown.
    // The batch stays `sending`; once its lease runs out it is settled against WeCom.
    this.summary.unknown += batch.rows.length;
    log.warn({ err: error }, 'outbox batch outcome unknown; settling it after its lease');
  }

  /**
   * Takes over batches whose lease ran out (a fresh lease, so that one dispatcher settles each),
   * and settles them with their channel's sender. Returns those to send again now.
   */
  private async resolveInDoubt(): Promise<Leased[]> {
    const db = this.options.db;
    const started = Date.now();
    const channels = [...this.senders.keys()];
    const taken = await db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ id: string; corp_id: string; channel: string; sender: string | null; claimed_at: Date; db_now: Date }>`
        SELECT id, corp_id, channel, sender, claimed_at, now() AS db_now FROM outbox_batches
         WHERE status = 'sending' AND lease_until < now() AND channel = ANY(${channels})
         ORDER BY lease_until LIMIT 100
           FOR UPDATE SKIP LOCKED`.execute(trx);
      if (!rows.length) return rows;
      await sql`UPDATE outbox_batches SET claimed_by = ${this.instance}, lease_until = now() + ${this.leaseMs} * interval '1 millisecond' WHERE id = ANY(${rows.map((r) => r.id)}::uuid[])`.execute(trx);
      return rows;
    });
    if (!taken.length) return [];
    const rows = await db
      .selectFrom('outbox')
      .select(['id', 'batch_id', 'recipient', 'payload', 'attempts', 'customer_id'])
      .where(sql<boolean>`batch_id = ANY(${taken.map((t) => t.id)}::uuid[])`)
      .where('status', '=', 'sending')
      .execute();
    const notAfter = started + this.leaseMs - 2 * this.options.gateway.timeoutMs;
    const batches: Leased[] = taken.map((t) => ({
      id: t.id, corpId: t.corp_id, channel: t.channel, sender: t.sender, claimedAt: new Date(t.claimed_at), notAfter,
      rows: rows.filter((r) => r.batch_id === t.id).map((r) => ({ id: r.id, recipient: r.recipient, payload: r.payload as Record<string, unknown>, attempts: r.attempts, customerId: r.customer_id })),
    }));
    const dbNow = new Date(taken[0]!.db_now);
    const resend: Leased[] = [];
    const groups = new Map<string, Leased[]>();
    for (const b of batches) {
      if (!b.rows.length) {
        // Its rows were settled some other way (cancelled by hand): nothing to look for.
        await recordRetry(db, b, { errcode: null, error: 'no rows left', called: false, resolution: 'released', backoff: false }, this.policy, this.now());
        continue;
      }
      const k = `${b.corpId}\u0000${b.channel}`;
      groups.set(k, [...(groups.get(k) ?? []), b]);
    }
    for (const group of groups.values()) {
      const { corpId, channel } = group[0]!;
      const sender = this.senders.get(channel)!;
      const corp = await this.options.gateway.registry.get(corpId);
      let decisions: Map<string, Resolution>;
      if (!corp) decisions = new Map(group.map((b) => [b.id, { kind: 'undecided', reason: `unknown corp ${corpId}` }]));
      else {
        decisions = await sender.resolve(group, {
          gateway: this.options.gateway,
          corp,
          now: dbNow,
          logger: this.log,
          knownMsgids: async (msgids) => {
            if (!msgids.length) return new Set();
            const known = await db.selectFrom('outbox_batches').select('msgid').where('corp_id', '=', corpId).where(sql<boolean>`msgid = ANY(${msgids}::text[])`).execute();
            return new Set(known.map((k) => k.msgid!));
          },
        });
      }
      for (const b of group) resend.push(...(await this.settle(b, sender, decisions.get(b.id) ?? { kind: 'undecided', reason: 'no decision' })));
    }
    return resend;
  }

  private async settle(batch: Leased, sender: Sender, decision: Resolution): Promise<Leased[]> {
    const db = this.options.db;
    const now = this.now();
    const log = this.log.child({ batchId: batch.id, channel: batch.channel, corpId: batch.corpId });
    this.summary.resolved[decision.kind === 'resend' ? 'resent' : decision.kind]++;
    switch (decision.kind) {
      case 'found': {
        const rejected = new Map(batch.rows.filter((r) => !decision.targets.has(r.recipient)).map((r) => [r.recipient, { errcode: 84061, reason: '企业微信未接收：客户无效或与发送成员没有好友关系' }]));
        try {
          await recordSent(db, batch, { msgid: decision.msgid, rejected }, { now, sentAt: decision.sentAt ?? now, awaitsConfirmation: sender.customerFacing, resolution: 'found' });
          log.info({ msgid: decision.msgid }, 'in-doubt outbox batch found in WeCom; marked sent without sending again');
        } catch (error) {
          // The unique msgid index: another batch already owns this task. Look again after the lease.
          if ((error as { code?: string }).code !== '23505') throw error;
          log.error({ msgid: decision.msgid }, 'in-doubt outbox batch matched a task another batch owns; left in doubt');
        }
        return [];
      }
      case 'released':
        await recordRetry(db, batch, { errcode: null, error: decision.reason, called: true, resolution: 'released', backoff: false }, this.policy, now);
        log.info('in-doubt outbox batch not in WeCom; released to be sent again');
        return [];
      case 'abandoned':
        await recordFailed(db, batch, { errcode: null, error: decision.reason, called: true, resolution: 'abandoned' }, now);
        log.warn('in-doubt outbox batch failed rather than risk a duplicate');
        return [];
      case 'resend':
        log.info('in-doubt outbox batch sent again under WeCom\'s duplicate check');
        return [{ ...batch, resent: true }];
      case 'undecided':
        log.warn({ reason: decision.reason }, 'in-doubt outbox batch could not be settled yet');
        return [];
    }
  }
}
