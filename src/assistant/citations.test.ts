import { expect } from 'chai';
import { extractCitations } from './citations.js';
import { salutationOf } from './customer.js';

describe('citations in a model answer', () => {
  it('takes the markers out of the text and keeps only ids that were provided, in the order cited', () => {
    const cited = extractCitations('起存20万元 [kb-001]，到期还本付息【kb-003、kb-001】；提前支取按活期计息［KB-777］。', ['kb-001', 'kb-003']);
    expect(cited).to.deep.equal({ text: '起存20万元，到期还本付息；提前支取按活期计息。', citations: ['kb-001', 'kb-003'], dropped: ['kb-777'] });
  });

  it('leaves square brackets that are not citations alone', () => {
    expect(extractCitations('请在手机银行[存款-大额存单]办理 [kb-001]', ['kb-001']).text).to.equal('请在手机银行[存款-大额存单]办理');
  });
});

describe('how the assistant addresses a customer', () => {
  it('uses the surname and gender, compound surnames included, and 您 when either is unknown', () => {
    expect(salutationOf('王建国', 'M')).to.equal('王先生');
    expect(salutationOf('欧阳娜娜', 'F')).to.equal('欧阳女士');
    expect(salutationOf('李娜', null)).to.equal('您');
    expect(salutationOf('Tom Lee', 'M')).to.equal('您');
  });
});
