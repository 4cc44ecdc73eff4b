import catalogue from '../../data/bank/products.json' with { type: 'json' };

/**
 * Product propensity by item-to-item collaborative filtering over the customer × product holding
 * matrix (binary). sim(i, j) = cosine of the two product columns = co(i, j) / √(n_i · n_j), where
 * n_i counts holders of i and co(i, j) holders of both. A customer's score for a product j they do not
 * hold is Σ sim(i, j) over the products i they hold (pairs with fewer than `minCooccurrence` common
 * holders count as 0, so one odd customer cannot make a recommendation). Candidates then pass the
 * suitability gate, and the best k are returned, each explained by the held product that contributes
 * most: "持有「X」的客户中有62%也持有「Y」" (co(X, Y) / n_X).
 */

export type RiskLevel = 'R1' | 'R2' | 'R3' | 'R4' | 'R5';
export interface Product {
  id: string;
  name: string;
  riskLevel: RiskLevel | null;
}

interface CatalogueEntry { id: string; name: string; risk_level: string | null }

/** The bank's catalogue, data/bank/products.json. */
export const PRODUCTS: readonly Product[] = (catalogue as readonly CatalogueEntry[]).map((p) => ({
  id: p.id, name: p.name, riskLevel: (p.risk_level as RiskLevel | null) ?? null,
}));

/** Holder counts: counts.get(i) = n_i, pairs.get(i)?.get(j) = co(i, j) for i ≠ j. */
export interface Cooccurrence {
  counts: Map<string, number>;
  pairs: Map<string, Map<string, number>>;
}

export interface CooccurrenceRow {
  a: string;
  b: string;
  n: number;
}

/** From (a, b, n) rows, the diagonal (a = b) being holder counts; what the job's SQL returns. */
export function cooccurrenceFromRows(rows: Iterable<CooccurrenceRow>): Cooccurrence {
  const counts = new Map<string, number>(), pairs = new Map<string, Map<string, number>>();
  for (const { a, b, n } of rows) {
    if (a === b) counts.set(a, (counts.get(a) ?? 0) + n);
    else {
      let row = pairs.get(a);
      if (!row) pairs.set(a, (row = new Map()));
      row.set(b, (row.get(b) ?? 0) + n);
    }
  }
  return { counts, pairs };
}

/** Counts over holdings in memory (tests, small populations). */
export function cooccurrence(holdings: Iterable<readonly string[]>): Cooccurrence {
  const tally = new Map<string, number>();
  for (const held of holdings) {
    const items = [...new Set(held)];
    for (const a of items) for (const b of items) tally.set(a + '\u0000' + b, (tally.get(a + '\u0000' + b) ?? 0) + 1);
  }
  return cooccurrenceFromRows([...tally].map(([key, n]) => {
    const [a, b] = key.split('\u0000') as [string, string];
    return { a, b, n };
  }));
}

export interface SuitabilityProfile {
  riskLevel: RiskLevel | null;
  /** 'YYYY-MM-DD' (China local date) of the last risk assessment. */
  riskAssessedAt: string | null;
}

export const ASSESSMENT_VALID_DAYS = 365;
const CST_MS = 8 * 3_600_000, DAY_MS = 86_400_000;
const riskRank = (level: string | null) => (level ? Number(level.slice(1)) : 0);

/** The China-local calendar date of an instant, 'YYYY-MM-DD'. */
export const chinaDate = (at: Date): string => new Date(at.getTime() + CST_MS).toISOString().slice(0, 10);

/** Assessed no more than 365 days before the China-local date of `now` (a date after it counts as current). */
export function assessmentValid(riskAssessedAt: string | null, now: Date): boolean {
  if (!riskAssessedAt || !/^\d{4}-\d{2}-\d{2}/.test(riskAssessedAt)) return false;
  const days = (Date.parse(chinaDate(now)) - Date.parse(riskAssessedAt.slice(0, 10))) / DAY_MS;
  return Number.isFinite(days) && days <= ASSESSMENT_VALID_DAYS;
}

/** Products without a risk level suit everyone; the others need a current assessment at or above their level. */
export function suitable(product: Product, customer: SuitabilityProfile, now: Date): boolean {
  if (!product.riskLevel) return true;
  return riskRank(customer.riskLevel) >= riskRank(product.riskLevel) && assessmentValid(customer.riskAssessedAt, now);
}

export interface Recommendation {
  productId: string;
  productName: string;
  score: number;
  /** The held product that explains the recommendation, and the share of its holders who hold this one. */
  basisProductId: string;
  basisShare: number;
  reason: string;
}

export interface RecommendOptions {
  now: Date;
  k?: number;
  products?: readonly Product[];
}

export class PropensityModel {
  readonly minCooccurrence: number;
  constructor(readonly data: Cooccurrence, minCooccurrence = 5) {
    this.minCooccurrence = minCooccurrence;
  }

  co(a: string, b: string): number {
    return this.data.pairs.get(a)?.get(b) ?? 0;
  }

  similarity(a: string, b: string): number {
    const co = this.co(a, b);
    if (a === b || co < this.minCooccurrence) return 0;
    return co / Math.sqrt((this.data.counts.get(a) ?? co) * (this.data.counts.get(b) ?? co));
  }

  /** The top-k suitable products the customer does not hold, best first (ties by product id). */
  recommend(customer: SuitabilityProfile & { products: readonly string[] }, options: RecommendOptions): Recommendation[] {
    const held = [...new Set(customer.products)].sort();
    const products = options.products ?? PRODUCTS;
    const names = new Map(products.map((p) => [p.id, p.name]));
    const found: Recommendation[] = [];
    for (const product of products) {
      if (held.includes(product.id) || !suitable(product, customer, options.now)) continue;
      let score = 0, basis = '', best = 0;
      for (const i of held) {
        const s = this.similarity(i, product.id);
        score += s;
        if (s > best) { best = s; basis = i; }
      }
      if (score <= 0) continue;
      const share = this.co(basis, product.id) / (this.data.counts.get(basis) ?? 1);
      const basisName = names.get(basis) ?? basis;
      found.push({
        productId: product.id, productName: product.name, score: Math.round(score * 1e4) / 1e4,
        basisProductId: basis, basisShare: Math.round(share * 1e4) / 1e4,
        reason: `持有「${basisName}」的客户中有${Math.round(share * 100)}%也持有「${product.name}」`,
      });
    }
    found.sort((a, b) => b.score - a.score || (a.productId < b.productId ? -1 : 1));
    return found.slice(0, options.k ?? 3);
  }
}
