import { expect } from 'chai';
import products from '../../data/bank/products.json' with { type: 'json' };
import { assessmentValid, cooccurrence, PRODUCTS, PropensityModel, suitable, type SuitabilityProfile } from './propensity.js';

const now = new Date('2026-11-23T10:00:00+08:00');
const name = (id: string) => PRODUCTS.find((p) => p.id === id)!.name;
const repeat = <T>(n: number, value: T): T[] => Array.from({ length: n }, () => value);

// Planted: 20 of the 25 holders of 小微经营贷 (unrated) also hold 七天通知存款 (unrated), 12 hold the R4 equity
// fund; 5 hold the 1-year deposit, which 40 others hold on its own.
const A = 'p-loan-biz', B = 'p-dep-notice-7d', R4 = 'p-fund-eq-r4', POPULAR = 'p-dep-fix-1y';
const holdings: string[][] = [
  ...repeat(12, [A, B, R4]), ...repeat(8, [A, B]), ...repeat(5, [A, POPULAR]), ...repeat(40, [POPULAR]), ...repeat(3, [R4]),
];
const model = new PropensityModel(cooccurrence(holdings));
const bold: SuitabilityProfile = { riskLevel: 'R5', riskAssessedAt: '2026-06-01' };

describe('product propensity', () => {
  it('loads the catalogue from data/bank/products.json', () => {
    expect(PRODUCTS).to.have.length(products.length);
    expect(PRODUCTS.every((p) => p.id.startsWith('p-') && p.name)).to.equal(true);
    expect(PRODUCTS.find((p) => p.id === R4)!.riskLevel).to.equal('R4');
    expect(PRODUCTS.find((p) => p.id === B)!.riskLevel).to.equal(null);
  });

  it('measures how alike two products are by the cosine of their holder columns', () => {
    expect(model.similarity(A, B)).to.be.closeTo(20 / Math.sqrt(25 * 20), 1e-12);
    expect(model.similarity(A, POPULAR)).to.be.closeTo(5 / Math.sqrt(25 * 45), 1e-12);
    expect(model.similarity(B, A)).to.equal(model.similarity(A, B));
    expect(model.similarity(A, A)).to.equal(0);
  });

  it('recommends first the product most often held together with what the customer holds, and says why', () => {
    const [first, second, third] = model.recommend({ ...bold, products: [A] }, { now });
    expect(first).to.include({ productId: B, productName: name(B), basisProductId: A, basisShare: 0.8 });
    expect(first!.reason).to.equal(`持有「${name(A)}」的客户中有80%也持有「${name(B)}」`);
    expect(second!.productId).to.equal(R4);
    expect(third!.productId).to.equal(POPULAR);
    expect(first!.score).to.be.above(second!.score);
  });

  it('adds up the similarities of everything the customer holds', () => {
    const [top] = model.recommend({ ...bold, products: [B, POPULAR] }, { now });
    expect(top!.productId).to.equal(A);
    expect(top!.score).to.be.closeTo(model.similarity(B, A) + model.similarity(POPULAR, A), 1e-4);
    expect(top!.basisProductId).to.equal(B);
  });

  it('never recommends a product above the customer’s risk level', () => {
    const cautious = model.recommend({ riskLevel: 'R1', riskAssessedAt: '2026-06-01', products: [A] }, { now });
    expect(cautious.map((r) => r.productId)).to.deep.equal([B, POPULAR]);
    const r4 = PRODUCTS.find((p) => p.id === R4)!;
    expect(suitable(r4, { riskLevel: 'R3', riskAssessedAt: '2026-06-01' }, now)).to.equal(false);
    expect(suitable(r4, { riskLevel: 'R4', riskAssessedAt: '2026-06-01' }, now)).to.equal(true);
    expect(suitable(r4, { riskLevel: null, riskAssessedAt: null }, now)).to.equal(false);
  });

  it('lets an expired risk assessment block every rated product but no unrated one', () => {
    const expired = model.recommend({ riskLevel: 'R5', riskAssessedAt: '2025-11-22', products: [A] }, { now });
    expect(expired.map((r) => r.productId)).to.deep.equal([B, POPULAR]);
    expect(assessmentValid('2025-11-23', now)).to.equal(true);
    expect(assessmentValid('2025-11-22', now)).to.equal(false);
    expect(assessmentValid(null, now)).to.equal(false);
    const unrated = PRODUCTS.find((p) => p.id === B)!;
    expect(suitable(unrated, { riskLevel: null, riskAssessedAt: null }, now)).to.equal(true);
  });

  it('ignores product pairs with fewer common holders than the minimum', () => {
    const sparse = new PropensityModel(cooccurrence([[A, B], [A, B], [A, POPULAR], ...repeat(6, [A, R4])]), 3);
    expect(sparse.similarity(A, B)).to.equal(0);
    expect(sparse.recommend({ ...bold, products: [A] }, { now }).map((r) => r.productId)).to.deep.equal([R4]);
  });

  it('leaves out what the customer already holds and keeps at most k', () => {
    const recs = model.recommend({ ...bold, products: [A, B] }, { now, k: 1 });
    expect(recs.map((r) => r.productId)).to.deep.equal([R4]);
    expect(model.recommend({ ...bold, products: [] }, { now })).to.deep.equal([]);
  });
});
