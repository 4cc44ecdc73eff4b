import { expect } from 'chai';
import { SETTINGS } from '../settings/index.js';
import { aumTier } from './facts.js';

describe('AUM tiers', () => {
  const defaults = SETTINGS['customers.aumTiers'].default;

  it('puts a balance in the highest tier whose threshold it reaches, each threshold belonging to the tier above', () => {
    const cases: [number, string][] = [
      [0, '大众'], [49_999.99, '大众'], [50_000, '潜力'], [499_999.99, '潜力'], [500_000, '财富'], [5_999_999.99, '财富'], [6_000_000, '私行'], [80_000_000, '私行'],
    ];
    expect(cases.map(([aum]) => [aum, aumTier(aum, defaults)])).to.deep.equal(cases);
  });

  it('follows the thresholds it is given', () => {
    const raised = { potential: 100_000, wealth: 1_000_000, private: 10_000_000 };
    expect([50_000, 500_000, 6_000_000, 10_000_000].map((aum) => aumTier(aum, raised))).to.deep.equal(['大众', '潜力', '财富', '私行']);
  });
});
