/**
 * The five-field cron expressions of `segments.refresh_cron` ("minute hour day-of-month month day-of-week"), read
 * in China local time (UTC+8, no daylight saving). Each field takes `*`, a number, a range `a-b`, a step `*\/n` or
 * `a-b/n`, and comma lists; day-of-week runs 0–7 with 0 and 7 both Sunday. As in classic cron, when both day
 * fields are restricted a day matching either one runs. Only what a refresh schedule needs: the latest minute at
 * or before an instant that the expression selects, so the refresh job can tell which segments are due.
 */
export interface Cron {
  readonly minute: readonly boolean[];
  readonly hour: readonly boolean[];
  readonly day: readonly boolean[];
  readonly month: readonly boolean[];
  readonly weekday: readonly boolean[];
  readonly dayRestricted: boolean;
  readonly weekdayRestricted: boolean;
}

const OFFSET_MS = 8 * 3_600_000;
const MINUTE_MS = 60_000;
const FIELDS = [['minute', 0, 59], ['hour', 0, 23], ['day of month', 1, 31], ['month', 1, 12], ['day of week', 0, 7]] as const;

function parseField(text: string, name: string, min: number, max: number): boolean[] {
  const allowed = new Array<boolean>(max + 1).fill(false);
  for (const part of text.split(',')) {
    const m = /^(\*|(\d{1,2})(?:-(\d{1,2}))?)(?:\/(\d{1,2}))?$/.exec(part);
    if (!m) throw new Error(`${name}: '${part}' is not a number, range, step or *`);
    const from = m[1] === '*' ? min : Number(m[2]);
    const to = m[1] === '*' ? max : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? max : from;
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    if (from < min || to > max || from > to) throw new Error(`${name}: '${part}' is outside ${min}-${max}`);
    if (step < 1) throw new Error(`${name}: step must be at least 1`);
    for (let v = from; v <= to; v += step) allowed[v] = true;
  }
  return allowed;
}

/** Throws an Error saying which field is wrong. */
export function parseCron(expression: string): Cron {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) throw new Error('expected five fields: minute hour day-of-month month day-of-week');
  const [minute, hour, day, month, weekday] = FIELDS.map(([name, min, max], i) => parseField(parts[i]!, name, min, max)) as [
    boolean[], boolean[], boolean[], boolean[], boolean[],
  ];
  if (weekday[7]) weekday[0] = true;
  return { minute, hour, day, month, weekday, dayRestricted: parts[2] !== '*', weekdayRestricted: parts[4] !== '*' };
}

/** Null when the expression is valid, else what is wrong with it. */
export function cronProblem(expression: string): string | null {
  try {
    parseCron(expression);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

function dayMatches(cron: Cron, day: number, weekday: number): boolean {
  const byDay = cron.day[day] === true, byWeekday = cron.weekday[weekday] === true;
  if (cron.dayRestricted && cron.weekdayRestricted) return byDay || byWeekday;
  return byDay && byWeekday;
}

/** The latest minute at or before `at` that the expression selects (null if none in the nine years before). */
export function previousRun(cron: Cron, at: Date): Date | null {
  // Local wall-clock time as if it were UTC, so the getUTC* accessors read China local fields.
  let t = Math.floor((at.getTime() + OFFSET_MS) / MINUTE_MS) * MINUTE_MS;
  const stop = t - 9 * 366 * 86_400_000; // a 29 February schedule can be eight years from its last run
  while (t > stop) {
    const d = new Date(t);
    const y = d.getUTCFullYear(), mo = d.getUTCMonth(), day = d.getUTCDate(), h = d.getUTCHours();
    if (!cron.month[mo + 1]) t = Date.UTC(y, mo, 1) - MINUTE_MS;
    else if (!dayMatches(cron, day, d.getUTCDay())) t = Date.UTC(y, mo, day) - MINUTE_MS;
    else if (!cron.hour[h]) t = Date.UTC(y, mo, day, h) - MINUTE_MS;
    else if (!cron.minute[d.getUTCMinutes()]) t -= MINUTE_MS;
    else return new Date(t - OFFSET_MS);
  }
  return null;
}

/** A segment is due when it was never refreshed or its schedule selected a minute since the last refresh. */
export function isDue(expression: string, refreshedAt: Date | null, now: Date): boolean {
  if (!refreshedAt) return true;
  const last = previousRun(parseCron(expression), now);
  return last !== null && last.getTime() > refreshedAt.getTime();
}
