import { expect } from 'chai';
import { GAP, normalizeText, occurrences, originalRange } from './normalize.js';

const spanOf = (text: string, needle: string) => {
  const norm = normalizeText(text);
  const [hit] = occurrences(norm, needle);
  if (!hit) return undefined;
  const range = originalRange(norm, hit[0], hit[1]);
  return { ...range, original: text.slice(range.start, range.end) };
};

describe('compliance normalisation', () => {
  it('folds full-width letters and digits to half-width and lower case', () => {
    expect(normalizeText('ＢＢ理财４．５％').text).to.equal('bb理财45');
    expect(normalizeText('Ｗ Ｚ').text).to.equal('wz');
  });

  it('maps traditional and variant characters to simplified', () => {
    expect(normalizeText('保證收益、穩賺不賠、零風險、剛性兌付').text).to.equal('保证收益稳赚不赔零风险刚性兑付');
    expect(normalizeText('穏赚').text).to.equal('稳赚');
  });

  it('drops spaces, punctuation, symbols, emoji and zero-width characters inside a phrase', () => {
    for (const disguised of ['保 本', '保-本', '保*本', '保～本', '保_本', '保😊本', '保\u200b本', '保\u3000本', '【保】【本】']) {
      expect(normalizeText(disguised).text, disguised).to.equal('保本');
    }
  });

  it('reports the original start and end of a match found through spaces and symbols', () => {
    expect(spanOf('这款理财保 - 本，年化4%', '保本')).to.deep.equal({ start: 4, end: 9, original: '保 - 本' });
  });

  it('reports positions in the original text when full-width and traditional characters were folded', () => {
    const text = '您好！這款產品保證收益５％';
    expect(spanOf(text, '保证收益')).to.deep.equal({ start: 7, end: 11, original: '保證收益' });
  });

  it('counts positions in UTF-16 units, so an emoji before a match shifts it by two', () => {
    expect(spanOf('😀😀稳赚', '稳赚')).to.deep.equal({ start: 4, end: 6, original: '稳赚' });
    expect(spanOf('稳😀赚', '稳赚')).to.deep.equal({ start: 0, end: 4, original: '稳😀赚' });
  });

  it('lets a phrase run across a comma or a line break but never across a sentence end', () => {
    expect(occurrences(normalizeText('保，本'), '保本')).to.have.length(1);
    expect(occurrences(normalizeText('保\n本'), '保本')).to.have.length(1);
    expect(occurrences(normalizeText('您已参保。本产品'), '保本')).to.have.length(0);
    expect(occurrences(normalizeText('您已参保！本产品'), '保本')).to.have.length(0);
  });

  it('records the strength of each boundary and whether a character is quoted', () => {
    const norm = normalizeText('警惕“稳赚”，骗局。好');
    expect(norm.text).to.equal('警惕稳赚骗局好');
    expect(norm.gap).to.deep.equal([0, 0, GAP.soft, 0, GAP.clause, 0, GAP.sentence]);
    expect(norm.quoted).to.deep.equal([false, false, true, true, false, false, false]);
  });
});
