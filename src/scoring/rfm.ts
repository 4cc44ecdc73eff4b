/**
 * RFM: recency, frequency, monetary, each scored 1–5 by quintile, then the classic eight classes.
 *
 * - Recency: whole days since the later of the last transaction and the last contact; none at all is
 *   the worst recency there is (it sorts below every dated customer).
 * - Frequency: the number of distinct products held, plus `attrs.txnCount90d` (the core system's count
 *   of transactions in the last 90 days) when the bank sends it as a number; absent, products alone.
 * - Monetary: AUM in CNY.
 *
 * Quintiles follow SQL `ntile(5) OVER (ORDER BY key, id)` with one correction: customers with equal
 * keys always share a score, namely the bucket in which their run of equal keys starts. That makes a
 * score a function of the key alone, so the whole population reduces to four bounds per metric
 * (the largest key of buckets 1–4). The job reads those bounds from SQL once and scores batches in
 * memory with the same `quintileScore` these pure functions use, so both paths agree exactly.
 */

export const DAY_MS = 86_400_000;
/** A txnCount90d above this is treated as a data error and clamped (the SQL side does the same). */
export const MAX_TXN_COUNT = 1_000_000;

export type RfmClass =
  | '重要价值客户' | '重要发展客户' | '重要保持客户' | '重要挽留客户'
  | '一般价值客户' | '一般发展客户' | '一般保持客户' | '一般挽留客户';

/** Keyed by R, F, M high (H) or low (L); a score of 3 or more is high. */
const CLASS_OF: Record<string, RfmClass> = {
  HHH: '重要价值客户', HLH: '重要发展客户', LHH: '重要保持客户', LLH: '重要挽留客户',
  HHL: '一般价值客户', HLL: '一般发展客户', LHL: '一般保持客户', LLL: '一般挽留客户',
};
export const RFM_CLASSES: readonly RfmClass[] = Object.values(CLASS_OF);

export type Score = 1 | 2 | 3 | 4 | 5;

export interface RfmFacts {
  id: string;
  lastTxnAt: Date | null;
  lastContactAt: Date | null;
  products: readonly string[];
  /** attrs.txnCount90d as the bank sent it (anything but a number counts as absent). */
  txnCount90d?: unknown;
  aum: number;
}

export interface RfmMetrics {
  id: string;
  /** Whole days since the last activity (never negative); null when there was none. */
  recencyDays: number | null;
  frequency: number;
  monetary: number;
}

export interface RfmScore {
  id: string;
  r: Score;
  f: Score;
  m: Score;
  rfmClass: RfmClass;
}

/** Whole days from `at` to `now`, floored and never negative; null stays null. */
export function daysSince(now: Date, at: Date | null): number | null {
  if (!at) return null;
  return Math.max(0, Math.floor((now.getTime() - at.getTime()) / DAY_MS));
}

/** attrs.txnCount90d as a count: a finite number, floored and clamped to [0, MAX_TXN_COUNT]; otherwise 0. */
export function txnCount(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return 0;
  return Math.min(MAX_TXN_COUNT, Math.max(0, Math.floor(value)));
}

/** The later of two instants, either of which may be missing. */
export function later(a: Date | null, b: Date | null): Date | null {
  if (!a) return b;
  if (!b) return a;
  return a.getTime() >= b.getTime() ? a : b;
}

export function rfmMetrics(facts: RfmFacts, now: Date): RfmMetrics {
  return {
    id: facts.id,
    recencyDays: daysSince(now, later(facts.lastTxnAt, facts.lastContactAt)),
    frequency: new Set(facts.products).size + txnCount(facts.txnCount90d),
    monetary: facts.aum,
  };
}

/** For every metric a larger key is better; recency's key is minus the days, and no activity is null. */
export const recencyKey = (days: number | null): number | null => (days === null ? null : -days);

/** The largest key in each of ntile buckets 1–4: -Infinity for a bucket of nulls only, +Infinity for an empty bucket. */
export type QuintileBounds = readonly [number, number, number, number];

export interface Keyed {
  id: string;
  key: number | null;
}

const byKeyThenId = (a: Keyed, b: Keyed): number => {
  if (a.key !== b.key) {
    if (a.key === null) return -1;
    if (b.key === null) return 1;
    return a.key - b.key;
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
};

/** The bucket (1-based) that SQL's ntile(buckets) gives the row at 0-based `position` of `n`. */
export function ntileBucket(position: number, n: number, buckets = 5): number {
  const size = Math.floor(n / buckets), extra = n % buckets;
  const big = extra * (size + 1);
  return position < big ? Math.floor(position / (size + 1)) + 1 : extra + Math.floor((position - big) / size) + 1;
}

export function quintileBounds(items: readonly Keyed[]): QuintileBounds {
  const sorted = [...items].sort(byKeyThenId);
  const bounds = [Infinity, Infinity, Infinity, Infinity];
  const seen = [false, false, false, false];
  sorted.forEach((item, position) => {
    const b = ntileBucket(position, sorted.length) - 1;
    if (b > 3) return;
    const key = item.key ?? -Infinity;
    bounds[b] = seen[b] ? Math.max(bounds[b]!, key) : key;
    seen[b] = true;
  });
  return bounds as unknown as QuintileBounds;
}

/** 1 + the number of buckets whose largest key is below this key: the bucket where the key's tie run starts. */
export function quintileScore(bounds: QuintileBounds, key: number | null): Score {
  const k = key ?? -Infinity;
  let score = 1;
  for (const bound of bounds) if (k > bound) score++;
  return score as Score;
}

/** Tie-corrected quintile scores of a whole population. */
export function quintileScores(items: readonly Keyed[]): Map<string, Score> {
  const bounds = quintileBounds(items);
  return new Map(items.map((item) => [item.id, quintileScore(bounds, item.key)]));
}

export function rfmClass(r: number, f: number, m: number): RfmClass {
  const hl = (s: number) => (s >= 3 ? 'H' : 'L');
  return CLASS_OF[hl(r) + hl(f) + hl(m)]!;
}

export interface RfmBounds {
  r: QuintileBounds;
  f: QuintileBounds;
  m: QuintileBounds;
}

export function rfmBounds(population: readonly RfmMetrics[]): RfmBounds {
  return {
    r: quintileBounds(population.map((p) => ({ id: p.id, key: recencyKey(p.recencyDays) }))),
    f: quintileBounds(population.map((p) => ({ id: p.id, key: p.frequency }))),
    m: quintileBounds(population.map((p) => ({ id: p.id, key: p.monetary }))),
  };
}

export function scoreRfm(bounds: RfmBounds, metrics: RfmMetrics): RfmScore {
  const r = quintileScore(bounds.r, recencyKey(metrics.recencyDays));
  const f = quintileScore(bounds.f, metrics.frequency);
  const m = quintileScore(bounds.m, metrics.monetary);
  return { id: metrics.id, r, f, m, rfmClass: rfmClass(r, f, m) };
}

/** Scores a whole population held in memory (the job does the same from SQL bounds, batch by batch). */
export function scoreRfmPopulation(population: readonly RfmMetrics[]): RfmScore[] {
  const bounds = rfmBounds(population);
  return population.map((p) => scoreRfm(bounds, p));
}
