import { expect } from 'chai';
import { BANK_LEXICON, EMPTY_LEXICON, grams, Tokenizer } from './tokenize.js';

describe('knowledge-base tokenizer', () => {
  const bank = new Tokenizer(BANK_LEXICON);
  const plain = new Tokenizer(EMPTY_LEXICON);

  it('keeps 大额存单 whole with the bank dictionary, where plain jieba splits it', () => {
    expect(bank.segment('大额存单现在利率多少')).to.include('大额存单');
    expect(plain.segment('大额存单现在利率多少')).to.deep.equal(['大额', '存单', '现在', '利率', '多少']);
  });

  it('keeps the bank’s product and service terms whole', () => {
    for (const term of ['整存整取', '风险测评', '代发工资', '手机银行', '信用卡额度', '挂失', '积存金', '天天利', '个人养老金']) {
      expect(bank.segment(`请问${term}怎么办理`), term).to.include(term);
    }
  });

  it('indexes synonyms as one term: 利息 and 利率, 取钱 and 支取, 丢了 and 挂失, 额度 and 限额', () => {
    expect(bank.terms('利息多少')).to.deep.equal(bank.terms('利率多少'));
    expect(bank.canonicalOf('取钱')).to.equal(bank.canonicalOf('支取'));
    expect(bank.terms('卡丢了')).to.include(bank.canonicalOf('挂失'));
    expect(bank.canonicalOf('限额')).to.equal(bank.canonicalOf('额度'));
    expect(bank.canonicalOf('理财产品')).to.equal(bank.canonicalOf('理财'));
    expect(bank.canonicalOf('存钱')).to.equal(bank.canonicalOf('存款'));
  });

  it('drops stop words, punctuation and spaces, and folds full-width letters and case', () => {
    expect(bank.terms('请问，我的 大额存单 呢？')).to.deep.equal(['大额存单']);
    expect(bank.terms('ＱＤＩＩ基金')).to.deep.equal(bank.terms('qdii基金'));
  });

  it('refuses a lexicon that puts one word in two synonym groups', () => {
    expect(() => new Tokenizer({ words: [], stopWords: [], synonyms: [['利率', '利息'], ['收益', '利息']] })).to.throw(/利息/);
  });

  it('gives the character bigrams of each run of Chinese characters', () => {
    expect(grams('大额存单A定期')).to.deep.equal(['大额', '额存', '存单', '定期']);
    expect(grams('卡 丢')).to.deep.equal(['卡', '丢']);
  });
});
