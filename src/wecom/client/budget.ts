/**
 * A rate budget per (corp, API): a token bucket refilled at `perMinute`, holding at most one second's
 * worth, so that no fixed one-minute window WeCom counts sees more than perMinute plus one second's
 * calls (a bucket of a tenth of a minute let a window see 1.1 × perMinute, measured by the dispatch
 * benchmark as 11 % over the configured budget).
 * When WeCom answers 45009 or 45033 the pair is blocked for the window; callers wait rather than
 * spend calls that would fail. State is per process: with N web/worker nodes, configure perMinute
 * as the corp's budget divided by N.
 */
export interface BudgetOptions {
  perMinute: number;
  /** How long a 45009/45033 blocks the API (WeCom: the window that tripped, one minute). */
  blockMs: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
  blockedUntil: number;
}

export class RateBudget {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;

  constructor(private readonly options: BudgetOptions) {
    this.now = options.now ?? Date.now;
  }

  private bucket(key: string): Bucket {
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: this.capacity, updatedAt: this.now(), blockedUntil: 0 };
      this.buckets.set(key, b);
    }
    return b;
  }

  private get capacity(): number {
    return Math.max(1, Math.floor(this.options.perMinute / 60));
  }

  /** Milliseconds to wait before a call may go out; 0 when it may go now (and the token is taken). */
  private take(key: string): number {
    const b = this.bucket(key);
    const now = this.now();
    if (b.blockedUntil > now) return b.blockedUntil - now;
    const rate = this.options.perMinute / 60_000;
    b.tokens = Math.min(this.capacity, b.tokens + (now - b.updatedAt) * rate);
    b.updatedAt = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) / rate);
  }

  async acquire(corpId: string, api: string): Promise<void> {
    const key = `${corpId}:${api}`;
    for (;;) {
      const wait = this.take(key);
      if (wait === 0) return;
      await new Promise((r) => setTimeout(r, Math.min(wait, 1_000)));
    }
  }

  block(corpId: string, api: string): void {
    const b = this.bucket(`${corpId}:${api}`);
    b.blockedUntil = this.now() + this.options.blockMs;
    b.tokens = 0;
  }

  blockedFor(corpId: string, api: string): number {
    return Math.max(0, this.bucket(`${corpId}:${api}`).blockedUntil - this.now());
  }
}
