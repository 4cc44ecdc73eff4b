import { z } from 'zod';

/**
 * The dashboard's date range: calendar days in the bank's time zone, both ends included, at most a year.
 * Without dates it is the last 30 days, today included.
 */
export const DASHBOARD_TIMEZONE = 'Asia/Shanghai';
export const MAX_RANGE_DAYS = 366;
export const DEFAULT_RANGE_DAYS = 30;

const DAY_MS = 86_400_000;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

const isRealDate = (s: string) => ISO_DATE.test(s) && new Date(`${s}T00:00:00Z`).toISOString().slice(0, 10) === s;

export const isoDay = z.string().refine(isRealDate, 'expected a date YYYY-MM-DD');

export const rangeQuerySchema = z
  .object({ from: isoDay.optional(), to: isoDay.optional() })
  .superRefine((q, ctx) => {
    if (q.from && q.to) {
      if (q.from > q.to) ctx.addIssue({ code: 'custom', path: ['from'], message: 'must not be after to' });
      else if (daysBetween(q.from, q.to) + 1 > MAX_RANGE_DAYS) ctx.addIssue({ code: 'custom', path: ['from'], message: `the range may span at most ${MAX_RANGE_DAYS} days` });
    }
  });

export interface DayRange {
  from: string;
  to: string;
  /** Every day of the range, in order: the x axis of every series. */
  days: string[];
}

export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);
}

/** The calendar day of an instant in the dashboard's time zone. */
export function dayIn(instant: Date, timeZone = DASHBOARD_TIMEZONE): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(instant);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/**
 * The range asked for, completed: a missing `to` is today (or 29 days after a lone `from`, whichever is
 * earlier, but never before `from`); a missing `from` is 29 days before `to`.
 */
export function resolveRange(q: { from?: string; to?: string }, now = new Date()): DayRange {
  const today = dayIn(now);
  const to = q.to ?? (q.from ? min(addDays(q.from, DEFAULT_RANGE_DAYS - 1), max(today, q.from)) : today);
  const from = q.from ?? addDays(to, -(DEFAULT_RANGE_DAYS - 1));
  const days: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) days.push(d);
  return { from, to, days };
}

const min = (a: string, b: string) => (a < b ? a : b);
const max = (a: string, b: string) => (a > b ? a : b);
