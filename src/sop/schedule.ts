/**
 * When SOP things happen: waits, working days, quiet hours and local times of day. Every function is pure;
 * the current time is always an argument, never read here.
 *
 * Calendar arithmetic (days, weeks, times of day, working days) happens in the journey's time zone through
 * Intl, so it stays right in zones with daylight saving time: a day is the span between the same local time
 * on consecutive dates, 23 or 25 hours across a change. Minutes and hours are exact elapsed time.
 */

/** Local dates ('YYYY-MM-DD') that override the Monday-to-Friday rule: public holidays and make-up workdays (调休). */
export interface WorkingCalendar {
  holidays: string[];
  workdays: string[];
}

export interface WaitSpec {
  duration?: string;
  /** A local time of day, 'HH:MM'. */
  until?: string;
  workingDay?: boolean;
}

/** A daily quiet period in local time; start == end means none. It crosses midnight when start > end. */
export interface QuietHours {
  start: string;
  end: string;
  timezone: string;
}

export const DEFAULT_TIME_ZONE = 'Asia/Shanghai';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const DURATION = /^([1-9]\d{0,4})([mhdw])$/;
const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const UNIT_MS = { m: MINUTE_MS, h: 60 * MINUTE_MS, d: DAY_MS, w: 7 * DAY_MS } as const;

/**
 * '30m', '2h', '3d' or '1w' (the template schema's durations) in milliseconds, with a day as 24 hours.
 * resolveWait counts days and weeks on the calendar instead, which differs only across a DST change.
 */
export function parseDuration(duration: string): number {
  const { count, unit } = splitDuration(duration);
  return count * UNIT_MS[unit];
}

function splitDuration(duration: string): { count: number; unit: keyof typeof UNIT_MS } {
  const m = DURATION.exec(duration);
  if (!m) throw new RangeError(`invalid duration ${JSON.stringify(duration)}: expected e.g. 30m, 2h, 3d or 1w`);
  return { count: Number(m[1]), unit: m[2] as keyof typeof UNIT_MS };
}

/**
 * When a wait step ends, started at `from`:
 * 1. add the duration (minutes and hours as elapsed time, days and weeks as calendar days at the same local time);
 * 2. with `until`, on to the first time that local time of day comes at or after that moment;
 * 3. with `workingDay`, if that local date is not a working day, on to the same local time on the next one.
 */
export function resolveWait(from: Date, wait: WaitSpec, calendar: WorkingCalendar, timezone = DEFAULT_TIME_ZONE): Date {
  let at = new Date(from.getTime());
  if (wait.duration) {
    const { count, unit } = splitDuration(wait.duration);
    at = unit === 'm' || unit === 'h' ? new Date(at.getTime() + count * UNIT_MS[unit]) : addLocalDays(at, unit === 'w' ? 7 * count : count, timezone);
  }
  if (wait.until) {
    const today = dateInZone(at, timezone);
    const sameDay = atLocalTime(today, wait.until, timezone);
    at = sameDay.getTime() >= at.getTime() ? sameDay : atLocalTime(addDays(today, 1), wait.until, timezone);
  }
  if (wait.workingDay) {
    const day = dateInZone(at, timezone);
    if (!isWorkingDay(day, calendar, timezone)) at = moveToDate(at, nextWorkingDay(day, calendar, timezone), timezone);
  }
  return at;
}

/**
 * Monday to Friday unless a listed holiday, and any listed make-up workday (a 调休 Saturday or Sunday).
 * A string is taken as a local date already; a Date is first read as a date in `timezone`.
 */
export function isWorkingDay(date: Date | string, calendar: WorkingCalendar, timezone = DEFAULT_TIME_ZONE): boolean {
  const day = toLocalDate(date, timezone);
  if (calendar.workdays.includes(day)) return true;
  if (calendar.holidays.includes(day)) return false;
  const weekday = new Date(Date.parse(`${day}T00:00:00Z`)).getUTCDay();
  return weekday !== 0 && weekday !== 6;
}

/** A year covers the longest holiday block many times over; more means a calendar that lists every day. */
const WORKING_DAY_SEARCH_LIMIT = 366;

/** The first working day strictly after `date`, as 'YYYY-MM-DD'. */
export function nextWorkingDay(date: Date | string, calendar: WorkingCalendar, timezone = DEFAULT_TIME_ZONE): string {
  let day = toLocalDate(date, timezone);
  for (let i = 0; i < WORKING_DAY_SEARCH_LIMIT; i++) {
    day = addDays(day, 1);
    if (isWorkingDay(day, calendar, timezone)) return day;
  }
  throw new RangeError(`no working day within ${WORKING_DAY_SEARCH_LIMIT} days after ${toLocalDate(date, timezone)}: check the working calendar`);
}

/** Whether `at` falls in the quiet period: from start (inclusive) to end (exclusive), local time. */
export function inQuietHours(at: Date, quiet: QuietHours): boolean {
  return quietPeriodEnd(at, quiet) !== undefined;
}

/** `at` itself outside quiet hours; inside them, the moment the quiet period ends. */
export function outOfQuietHours(at: Date, quiet: QuietHours): Date {
  return quietPeriodEnd(at, quiet) ?? at;
}

function quietPeriodEnd(at: Date, quiet: QuietHours): Date | undefined {
  const start = minutesOf(quiet.start) * MINUTE_MS;
  const end = minutesOf(quiet.end) * MINUTE_MS;
  if (start === end) return undefined;
  const p = zonedParts(at, quiet.timezone);
  const sinceMidnight = ((p.hour * 60 + p.minute) * 60 + p.second) * 1000 + p.millisecond;
  const today = isoDate(p.year, p.month, p.day);
  if (start < end) return sinceMidnight >= start && sinceMidnight < end ? atLocalTime(today, quiet.end, quiet.timezone) : undefined;
  // Crossing midnight: the evening part ends tomorrow morning, the early-morning part this morning.
  if (sinceMidnight >= start) return atLocalTime(addDays(today, 1), quiet.end, quiet.timezone);
  if (sinceMidnight < end) return atLocalTime(today, quiet.end, quiet.timezone);
  return undefined;
}

/** The local calendar date of an instant, 'YYYY-MM-DD'. */
export function dateInZone(at: Date, timezone = DEFAULT_TIME_ZONE): string {
  const p = zonedParts(at, timezone);
  return isoDate(p.year, p.month, p.day);
}

/**
 * The instant a local date shows a local time of day ("the daily scan at 09:00 Asia/Shanghai"). A time that
 * does not exist (inside a spring-forward gap) moves forward by the gap; a time that happens twice (autumn)
 * is the first of the two.
 */
export function atLocalTime(date: string, hhmm: string, timezone = DEFAULT_TIME_ZONE): Date {
  const minutes = minutesOf(hhmm);
  return fromLocal(date, minutes * MINUTE_MS, timezone);
}

/** Calendar-day arithmetic on 'YYYY-MM-DD', which needs no time zone. */
export function addDays(date: string, days: number): string {
  checkDate(date);
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

function addLocalDays(at: Date, days: number, timezone: string): Date {
  return moveToDate(at, addDays(dateInZone(at, timezone), days), timezone);
}

/** The same local time of day as `at` (to the millisecond), on another local date. */
function moveToDate(at: Date, date: string, timezone: string): Date {
  const p = zonedParts(at, timezone);
  return fromLocal(date, ((p.hour * 60 + p.minute) * 60 + p.second) * 1000 + p.millisecond, timezone);
}

function fromLocal(date: string, msOfDay: number, timezone: string): Date {
  checkDate(date);
  // The wall-clock reading written as if it were UTC; the instant is that minus the zone's offset then.
  const wall = Date.parse(`${date}T00:00:00Z`) + msOfDay;
  const before = offsetAt(wall - DAY_MS, timezone);
  const after = offsetAt(wall + DAY_MS, timezone);
  const candidates = [...new Set([before, offsetAt(wall, timezone), after])]
    .map((offset) => wall - offset)
    .filter((t) => t + offsetAt(t, timezone) === wall)
    .sort((a, b) => a - b);
  // No candidate: the time falls in a gap; reading it with the earlier offset lands after the gap.
  return new Date(candidates[0] ?? wall - before);
}

/** Local wall time minus UTC, in ms, at an instant. */
function offsetAt(instant: number, timezone: string): number {
  const p = zonedParts(new Date(instant), timezone);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second, p.millisecond);
  return wall - instant;
}

interface ZonedParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Throws RangeError for a time zone the runtime does not know. */
function formatter(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timezone, f);
  }
  return f;
}

function zonedParts(at: Date, timezone: string): ZonedParts {
  if (Number.isNaN(at.getTime())) throw new RangeError('invalid date');
  const parts = formatter(timezone).formatToParts(at);
  const get = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value);
  return {
    year: get('year'),
    month: get('month'),
    day: get('day'),
    hour: get('hour'),
    minute: get('minute'),
    second: get('second'),
    // Zone offsets are whole seconds, so the millisecond is the same everywhere.
    millisecond: ((at.getTime() % 1000) + 1000) % 1000,
  };
}

function toLocalDate(date: Date | string, timezone: string): string {
  if (typeof date === 'string') {
    checkDate(date);
    return date;
  }
  return dateInZone(date, timezone);
}

function isoDate(year: number, month: number, day: number): string {
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

function checkDate(date: string): void {
  const m = ISO_DATE.exec(date);
  const valid = m !== null && new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))).toISOString().slice(0, 10) === date;
  if (!valid) throw new RangeError(`invalid date ${JSON.stringify(date)}: expected YYYY-MM-DD`);
}

function minutesOf(hhmm: string): number {
  const m = HHMM.exec(hhmm);
  if (!m) throw new RangeError(`invalid time of day ${JSON.stringify(hhmm)}: expected HH:MM`);
  return Number(m[1]) * 60 + Number(m[2]);
}
