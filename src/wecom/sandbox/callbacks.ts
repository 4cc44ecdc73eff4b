import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { buildXml, sealEnvelope, type CallbackSecrets } from '../crypto.js';

/**
 * Pushes events to the product as WeCom does (REFERENCE §1, SHAPES §13): the XML plaintext is
 * encrypted and signed, POSTed with `?msg_signature&timestamp&nonce`, and an attempt that is not
 * answered 200 within the deadline is aborted and the SAME payload retried after a delay.
 * First attempts go out one at a time in the order events happened, so a healthy receiver sees
 * them in order; retries run on their own and never hold up later events.
 */
export type XmlFields = Record<string, string | number | string[] | undefined>;

export interface CallbackAttempt {
  /** Sandbox clock, ms. */
  at: number;
  status: number | null;
  ok: boolean;
  error?: string;
  durationMs: number;
}

export interface CallbackDelivery {
  id: number;
  event: string;
  changeType?: string;
  fields: XmlFields;
  plaintext: string;
  url: string | null;
  query: { msg_signature: string; timestamp: string; nonce: string };
  body: string;
  createdAt: number;
  attempts: CallbackAttempt[];
  /** skipped: no callback URL was set, as when a corp has not configured one. */
  status: 'pending' | 'delivered' | 'failed' | 'skipped';
}

export interface DispatcherOptions {
  secrets: CallbackSecrets;
  agentId: number;
  now: () => number;
  deadlineMs: number;
  retries: number;
  retryDelayMs: number;
  logger?: Logger;
  /** Where deliveries are recorded (the world's log, so tests read them beside the state they describe). */
  log?: CallbackDelivery[];
}

export class CallbackDispatcher {
  readonly deliveries: CallbackDelivery[];
  private url: string | null = null;
  private chain: Promise<void> = Promise.resolve();
  private pending = new Set<Promise<void>>();
  private aborts = new Set<AbortController>();
  private timers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  private closed = false;

  constructor(private readonly options: DispatcherOptions) {
    this.deliveries = options.log ?? [];
  }

  setUrl(url: string | null): void {
    if (url !== null) new URL(url); // throws on a malformed URL, at the caller
    this.url = url;
  }

  get callbackUrl(): string | null {
    return this.url;
  }

  /** Builds, seals and queues one event; returns its delivery record at once. */
  push(given: XmlFields): CallbackDelivery {
    const fields = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as XmlFields;
    const plaintext = buildXml(fields);
    const timestamp = String(Math.floor(this.options.now() / 1000));
    const sealed = sealEnvelope(this.options.secrets, plaintext, { timestamp, nonce: String(randomBytes(4).readUInt32BE(0)), agentId: this.options.agentId });
    const delivery: CallbackDelivery = {
      id: this.deliveries.length + 1,
      event: String(fields.Event ?? fields.MsgType ?? ''),
      ...(typeof fields.ChangeType === 'string' ? { changeType: fields.ChangeType } : {}),
      fields,
      plaintext,
      url: this.url,
      query: sealed.query,
      body: sealed.body,
      createdAt: this.options.now(),
      attempts: [],
      status: this.url && !this.closed ? 'pending' : 'skipped',
    };
    this.deliveries.push(delivery);
    if (delivery.status === 'skipped') {
      this.options.logger?.debug({ id: delivery.id, event: delivery.event }, 'sandbox callback skipped: no callback URL');
      return delivery;
    }
    const first = this.chain.then(() => this.attempt(delivery));
    this.chain = first.then(
      () => undefined,
      () => undefined,
    );
    this.track(
      first.then(async (ok) => {
        for (let retry = 1; !ok && retry <= this.options.retries && !this.closed; retry++) {
          await this.sleep(this.options.retryDelayMs);
          if (this.closed) break;
          ok = await this.attempt(delivery);
        }
        delivery.status = ok ? 'delivered' : 'failed';
      }),
    );
    return delivery;
  }

  /** Resolves when every queued delivery has succeeded or used up its retries. */
  async idle(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const a of this.aborts) a.abort();
    for (const t of this.timers) {
      clearTimeout(t.timer);
      t.resolve();
    }
    await this.idle();
  }

  private track(p: Promise<void>): void {
    const tracked = p.catch((error: unknown) => this.options.logger?.error({ err: error }, 'sandbox callback crashed'));
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = { timer: setTimeout(() => (this.timers.delete(entry), resolve()), ms), resolve };
      this.timers.add(entry);
    });
  }

  private async attempt(delivery: CallbackDelivery): Promise<boolean> {
    if (this.closed || !delivery.url) return false;
    const target = new URL(delivery.url);
    for (const [k, v] of Object.entries(delivery.query)) target.searchParams.set(k, v);
    const controller = new AbortController();
    this.aborts.add(controller);
    const timer = setTimeout(() => controller.abort(), this.options.deadlineMs);
    const started = Date.now();
    const record: CallbackAttempt = { at: this.options.now(), status: null, ok: false, durationMs: 0 };
    try {
      const response = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': 'text/xml; charset=utf-8', 'user-agent': 'Mozilla/4.0 (WeCom sandbox callback)' },
        body: delivery.body,
        signal: controller.signal,
      });
      await response.text(); // within the deadline too: WeCom waits for the whole answer
      record.status = response.status;
      // Any status but 200 is a failure (REFERENCE §1).
      record.ok = response.status === 200;
    } catch (error) {
      record.error = controller.signal.aborted ? (this.closed ? 'closed' : 'timeout') : (error as Error).message;
    } finally {
      clearTimeout(timer);
      this.aborts.delete(controller);
      record.durationMs = Date.now() - started;
      delivery.attempts.push(record);
    }
    this.options.logger?.info(
      { id: delivery.id, event: delivery.event, changeType: delivery.changeType, attempt: delivery.attempts.length, status: record.status, ok: record.ok, error: record.error },
      'sandbox callback attempt',
    );
    return record.ok;
  }
}
