/**
 * Churn risk: L2-regularised logistic regression on standardised features, fitted by plain batch
 * gradient descent from zero weights (no randomness, so the same history always gives the same model),
 * trained on the bank's labelled history (`attrs.churned === true` is a lost customer).
 *
 * Features, and what a missing value means:
 *  - aumDrop: (aum90dAgo − aum) / aum90dAgo, clamped to [−1, 1] (negative = growth); unknown without
 *    a positive attrs.aum90dAgo, and unknown is neutral (standardised to 0).
 *  - daysSinceTxn, daysSinceContact: capped at MAX_DAYS; never = MAX_DAYS.
 *  - productCount, deletedByCustomer (0/1), marketingConsent (0/1).
 *  - age: whole years; unknown is neutral.
 * Reasons are the features with the largest positive coefficient × standardised value.
 */

export const CHURN_FEATURES = [
  'aumDrop', 'daysSinceTxn', 'daysSinceContact', 'productCount', 'deletedByCustomer', 'marketingConsent', 'age',
] as const;
export type ChurnFeature = (typeof CHURN_FEATURES)[number];
export const MAX_DAYS = 730;

export interface ChurnRow {
  aum: number;
  aum90dAgo: number | null;
  daysSinceTxn: number | null;
  daysSinceContact: number | null;
  productCount: number;
  deletedByCustomer: boolean;
  marketingConsent: boolean;
  age: number | null;
  /** The label; only `true` counts as churned. */
  churned?: boolean;
}

export interface ChurnModel {
  features: readonly ChurnFeature[];
  coefficients: number[];
  means: number[];
  stds: number[];
  intercept: number;
  /** ROC AUC of the fitted model on its own training rows. */
  auc: number;
  trainingRows: number;
  positives: number;
  iterations: number;
}

export type ChurnBand = 'low' | 'medium' | 'high';
export interface ChurnReason {
  feature: ChurnFeature;
  text: string;
  contribution: number;
}
export interface ChurnScore {
  probability: number;
  band: ChurnBand;
  reasons: ChurnReason[];
}

export interface TrainOptions {
  /** L2 penalty on the (standardised) coefficients, not the intercept. Default 0.01. */
  l2?: number;
  learningRate?: number;
  maxIterations?: number;
  /** Stop when the largest gradient component falls below this. */
  tolerance?: number;
  /** Added to the fitted intercept, e.g. −ln(positive rate / negative rate) to undo class-stratified sampling. */
  interceptOffset?: number;
}

export interface BandOptions {
  /** Probability from which a customer is medium risk; default 0.3. */
  medium?: number;
  /** Probability from which a customer is high risk; default 0.6. */
  high?: number;
}

export function aumDropRatio(aum: number, aum90dAgo: number | null): number | null {
  if (aum90dAgo === null || !Number.isFinite(aum90dAgo) || aum90dAgo <= 0) return null;
  return Math.min(1, Math.max(-1, (aum90dAgo - aum) / aum90dAgo));
}

const capDays = (days: number | null) => (days === null ? MAX_DAYS : Math.min(MAX_DAYS, Math.max(0, days)));

/** The raw feature vector in CHURN_FEATURES order; NaN marks an unknown value. */
export function churnFeatures(row: ChurnRow): number[] {
  return [
    aumDropRatio(row.aum, row.aum90dAgo) ?? NaN,
    capDays(row.daysSinceTxn),
    capDays(row.daysSinceContact),
    row.productCount,
    row.deletedByCustomer ? 1 : 0,
    row.marketingConsent ? 1 : 0,
    row.age ?? NaN,
  ];
}

export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** ROC AUC by the rank-sum (Mann–Whitney) formula; tied scores share their average rank. */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<boolean>): number {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0, rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (labels[order[k]!]) { positives++; rankSum += rank; }
    i = j + 1;
  }
  const negatives = order.length - positives;
  if (!positives || !negatives) return NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Means and standard deviations per column, ignoring NaN; a constant column gets std 1. */
export function columnStats(rows: readonly (readonly number[])[], width: number): { means: number[]; stds: number[] } {
  const means: number[] = [], stds: number[] = [];
  for (let j = 0; j < width; j++) {
    let n = 0, sum = 0, sq = 0;
    for (const row of rows) {
      const v = row[j]!;
      if (Number.isNaN(v)) continue;
      n++; sum += v; sq += v * v;
    }
    const mean = n ? sum / n : 0;
    const variance = n ? Math.max(0, sq / n - mean * mean) : 0;
    means.push(mean);
    stds.push(variance > 1e-12 ? Math.sqrt(variance) : 1);
  }
  return { means, stds };
}

export const standardise = (x: readonly number[], means: readonly number[], stds: readonly number[]): number[] =>
  x.map((v, j) => (Number.isNaN(v) ? 0 : (v - means[j]!) / stds[j]!));

/** Minimises mean log-loss + (l2/2)·|w|² by batch gradient descent from zero. X is row-major n×d. */
export function fitLogistic(X: Float64Array, y: Uint8Array, d: number, options: TrainOptions = {}): { weights: number[]; intercept: number; iterations: number } {
  const n = y.length, l2 = options.l2 ?? 0.01, rate = options.learningRate ?? 0.5;
  const maxIterations = options.maxIterations ?? 2000, tolerance = options.tolerance ?? 1e-5;
  const w = new Float64Array(d), grad = new Float64Array(d);
  // Start from the base rate's log-odds (the optimum with all weights zero): fewer iterations, still deterministic.
  const base = Math.min(1 - 1e-9, Math.max(1e-9, y.reduce((s, v) => s + v, 0) / Math.max(1, n)));
  let b = Math.log(base / (1 - base)), iterations = 0;
  while (iterations < maxIterations) {
    iterations++;
    grad.fill(0);
    let gb = 0;
    for (let i = 0, o = 0; i < n; i++, o += d) {
      let z = b;
      for (let j = 0; j < d; j++) z += w[j]! * X[o + j]!;
      const err = sigmoid(z) - y[i]!;
      gb += err;
      for (let j = 0; j < d; j++) grad[j]! += err * X[o + j]!;
    }
    let largest = Math.abs(gb / n);
    for (let j = 0; j < d; j++) {
      const g = grad[j]! / n + l2 * w[j]!;
      largest = Math.max(largest, Math.abs(g));
      w[j]! -= rate * g;
    }
    b -= (rate * gb) / n;
    if (largest < tolerance) break;
  }
  return { weights: [...w], intercept: b, iterations };
}

export function trainChurnModel(rows: readonly ChurnRow[], options: TrainOptions = {}): ChurnModel {
  const d = CHURN_FEATURES.length;
  const raw = rows.map(churnFeatures);
  const labels = Uint8Array.from(rows, (r) => (r.churned === true ? 1 : 0));
  const positives = labels.reduce((s, v) => s + v, 0);
  if (!positives || positives === rows.length) throw new RangeError('churn training needs both churned and retained customers');
  const { means, stds } = columnStats(raw, d);
  const X = new Float64Array(rows.length * d);
  raw.forEach((x, i) => X.set(standardise(x, means, stds), i * d));
  const fit = fitLogistic(X, labels, d, options);
  const linear = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    let z = fit.intercept;
    for (let j = 0; j < d; j++) z += fit.weights[j]! * X[i * d + j]!;
    linear[i] = z;
  }
  return {
    features: CHURN_FEATURES, coefficients: fit.weights, means, stds,
    intercept: fit.intercept + (options.interceptOffset ?? 0),
    auc: auc(linear, Array.from(labels, Boolean)), trainingRows: rows.length, positives, iterations: fit.iterations,
  };
}

export function churnBand(probability: number, bands: BandOptions = {}): ChurnBand {
  if (probability >= (bands.high ?? 0.6)) return 'high';
  if (probability >= (bands.medium ?? 0.3)) return 'medium';
  return 'low';
}

const pct = (ratio: number) => Math.round(Math.abs(ratio) * 100);

/** The Chinese wording of one feature's value, or null when the value is unknown (never a reason). */
function reasonText(feature: ChurnFeature, row: ChurnRow, z: number): string | null {
  switch (feature) {
    case 'aumDrop': {
      const drop = aumDropRatio(row.aum, row.aum90dAgo);
      if (drop === null) return null;
      return drop >= 0 ? `资产较90天前下降${pct(drop)}%` : `资产较90天前上升${pct(drop)}%`;
    }
    case 'daysSinceTxn':
      return row.daysSinceTxn === null ? '无交易记录' : `${row.daysSinceTxn}天无交易`;
    case 'daysSinceContact':
      return row.daysSinceContact === null ? '从未联系' : `${row.daysSinceContact}天未联系`;
    case 'productCount':
      return row.productCount === 0 ? '未持有本行产品' : z < 0 ? `仅持有${row.productCount}个产品` : `持有${row.productCount}个产品`;
    case 'deletedByCustomer':
      return row.deletedByCustomer ? '已删除客户经理好友' : '仍是客户经理好友';
    case 'marketingConsent':
      return row.marketingConsent ? '已授权营销触达' : '未授权营销触达';
    case 'age':
      return row.age === null ? null : `${row.age}岁`;
  }
}

export function scoreChurn(model: ChurnModel, row: ChurnRow, bands: BandOptions = {}): ChurnScore {
  const z = standardise(churnFeatures(row), model.means, model.stds);
  let linear = model.intercept;
  const reasons: ChurnReason[] = [];
  model.features.forEach((feature, j) => {
    const contribution = model.coefficients[j]! * z[j]!;
    linear += contribution;
    if (contribution <= 1e-9) return;
    const text = reasonText(feature, row, z[j]!);
    if (text) reasons.push({ feature, text, contribution: Math.round(contribution * 1e4) / 1e4 });
  });
  reasons.sort((a, b) => b.contribution - a.contribution || CHURN_FEATURES.indexOf(a.feature) - CHURN_FEATURES.indexOf(b.feature));
  const probability = sigmoid(linear);
  return { probability, band: churnBand(probability, bands), reasons: reasons.slice(0, 3) };
}
