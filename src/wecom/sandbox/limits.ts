/**
 * Fixed-window counters, as WeCom's frequency limits behave: a call over the limit is refused until
 * the window that tripped ends (REFERENCE §2), not until a sliding window drains.
 */
export class WindowCounters {
  private windows = new Map<string, { start: number; count: number }>();

  /** Counts one call; false when the window's limit was already reached. */
  hit(key: string, limit: number, windowMs: number, nowMs: number): boolean {
    const start = Math.floor(nowMs / windowMs) * windowMs;
    let w = this.windows.get(key);
    if (!w || w.start !== start) {
      w = { start, count: 0 };
      this.windows.set(key, w);
      if (this.windows.size > 50_000) this.prune(nowMs);
    }
    w.count++;
    return w.count <= limit;
  }

  clear(): void {
    this.windows.clear();
  }

  private prune(nowMs: number): void {
    for (const [key, w] of this.windows) if (nowMs - w.start > 3_600_000) this.windows.delete(key);
  }
}

export const MINUTE = 60_000;
export const HOUR = 3_600_000;

export interface ApiQuotaDefaults {
  perMinute: number;
  perHour: number;
}

/** Per corp per API limits, with per-API overrides set through the control API. */
export class ApiQuotas {
  private counters = new WindowCounters();
  private minuteOverrides = new Map<string, number>();
  private hourOverrides = new Map<string, number>();

  /** `ownHourly`: APIs whose hourly override is their own budget (JS-SDK tickets), kept out of the generic window. */
  constructor(
    private readonly defaults: ApiQuotaDefaults,
    private readonly ownHourly: ReadonlySet<string> = new Set(),
  ) {}

  set(api: string, limit: number | null, per: 'minute' | 'hour' = 'minute'): void {
    const map = per === 'minute' ? this.minuteOverrides : this.hourOverrides;
    if (limit === null) map.delete(api);
    else map.set(api, limit);
  }

  limits(api: string): { perMinute: number; perHour: number } {
    return {
      perMinute: this.minuteOverrides.get(api) ?? this.defaults.perMinute,
      perHour: (this.ownHourly.has(api) ? undefined : this.hourOverrides.get(api)) ?? this.defaults.perHour,
    };
  }

  /** An hourly limit set through the control API for this API, if any (tickets use their own defaults). */
  hourOverride(api: string): number | undefined {
    return this.hourOverrides.get(api);
  }

  /** Both windows count every call, so a blocked call still keeps the block in place until the window ends. */
  allow(corpId: string, api: string, nowMs: number): boolean {
    const { perMinute, perHour } = this.limits(api);
    const minuteOk = this.counters.hit(`${corpId}|${api}|m`, perMinute, MINUTE, nowMs);
    const hourOk = this.counters.hit(`${corpId}|${api}|h`, perHour, HOUR, nowMs);
    return minuteOk && hourOk;
  }
}
