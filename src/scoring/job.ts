import { z } from 'zod';
import type { Db } from '../platform/db/database.js';
import type { JobRunner } from '../platform/jobs.js';
import type { Logger } from '../platform/logger.js';
import { scoreChurn, trainChurnModel, type BandOptions, type ChurnBand, type ChurnFeature, type ChurnModel, type ChurnRow, type ChurnScore, type TrainOptions } from './churn.js';
import { churnRowOf, countLabels, loadCooccurrence, loadFacts, loadRfmBounds, rfmMetricsOf } from './data.js';
import { chinaDate, PropensityModel, type Recommendation } from './propensity.js';
import { RFM_CLASSES, scoreRfm, type RfmClass, type RfmScore } from './rfm.js';
import { writeCustomers } from '../tags/catalog.js';
import { ensureModelTags, ensureProductTags, replaceModelTags, type TagAssignment } from './tags.js';

/**
 * The nightly scoring run. Memory stays bounded whatever the number of customers: quintile bounds and
 * product co-occurrence come from SQL aggregates, the churn model trains on a capped, deterministic,
 * class-stratified sample (its intercept corrected for the sampling), and customers are then scored
 * in keyset-paged batches, each batch's scores and model tags written in one transaction.
 */
export const SCORING_JOB = 'scoring.nightly';

export interface ScoringDeps {
  db: Db;
  logger: Logger;
}

export interface ScoringOptions {
  now: Date;
  /** Customers per page and per transaction; default 1000. */
  batchSize?: number;
  /** Recommendations kept per customer; default 3 (the top one becomes a 产品偏好 tag). */
  topK?: number;
  /** Most customers the churn model trains on; default 50,000 (plenty for seven coefficients; ~10 s of gradient descent). */
  trainingCap?: number;
  /** Fewest common holders for two products to count as similar; default 5. */
  minCooccurrence?: number;
  bands?: BandOptions;
  train?: TrainOptions;
}

export interface ScoringSummary {
  runDate: string;
  customers: number;
  batches: number;
  rfm: Record<RfmClass, number>;
  churn: {
    trained: boolean;
    trainingRows: number;
    positives: number;
    auc: number | null;
    /** The fitted coefficient of each standardised feature, for the run log and audits. */
    coefficients: Partial<Record<ChurnFeature, number>>;
    bands: Record<ChurnBand, number>;
  };
  propensity: { customersWithRecommendations: number; recommendations: number };
  tagsAssigned: number;
}

/** The churn model from the labelled history, or null when the history lacks churned or retained customers. */
async function trainFromHistory(db: Db, now: Date, cap: number, pageSize: number, train: TrainOptions): Promise<ChurnModel | null> {
  const { positives, total } = await countLabels(db);
  const negatives = total - positives;
  if (!positives || !negatives) return null;
  let positive = 1, negative = 1;
  if (total > cap) {
    positive = Math.min(1, cap / 2 / positives);
    negative = Math.min(1, Math.max(0, cap - positives * positive) / negatives);
  }
  const sample = positive < 1 || negative < 1 ? { positive, negative } : undefined;
  const rows: ChurnRow[] = [];
  for (let after: string | null = null; ; ) {
    const page = await loadFacts(db, now, { after, limit: pageSize, ...(sample ? { sample } : {}) });
    if (!page.length) break;
    for (const facts of page) rows.push(churnRowOf(facts));
    after = page[page.length - 1]!.id;
  }
  const keptPositives = rows.filter((r) => r.churned).length, keptNegatives = rows.length - keptPositives;
  if (!keptPositives || !keptNegatives) return null;
  // Sampling multiplies the odds by (positive rate / negative rate); the offset takes that back out.
  const interceptOffset = -Math.log(keptPositives / positives / (keptNegatives / negatives));
  return trainChurnModel(rows, { ...train, interceptOffset });
}

interface Scored {
  id: string;
  rfm: RfmScore;
  churn: ChurnScore | null;
  recommendations: Recommendation[];
}

export async function runScoring(deps: ScoringDeps, options: ScoringOptions): Promise<ScoringSummary> {
  const { db, logger } = deps;
  const { now } = options;
  const batchSize = options.batchSize ?? 1000, topK = options.topK ?? 3;
  const runDate = chinaDate(now), cause = `scoring:${runDate}`;

  const bounds = await loadRfmBounds(db, now);
  const model = await trainFromHistory(db, now, options.trainingCap ?? 50_000, Math.max(batchSize, 5000), options.train ?? {});
  if (!model) logger.warn({ runDate }, 'churn model not trained: the history needs churned and retained customers');
  const propensity = new PropensityModel(await loadCooccurrence(db), options.minCooccurrence ?? 5);
  const tags = await ensureModelTags(db);

  const summary: ScoringSummary = {
    runDate, customers: 0, batches: 0,
    rfm: Object.fromEntries(RFM_CLASSES.map((c) => [c, 0])) as Record<RfmClass, number>,
    churn: {
      trained: model !== null, trainingRows: model?.trainingRows ?? 0, positives: model?.positives ?? 0,
      auc: model?.auc ?? null, bands: { low: 0, medium: 0, high: 0 },
      coefficients: Object.fromEntries(model?.features.map((f, j) => [f, Math.round(model.coefficients[j]! * 1e4) / 1e4]) ?? []),
    },
    propensity: { customersWithRecommendations: 0, recommendations: 0 },
    tagsAssigned: 0,
  };

  for (let after: string | null = null; ; ) {
    const batch = await loadFacts(db, now, { after, limit: batchSize });
    if (!batch.length) break;
    after = batch[batch.length - 1]!.id;
    const scored: Scored[] = batch.map((facts) => ({
      id: facts.id,
      rfm: scoreRfm(bounds, rfmMetricsOf(facts)),
      churn: model ? scoreChurn(model, churnRowOf(facts), options.bands) : null,
      recommendations: propensity.recommend(facts, { now, k: topK }),
    }));
    await ensureProductTags(db, tags, scored.flatMap((s) => (s.recommendations[0] ? [s.recommendations[0].productName] : [])));

    const assignments: TagAssignment[] = [];
    for (const s of scored) {
      assignments.push({ customerId: s.id, tagId: tags.rfm.get(s.rfm.rfmClass)! });
      if (s.churn) assignments.push({ customerId: s.id, tagId: tags.churn.get(s.churn.band)! });
      const top = s.recommendations[0];
      if (top) assignments.push({ customerId: s.id, tagId: tags.product.get(top.productName)! });
    }

    // Alone among bulk writers (writeCustomers), so a concurrent run, the nightly fact tags or a rule recompute never
    // holds some of these customers while waiting for others; without locking the page's customer rows up front,
    // which on a quiet night would write every customer row for the handful whose band or tags move.
    await writeCustomers(db, 'alone', async (trx) => {
      await trx
        .insertInto('customer_scores')
        .values(scored.map((s) => ({
          customer_id: s.id,
          recency_score: s.rfm.r, frequency_score: s.rfm.f, monetary_score: s.rfm.m, rfm_class: s.rfm.rfmClass,
          churn_probability: s.churn ? Math.round(s.churn.probability * 1e6) / 1e6 : null,
          churn_band: s.churn?.band ?? null,
          churn_reasons: JSON.stringify(s.churn?.reasons ?? []),
          propensity: JSON.stringify(s.recommendations),
          computed_at: now,
        })))
        .onConflict((oc) => oc.column('customer_id').doUpdateSet((eb) => ({
          recency_score: eb.ref('excluded.recency_score'),
          frequency_score: eb.ref('excluded.frequency_score'),
          monetary_score: eb.ref('excluded.monetary_score'),
          rfm_class: eb.ref('excluded.rfm_class'),
          churn_probability: eb.ref('excluded.churn_probability'),
          churn_band: eb.ref('excluded.churn_band'),
          churn_reasons: eb.ref('excluded.churn_reasons'),
          propensity: eb.ref('excluded.propensity'),
          computed_at: eb.ref('excluded.computed_at'),
        })))
        .execute();
      await replaceModelTags(trx, tags, scored.map((s) => s.id), assignments, cause, now);
    });

    summary.batches++;
    summary.customers += scored.length;
    summary.tagsAssigned += assignments.length;
    for (const s of scored) {
      summary.rfm[s.rfm.rfmClass]++;
      if (s.churn) summary.churn.bands[s.churn.band]++;
      if (s.recommendations.length) summary.propensity.customersWithRecommendations++;
      summary.propensity.recommendations += s.recommendations.length;
    }
  }
  logger.info({ ...summary }, 'scoring run done');
  return summary;
}

export function defineScoringJobs(jobs: JobRunner, deps: ScoringDeps): void {
  jobs.define({
    name: SCORING_JOB,
    payload: z.object({}),
    concurrency: 1,
    maxRetries: 2,
    retryDelayMs: 5 * 60_000,
    // A run over a million customers takes minutes; the lock must outlive it so no second worker starts one.
    lockLifetimeMs: 3 * 60 * 60_000,
    handler: async (_payload, context) => {
      await runScoring({ db: deps.db, logger: context.logger }, { now: new Date() });
    },
  });
}

export async function scheduleScoringJobs(jobs: JobRunner): Promise<void> {
  await jobs.every(SCORING_JOB, '30 1 * * *', {}, { cause: { type: 'system', id: 'schedule' } });
}
