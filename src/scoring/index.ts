/** Customer models: RFM classes, churn risk and product propensity, computed nightly into customer_scores and model tags. */
export { defineScoringJobs, scheduleScoringJobs, runScoring, SCORING_JOB, type ScoringDeps, type ScoringOptions, type ScoringSummary } from './job.js';
export { rfmClass, scoreRfmPopulation, RFM_CLASSES, type RfmClass, type RfmMetrics, type RfmScore } from './rfm.js';
export { trainChurnModel, scoreChurn, churnBand, CHURN_FEATURES, type ChurnModel, type ChurnRow, type ChurnScore, type ChurnBand, type ChurnReason } from './churn.js';
export { PropensityModel, cooccurrence, suitable, PRODUCTS, type Product, type Recommendation } from './propensity.js';
export { RFM_GROUP, CHURN_GROUP, PRODUCT_GROUP, CHURN_TAG_NAMES } from './tags.js';
export { registerScoringRoutes } from './routes.js';
