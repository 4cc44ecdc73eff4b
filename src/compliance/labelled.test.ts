import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { checkMessage } from './check.js';
import { loadLabelled, measure, seedRuleSet } from './measure.js';

/**
 * Quality thresholds on the labelled set (docs/compliance.md reports the figures):
 * no promise may pass, at most 2% of clean messages may be blocked, at most 5% of clean messages
 * may be blocked or warned, and at most 10% of superlatives may pass unflagged.
 */
const THRESHOLDS = { missedBlocks: 0, falseBlockRate: 0.02, falseWarnOrBlockRate: 0.05, missedWarnRate: 0.1 };

describe('compliance gate on the labelled set', () => {
  const items = loadLabelled();
  const result = measure(items, seedRuleSet());

  it('holds at least 150 labelled messages of every kind', () => {
    expect(items.length).to.be.at.least(150);
    expect(result.counts.pass).to.be.at.least(80);
    expect(result.counts.block).to.be.at.least(40);
    expect(result.counts.warn).to.be.at.least(15);
  });

  it('lets no promise through', () => {
    const missed = result.disagreements.filter((d) => d.expected === 'block');
    expect(missed, JSON.stringify(missed, null, 1)).to.have.length(THRESHOLDS.missedBlocks);
  });

  it('blocks at most 2% of clean messages', () => {
    expect(result.falseBlockRate).to.be.at.most(THRESHOLDS.falseBlockRate);
  });

  it('blocks or warns at most 5% of clean messages', () => {
    expect(result.falseWarnOrBlockRate).to.be.at.most(THRESHOLDS.falseWarnOrBlockRate);
  });

  it('flags at least 90% of superlatives and vague guarantees', () => {
    expect(result.missedWarnRate).to.be.at.most(THRESHOLDS.missedWarnRate);
  });

  it('neither blocks nor warns any answer of the seeded knowledge base, written by others', () => {
    const kb = readFileSync(new URL('../../data/bank/kb.jsonl', import.meta.url), 'utf8')
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line) as { id: string; answer: string; product_ids: string[] });
    const rules = seedRuleSet();
    const flagged = kb.filter((entry) => checkMessage({ text: entry.answer, productIds: entry.product_ids }, rules).verdict !== 'pass').map((e) => e.id);
    expect(kb).to.have.length(60);
    expect(flagged).to.deep.equal([]);
  });
});
