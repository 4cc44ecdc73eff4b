/**
 * Send limits for a WeChat account: WeChat's risk control punishes accounts that send fast, so
 * every message the bot says waits for a slot — one per conversation interval in each chat, and a
 * global token bucket over all chats. Nothing is dropped: a send waits its turn.
 */

/**
 * A token bucket that hands out reservations: each `reserve()` takes a token now (the balance may
 * go below zero) and says how long to wait before using it. Reservations are therefore served in
 * the order they were made, at exactly the bucket's rate. Pure apart from the injected clock.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly capacity: number,
    /** Tokens added per millisecond. */
    readonly refillPerMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(capacity >= 1) || !(refillPerMs > 0)) throw new RangeError('a token bucket needs a capacity of at least 1 and a positive refill rate');
    this.tokens = capacity;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + (t - this.last) * this.refillPerMs);
    this.last = t;
  }

  /** Takes one token; returns the milliseconds to wait before it may be used (0: at once). */
  reserve(): number {
    this.refill();
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil(-this.tokens / this.refillPerMs);
  }

  /** True when the bucket is full (nobody has used it for a while): it can be forgotten. */
  idle(): boolean {
    this.refill();
    return this.tokens >= this.capacity;
  }
}

export interface SendLimits {
  /** Messages per minute over all conversations. */
  perMinute: number;
  /** Messages the global bucket lets through at once after a quiet spell. */
  burst: number;
  /** Least time between two messages into one conversation, ms (0: no per-conversation limit). */
  conversationIntervalMs: number;
}

export const DEFAULT_SEND_LIMITS: SendLimits = { perMinute: 20, burst: 3, conversationIntervalMs: 2000 };

export class SendLimiterClosed extends Error {
  constructor() {
    super('the bot is stopping; the message stays queued in the outbox');
    this.name = 'SendLimiterClosed';
  }
}

/**
 * The bot's send slots. `acquire(conversation)` resolves when a message may be said into that
 * conversation: first the conversation's own interval, then a global token (taken at that moment,
 * so the global rate holds for the actual sends). Callers keep one conversation's sends in order
 * by awaiting them one after another.
 */
export class SendLimiter {
  private readonly global: TokenBucket;
  private readonly conversations = new Map<string, TokenBucket>();
  private readonly waiting = new Set<{ timer: NodeJS.Timeout; reject: (e: Error) => void }>();
  private closed = false;

  private readonly now: () => number;
  /** Injected with `now` by tests, which then step a fake clock instead of waiting. */
  private readonly wait?: (ms: number) => Promise<void>;

  constructor(
    readonly limits: SendLimits,
    clock: { now: () => number; sleep?: (ms: number) => Promise<void> } = { now: Date.now },
  ) {
    this.now = clock.now;
    this.wait = clock.sleep;
    this.global = new TokenBucket(limits.burst, limits.perMinute / 60_000, this.now);
  }

  async acquire(conversation: string): Promise<void> {
    if (this.limits.conversationIntervalMs > 0) await this.sleep(this.bucketOf(conversation).reserve());
    await this.sleep(this.global.reserve());
  }

  /** Rejects every waiting acquisition with SendLimiterClosed, and every later one. */
  close(): void {
    this.closed = true;
    for (const w of this.waiting) {
      clearTimeout(w.timer);
      w.reject(new SendLimiterClosed());
    }
    this.waiting.clear();
  }

  private bucketOf(conversation: string): TokenBucket {
    let bucket = this.conversations.get(conversation);
    if (!bucket) {
      // Idle chats are forgotten now and then, so a bot that meets many people keeps a small map.
      if (this.conversations.size >= 1000) for (const [k, b] of this.conversations) if (b.idle()) this.conversations.delete(k);
      bucket = new TokenBucket(1, 1 / this.limits.conversationIntervalMs, this.now);
      this.conversations.set(conversation, bucket);
    }
    return bucket;
  }

  private sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.reject(new SendLimiterClosed());
    if (ms <= 0) return Promise.resolve();
    if (this.wait) return this.wait(ms);
    return new Promise<void>((resolve, reject) => {
      const entry = {
        timer: setTimeout(() => {
          this.waiting.delete(entry);
          resolve();
        }, ms),
        reject,
      };
      this.waiting.add(entry);
    });
  }
}
