import { expect } from 'chai';
import { loadBankEntries } from './bank.js';
import { loadQualitySet, measureQuality } from './quality.js';
import { PRODUCT_CONFIG } from './search.js';

describe('knowledge-base search quality on the labelled set', () => {
  const entries = loadBankEntries();
  const items = loadQualitySet();
  const alternatives = new Set(entries.flatMap((e) => [e.question, ...e.altQuestions]));

  it('holds at least 150 paraphrased questions, two or more per entry, none copied from an entry, and 15 handoff phrasings', () => {
    const labelled = items.filter((i) => i.id !== undefined);
    expect(labelled.length).to.be.at.least(150);
    for (const e of entries) expect(labelled.filter((i) => i.id === e.id).length, e.id).to.be.at.least(2);
    expect(items.filter((i) => alternatives.has(i.q)).map((i) => i.q)).to.deep.equal([]);
    expect(items.filter((i) => i.id === undefined && i.handoff === true).length).to.be.at.least(15);
  });

  it('puts the right entry first for at least 95% of the questions and in the top three for at least 99%', () => {
    const report = measureQuality(entries, items, PRODUCT_CONFIG);
    expect(report.top1, JSON.stringify(report.misses)).to.be.at.least(0.95);
    expect(report.top3, JSON.stringify(report.misses.filter((m) => !m.got.includes(m.expected)))).to.be.at.least(0.99);
  });

  it('hands over every handoff phrasing and no question the knowledge base answers', () => {
    const report = measureQuality(entries, items, PRODUCT_CONFIG);
    expect(report.handoffMisses).to.deep.equal([]);
    expect(report.falseHandoffs).to.deep.equal([]);
  });
});
