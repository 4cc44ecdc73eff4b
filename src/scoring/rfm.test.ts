import { expect } from 'chai';
import {
  ntileBucket, quintileBounds, quintileScores, rfmClass, rfmMetrics, scoreRfmPopulation, type Keyed, type RfmMetrics,
} from './rfm.js';

const keyed = (keys: (number | null)[]): Keyed[] => keys.map((key, i) => ({ id: `c${String(i).padStart(3, '0')}`, key }));
const scoresOf = (items: Keyed[]) => {
  const scores = quintileScores(items);
  return items.map((i) => scores.get(i.id));
};

describe('RFM quintiles and classes', () => {
  it('scores ten distinct values two to a quintile, the larger the better', () => {
    const items = keyed([7, 3, 10, 1, 9, 2, 8, 4, 6, 5]);
    expect(scoresOf(items)).to.deep.equal([4, 2, 5, 1, 5, 1, 4, 2, 3, 3]);
  });

  it('agrees with SQL ntile(5) for distinct keys of any population size', () => {
    for (let n = 1; n <= 23; n++) {
      const items = keyed(Array.from({ length: n }, (_, i) => i * 10));
      expect(scoresOf(items), `n=${n}`).to.deep.equal(items.map((_, i) => ntileBucket(i, n)));
    }
    // ntile(5) over 7 rows: buckets of 2, 2, 1, 1, 1.
    expect([0, 1, 2, 3, 4, 5, 6].map((p) => ntileBucket(p, 7))).to.deep.equal([1, 1, 2, 2, 3, 4, 5]);
  });

  it('gives equal values one score, that of the bucket where their run of ties starts', () => {
    const scores = scoresOf(keyed([0, 0, 0, 0, 0, 0, 1, 2, 3, 4]));
    expect(scores).to.deep.equal([1, 1, 1, 1, 1, 1, 4, 4, 5, 5]);
    const allEqual = scoresOf(keyed([5, 5, 5, 5, 5, 5, 5]));
    expect(new Set(allEqual)).to.deep.equal(new Set([1]));
  });

  it('scores the same whatever order the customers arrive in', () => {
    const items = keyed([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, null, 3, 2]);
    const forward = quintileScores(items);
    const backward = quintileScores([...items].reverse());
    const rotated = quintileScores([...items.slice(7), ...items.slice(0, 7)]);
    expect([...backward].sort()).to.deep.equal([...forward].sort());
    expect([...rotated].sort()).to.deep.equal([...forward].sort());
    expect(quintileBounds(items)).to.deep.equal(quintileBounds([...items].reverse()));
  });

  it('ranks a customer without any activity below every customer with some', () => {
    const population: RfmMetrics[] = [
      { id: 'a', recencyDays: null, frequency: 1, monetary: 1 },
      ...Array.from({ length: 9 }, (_, i) => ({ id: `d${i}`, recencyDays: 300 + i, frequency: 1, monetary: 1 })),
    ];
    const scores = scoreRfmPopulation(population);
    expect(scores[0]!.r).to.equal(1);
    // The oldest dated customer (308 days) shares bucket 1 with the one who never came: 10 rows, 2 per bucket.
    expect(scores.find((s) => s.id === 'd8')!.r).to.equal(1);
    expect(scores.find((s) => s.id === 'd0')!.r).to.equal(5);
  });

  it('measures recency from the later of the last transaction and the last contact', () => {
    const now = new Date('2026-11-23T00:00:00+08:00');
    const base = { id: 'x', products: [], aum: 0 };
    const txnOnly = rfmMetrics({ ...base, lastTxnAt: new Date('2026-11-13T09:00:00+08:00'), lastContactAt: null }, now);
    expect(txnOnly.recencyDays).to.equal(9);
    const contactLater = rfmMetrics({ ...base, lastTxnAt: new Date('2026-08-01T09:00:00+08:00'), lastContactAt: new Date('2026-11-20T00:00:00+08:00') }, now);
    expect(contactLater.recencyDays).to.equal(3);
    expect(rfmMetrics({ ...base, lastTxnAt: null, lastContactAt: null }, now).recencyDays).to.equal(null);
  });

  it('counts distinct products held plus txnCount90d only when the bank sends a number', () => {
    const now = new Date('2026-11-23T00:00:00+08:00');
    const base = { id: 'x', lastTxnAt: null, lastContactAt: null, aum: 123.45, products: ['p-cc-std', 'p-wm-cash-r1', 'p-cc-std'] };
    expect(rfmMetrics(base, now)).to.include({ frequency: 2, monetary: 123.45 });
    expect(rfmMetrics({ ...base, txnCount90d: 17.9 }, now).frequency).to.equal(19);
    expect(rfmMetrics({ ...base, txnCount90d: '40' }, now).frequency).to.equal(2);
    expect(rfmMetrics({ ...base, txnCount90d: -3 }, now).frequency).to.equal(2);
  });

  it('maps high and low recency, frequency and monetary scores to the eight classic classes', () => {
    expect(rfmClass(5, 5, 5)).to.equal('重要价值客户');
    expect(rfmClass(3, 2, 3)).to.equal('重要发展客户');
    expect(rfmClass(2, 3, 3)).to.equal('重要保持客户');
    expect(rfmClass(1, 1, 4)).to.equal('重要挽留客户');
    expect(rfmClass(4, 4, 2)).to.equal('一般价值客户');
    expect(rfmClass(3, 1, 1)).to.equal('一般发展客户');
    expect(rfmClass(2, 5, 1)).to.equal('一般保持客户');
    expect(rfmClass(1, 1, 1)).to.equal('一般挽留客户');
  });

  it('puts the most recent, most engaged, richest customer in 重要价值客户 and the opposite in 一般挽留客户', () => {
    const population: RfmMetrics[] = Array.from({ length: 50 }, (_, i) => ({
      id: `c${i}`, recencyDays: (i * 37) % 200 + 1, frequency: (i * 7) % 5, monetary: ((i * 13) % 50) * 1000,
    }));
    population.push({ id: 'best', recencyDays: 0, frequency: 9, monetary: 5e7 });
    population.push({ id: 'worst', recencyDays: null, frequency: 0, monetary: 0 });
    const scores = new Map(scoreRfmPopulation(population).map((s) => [s.id, s]));
    expect(scores.get('best')).to.include({ r: 5, f: 5, m: 5, rfmClass: '重要价值客户' });
    expect(scores.get('worst')).to.include({ r: 1, f: 1, m: 1, rfmClass: '一般挽留客户' });
  });
});
