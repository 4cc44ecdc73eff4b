import { expect } from 'chai';
import { loadBankEntries } from './bank.js';
import { BASELINE_CONFIG, KbIndex, type KbSearchable } from './search.js';

describe('knowledge-base search index', () => {
  const entries = loadBankEntries();
  const index = new KbIndex(entries);

  it('finds kb-001 first for a question about 大额存单 rates, with scores between 0 and 1, best first', () => {
    const result = index.search('大额存单利息现在多少？', { topK: 3 });
    expect(result.hits).to.have.length(3);
    expect(result.hits[0]!.id).to.equal('kb-001');
    expect(result.handoff).to.equal(false);
    for (const hit of result.hits) expect(hit.score).to.be.within(0, 1);
    const scores = result.hits.map((h) => h.score);
    expect([...scores].sort((a, b) => b - a)).to.deep.equal(scores);
  });

  it('scores an entry’s own question near 1 and an unrelated question low', () => {
    expect(index.search('大额存单现在利率多少？多少钱起存？').hits[0]).to.deep.include({ id: 'kb-001' });
    expect(index.search('大额存单现在利率多少？多少钱起存？').hits[0]!.score).to.be.above(0.9);
    const unrelated = index.search('今天天气怎么样');
    expect(unrelated.hits.every((h) => h.score < 0.3)).to.equal(true);
  });

  it('matches through synonyms and colloquial words the entry does not use', () => {
    expect(index.search('卡掉了咋整').hits[0]!.id).to.equal('kb-035');
    expect(index.search('美金存一年给几个点').hits[0]!.id).to.equal('kb-048');
    expect(index.search('工资卡有啥福利').hits.map((h) => h.id)).to.include('kb-039');
  });

  it('hands over when the best answer is a handoff entry, and still returns the hits', () => {
    const result = index.search('信用卡账单里有一笔不认识的消费');
    expect(result.hits[0]!.id).to.equal('kb-024');
    expect(result.handoff).to.equal(true);
  });

  it('hands over on a handoff topic phrased unlike any entry, naming the topic', () => {
    const result = index.search('我被骗了，对方让我转账到安全账户');
    expect(result.handoff).to.equal(true);
    expect(result.handoffReason).to.deep.include({ source: 'topic', topic: 'fraud' });
    expect(result.hits.length).to.be.greaterThan(0);
    expect(index.search('人工客服')).to.deep.include({ handoff: true });
  });

  it('returns topK hits at most, and none for a query with no known word', () => {
    expect(index.search('定期', { topK: 5 }).hits).to.have.length(5);
    expect(index.search('定期', { topK: 1 }).hits).to.have.length(1);
    expect(index.search('？？？').hits).to.deep.equal([]);
  });

  it('breaks ties by entry order, so equal entries come back in a stable order', () => {
    const twins: KbSearchable[] = [
      { id: 'kb-002', question: '网点营业时间', altQuestions: [], answer: '九点', handoff: false },
      { id: 'kb-001', question: '网点营业时间', altQuestions: [], answer: '九点', handoff: false },
    ];
    const ids = new KbIndex(twins).search('网点几点营业').hits.map((h) => h.id);
    expect(ids).to.deep.equal(['kb-002', 'kb-001']);
  });

  it('rebuilds after an edit reusing the unchanged entries’ analysis, with the same results as a fresh build', () => {
    const edited = entries.map((e) => (e.id === 'kb-050' ? { ...e, altQuestions: [...e.altQuestions, '春节期间网点开不开门'] } : e));
    const reused = new KbIndex(edited, index.config, index);
    const fresh = new KbIndex(edited);
    for (const q of ['春节网点开门吗', '大额存单利率', '我要投诉']) expect(reused.search(q), q).to.deep.equal(fresh.search(q));
    expect(reused.search('春节网点开门吗').hits[0]!.id).to.equal('kb-050');
  });

  it('builds the baseline from the same entries without bank words or synonyms', () => {
    const baseline = new KbIndex(entries, BASELINE_CONFIG);
    expect(baseline.queryTerms('大额存单利息').words).to.deep.equal(['大额', '存单', '利息']);
    expect(baseline.search('大额存单利息').hits[0]!.id).to.equal('kb-001');
  });
});
