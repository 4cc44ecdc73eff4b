import { expect } from 'chai';
import { DEFAULT_AS_OF, generateCustomers } from '../demo/synthetic.js';
import {
  aumDropRatio, auc, churnBand, churnFeatures, columnStats, fitLogistic, scoreChurn, sigmoid, standardise, trainChurnModel,
  type ChurnRow,
} from './churn.js';

const DAY_MS = 86_400_000;

/** mulberry32: a small deterministic PRNG for planting structure. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const daysBefore = (iso: string | null) => (iso ? Math.floor((DEFAULT_AS_OF.getTime() - Date.parse(iso)) / DAY_MS) : null);

/**
 * Synthetic customers with a planted history: every seventh one churned, and churners lost 40–90% of
 * their assets, mostly deleted their account manager and stopped transacting 150–300 days ago. Some loyal
 * customers carry the same signs, so the classes overlap.
 */
function plantedRows(count: number, seed: number): ChurnRow[] {
  const rand = prng(seed);
  return [...generateCustomers(count)].map((c, i) => {
    const churned = i % 7 === 0;
    let aum90dAgo = c.aum * (0.9 + 0.2 * rand()), deleted = false, daysSinceTxn = daysBefore(c.lastTxnAt);
    if (churned) {
      aum90dAgo = c.aum / (1 - (0.4 + 0.5 * rand()));
      deleted = rand() < 0.85;
      daysSinceTxn = 150 + Math.floor(rand() * 150);
    } else if (rand() < 0.08) aum90dAgo = c.aum / (1 - (0.2 + 0.4 * rand()));
    else if (rand() < 0.04) deleted = true;
    return {
      aum: c.aum, aum90dAgo, daysSinceTxn, daysSinceContact: daysBefore(c.wecom?.addedAt ?? null),
      productCount: c.products.length, deletedByCustomer: deleted, marketingConsent: c.marketingConsent,
      age: DEFAULT_AS_OF.getUTCFullYear() - Number(c.birthDate.slice(0, 4)), churned,
    };
  });
}

const loyal: ChurnRow = {
  aum: 100_000, aum90dAgo: 98_000, daysSinceTxn: 5, daysSinceContact: 30, productCount: 2,
  deletedByCustomer: false, marketingConsent: true, age: 40,
};
const atRisk: ChurnRow = { ...loyal, aum: 55_000, aum90dAgo: 100_000, daysSinceTxn: 218, deletedByCustomer: true };

describe('churn risk model', () => {
  const rows = plantedRows(3000, 7);
  const training = rows.slice(0, 2400), heldOut = rows.slice(2400);
  const model = trainChurnModel(training);

  it('computes the sigmoid stably at both extremes', () => {
    expect(sigmoid(0)).to.equal(0.5);
    expect(sigmoid(2) + sigmoid(-2)).to.be.closeTo(1, 1e-12);
    expect(sigmoid(-800)).to.equal(0);
    expect(sigmoid(800)).to.equal(1);
  });

  it('computes ROC AUC with tied scores sharing their rank', () => {
    expect(auc([0.1, 0.4, 0.35, 0.8], [false, false, true, true])).to.equal(0.75);
    expect(auc([0.5, 0.5], [true, false])).to.equal(0.5);
    expect(auc([0.9, 0.2, 0.2, 0.1], [true, true, false, false])).to.equal(0.875);
    expect(auc([1, 2], [true, true])).to.be.NaN;
  });

  it('standardises with the training means and deviations and treats unknown values as average', () => {
    const { means, stds } = columnStats([[1, 10], [3, NaN], [5, 30]], 2);
    expect(means).to.deep.equal([3, 20]);
    expect(stds[0]).to.be.closeTo(Math.sqrt(8 / 3), 1e-12);
    expect(standardise([5, NaN], means, stds)).to.deep.equal([(5 - 3) / stds[0]!, 0]);
    expect(columnStats([[2], [2]], 1).stds).to.deep.equal([1]);
  });

  it('recovers the coefficients of a known logistic model by gradient descent', () => {
    const rand = prng(11), n = 5000;
    const X = new Float64Array(n), y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      X[i] = -2 + 4 * rand();
      y[i] = rand() < sigmoid(1.5 * X[i]! - 0.5) ? 1 : 0;
    }
    const fit = fitLogistic(X, y, 1, { l2: 0, learningRate: 1, maxIterations: 5000 });
    expect(fit.weights[0]).to.be.closeTo(1.5, 0.2);
    expect(fit.intercept).to.be.closeTo(-0.5, 0.2);
  });

  it('shrinks coefficients towards zero as the L2 penalty grows', () => {
    const strong = trainChurnModel(training, { l2: 1 });
    const norm = (w: number[]) => Math.hypot(...w);
    expect(norm(strong.coefficients)).to.be.below(norm(model.coefficients));
  });

  it('trains the same model from the same history every time', () => {
    expect(trainChurnModel(training)).to.deep.equal(model);
  });

  it('learns the planted signs of churn and ranks held-out churners above loyal customers', () => {
    const at = (name: string) => model.coefficients[model.features.indexOf(name as never)]!;
    expect(at('aumDrop')).to.be.above(0.5);
    expect(at('deletedByCustomer')).to.be.above(0.5);
    expect(at('daysSinceTxn')).to.be.above(0);
    expect(model.auc).to.be.above(0.8);
    expect(model.positives).to.equal(training.filter((r) => r.churned).length);
    const probabilities = heldOut.map((r) => scoreChurn(model, r).probability);
    expect(auc(probabilities, heldOut.map((r) => r.churned === true))).to.be.above(0.8);
    expect(scoreChurn(model, atRisk).probability).to.be.above(scoreChurn(model, loyal).probability);
  });

  it('names the planted features as the reasons, in Chinese', () => {
    const score = scoreChurn(model, atRisk);
    expect(score.reasons.map((r) => r.text)).to.have.members(['资产较90天前下降45%', '已删除客户经理好友', '218天无交易']);
    const contributions = score.reasons.map((r) => r.contribution);
    expect(contributions).to.deep.equal([...contributions].sort((a, b) => b - a));
    expect(scoreChurn(model, loyal).reasons.map((r) => r.text)).to.not.include('已删除客户经理好友');
  });

  it('bands probabilities at 0.3 and 0.6 unless told otherwise', () => {
    expect([0.29, 0.3, 0.59, 0.6].map((p) => churnBand(p))).to.deep.equal(['low', 'medium', 'medium', 'high']);
    expect(churnBand(0.25, { medium: 0.2, high: 0.5 })).to.equal('medium');
    expect(scoreChurn(model, atRisk, { medium: 0, high: 0 }).band).to.equal('high');
  });

  it('derives the AUM drop only from a positive balance 90 days ago', () => {
    expect(aumDropRatio(55, 100)).to.be.closeTo(0.45, 1e-12);
    expect(aumDropRatio(300, 100)).to.equal(-1);
    expect(aumDropRatio(100, null)).to.equal(null);
    expect(aumDropRatio(100, 0)).to.equal(null);
    expect(churnFeatures({ ...loyal, aum90dAgo: null, daysSinceTxn: null, age: null }).map(String))
      .to.deep.equal(['NaN', '730', '30', '2', '0', '1', 'NaN']);
  });

  it('refuses to train on a history without both churned and retained customers', () => {
    expect(() => trainChurnModel(training.map((r) => ({ ...r, churned: false })))).to.throw(RangeError);
  });
});
