/**
 * The pure rules the dispatcher applies when it claims rows: quiet hours and the customer's receiving
 * quota period. The current time is always an argument.
 */

/** A daily quiet period in local time (setting `outbound.quietHours`): start inclusive, end exclusive; start == end means none. */
export interface QuietHours {
  start: string;
  end: string;
  timezone: string;
}

export type QuotaPeriod = 'day' | 'week' | 'month';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: timezone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(timezone, f);
  }
  return f;
}

/** The zone's offset from UTC at an instant, in ms (local wall clock minus UTC). */
function offsetMs(at: number, timezone: string): number {
  const parts = Object.fromEntries(formatter(timezone).formatToParts(new Date(at)).map((p) => [p.type, Number(p.value)]));
  const wall = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return wall - (at - (at % 1000));
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/**
 * When the quiet period `at` falls in ends, or undefined when `at` is outside quiet hours. A period
 * that crosses midnight (21:00–08:00) ends the next local morning for an evening moment.
 */
export function quietHoursEnd(at: Date, quiet: QuietHours): Date | undefined {
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  if (start === end) return undefined;
  const t = at.getTime();
  const local = t + offsetMs(t, quiet.timezone);
  const sinceMidnight = (((local % DAY_MS) + DAY_MS) % DAY_MS) / MINUTE_MS;
  const inside = start < end ? sinceMidnight >= start && sinceMidnight < end : sinceMidnight >= start || sinceMidnight < end;
  if (!inside) return undefined;
  const guess = t + ((end - sinceMidnight + 1440) % 1440) * MINUTE_MS;
  // Exact in zones without daylight saving time; across a change the wall clock moved by the difference.
  return new Date(Math.round(guess + offsetMs(t, quiet.timezone) - offsetMs(guess, quiet.timezone)));
}

/**
 * The receiving-quota period `at` falls in, on the China calendar WeCom counts in (Asia/Shanghai,
 * UTC+8 all year): local days, weeks from Monday, calendar months.
 */
export function quotaPeriod(at: Date, period: QuotaPeriod): { start: Date; next: Date } {
  const CST = 8 * 3_600_000;
  const day = Math.floor((at.getTime() + CST) / DAY_MS);
  if (period === 'day') return { start: new Date(day * DAY_MS - CST), next: new Date((day + 1) * DAY_MS - CST) };
  if (period === 'week') {
    const monday = day - ((day + 3) % 7); // 1970-01-01 was a Thursday
    return { start: new Date(monday * DAY_MS - CST), next: new Date((monday + 7) * DAY_MS - CST) };
  }
  const d = new Date(day * DAY_MS);
  return { start: new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) - CST), next: new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - CST) };
}
