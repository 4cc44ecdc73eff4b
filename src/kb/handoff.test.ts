import { expect } from 'chai';
import { detectHandoff } from './handoff.js';

describe('handoff topics', () => {
  const topicOf = (text: string) => detectHandoff(text)?.topic ?? null;

  it('recognises fraud in progress, complaints and requests for a person however they are phrased', () => {
    expect(topicOf('我被骗了，对方让我转账到安全账户')).to.equal('fraud');
    expect(topicOf('我要投诉')).to.equal('complaint');
    expect(topicOf('人工客服')).to.equal('human');
    expect(topicOf('转人工')).to.equal('human');
    expect(topicOf('帮我找个人工')).to.equal('human');
    expect(topicOf('网贷客服说我账户异常，要我转钱解冻')).to.equal('fraud');
    expect(topicOf('对方让我下载软件开屏幕共享')).to.equal('fraud');
    expect(topicOf('平台说要先交保证金才能提现')).to.equal('fraud');
    expect(topicOf('你们柜员态度太差了')).to.equal('complaint');
  });

  it('recognises disputed transactions and frozen accounts', () => {
    expect(topicOf('信用卡有笔消费不是我刷的')).to.equal('dispute');
    expect(topicOf('卡被盗刷了')).to.equal('dispute');
    expect(topicOf('卡里莫名其妙少了两千')).to.equal('dispute');
    expect(topicOf('我的账户被冻结了')).to.equal('frozen');
    expect(topicOf('卡被限制非柜面交易')).to.equal('frozen');
    expect(topicOf('银行卡突然转不了账了')).to.equal('frozen');
  });

  it('answers general questions about those topics from the knowledge base', () => {
    for (const text of [
      '长期不用的卡会被冻结吗',
      '身份证过期了银行卡会被限制吗',
      '登录密码输错被锁定了',
      '怎么防范电信诈骗',
      '收到短信说ETC要重新认证是不是骗子',
      '信用卡还款需要我转账吗',
      '大额存单利率多少',
      '信用卡怎么突然扣了我一笔年费',
    ]) {
      expect(topicOf(text), text).to.equal(null);
    }
  });

  it('ignores spaces between the characters', () => {
    expect(topicOf('转 人 工')).to.equal('human');
    expect(topicOf('我 要 投 诉')).to.equal('complaint');
  });
});
