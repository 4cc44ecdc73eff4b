import { expect } from 'chai';
import { AppError } from '../platform/errors.js';
import { checkMessage, looksLikeMarketing, type CheckInput } from './check.js';
import { seedRuleSet } from './measure.js';

const rules = seedRuleSet();
const check = (text: string, rest: Omit<CheckInput, 'text'> = {}) => checkMessage({ text, ...rest }, rules);
const DISCLOSURE = '理财非存款、产品有风险、投资须谨慎';
const NOW = new Date('2025-06-01T08:00:00+08:00');

describe('compliance check', () => {
  describe('context keeps clean messages clean', () => {
    it('passes negated disclosures and names the negation cue', () => {
      for (const text of [
        '本产品为非保本浮动收益型理财产品，不承诺保本。',
        '净值型理财不保证收益，净值可能下跌。',
        '本材料不构成任何保证收益的承诺。',
        '理财产品已打破刚性兑付，不存在保本保息。',
        '世上没有零风险的投资。',
      ]) {
        const result = check(text);
        expect(result.verdict, text).to.equal('pass');
        expect(result.suppressed.length, text).to.be.greaterThan(0);
        expect(result.suppressed.every((s) => s.context === 'negation'), text).to.equal(true);
      }
    });

    it('passes truthful deposit-insurance statements, including 有保障 about deposits', () => {
      const result = check('您在星河银行的存款受存款保险保护，50万元以内的本金和利息都有保障。');
      expect(result.verdict).to.equal('pass');
      expect(result.suppressed).to.deep.include({ rule: 'warn:有保障', match: '有保障', start: 30, end: 33, context: 'deposit_insurance', cue: '存款保险' });
    });

    it('still warns on 有保障 when a deposit-insurance message is about a wealth product', () => {
      expect(check('理财有存款保险兜底，资金有保障。').findings.map((f) => f.rule)).to.deep.equal(['block:兜底', 'warn:有保障']);
      expect(check('天天利也受存款保险保护，资金有保障。').verdict).to.equal('warn');
    });

    it('passes anti-fraud notices that quote the claims they warn against', () => {
      for (const text of [
        '凡是承诺保本高收益的都是诈骗，请勿轻信。',
        '警惕“稳赚不赔”“保本保息”的投资骗局。',
        '请不要相信所谓的保证收益、绝对安全的投资群。',
        '【防骗提示】网上宣传“保本保息”的理财群都是骗局。\n请通过官方渠道购买产品。',
      ]) {
        const result = check(text);
        expect(result.verdict, text).to.equal('pass');
        expect(result.suppressed.some((s) => s.context === 'anti_fraud'), text).to.equal(true);
      }
    });

    it('passes ordinary words that contain a rule phrase, by allow-phrase', () => {
      for (const text of ['您的积分刚兑换成功。', '为确保本人操作，请携带身份证。', '您已参保，本月养老金已到账。', '会在第一时间联系您。', '系统显示您还没有风险测评记录。']) {
        const result = check(text);
        expect(result.verdict, text).to.equal('pass');
        expect(result.suppressed.every((s) => s.context === 'allow'), text).to.equal(true);
      }
    });
  });

  describe('promises are blocked however they are written', () => {
    it('blocks each disguised form and reports the span the author wrote', () => {
      const cases: Array<[string, string, string]> = [
        ['这款理财保 本保息', 'block:保本保息', '保 本保息'],
        ['产品保-本，收益稳定', 'block:保本', '保-本'],
        ['保*本理财', 'block:保本', '保*本'],
        ['穩賺不賠的好產品', 'block:稳赚不赔', '穩賺不賠'],
        ['這款理財保證收益5%', 'block:保证收益', '保證收益'],
        ['产品ｂｂ，收益４％', 'block:保本', 'ｂｂ'],
        ['这个产品BB的', 'block:保本', 'BB'],
        ['Ｗ Ｚ 不赔', 'block:稳赚', 'Ｗ Ｚ'],
        ['本产品保\u200b本', 'block:保本', '保\u200b本'],
        ['零 风 险 ， 高 收 益', 'block:零风险', '零 风 险'],
      ];
      for (const [text, rule, match] of cases) {
        const result = check(text);
        expect(result.verdict, text).to.equal('block');
        const finding = result.findings.find((f) => f.rule === rule);
        expect(finding?.match, text).to.equal(match);
        expect(text.slice(finding!.start, finding!.end)).to.equal(match);
      }
    });

    it('does not read pinyin initials inside other latin words', () => {
      expect(check('详情见 www.hobby.com/bbs').verdict).to.equal('pass');
    });

    it('reports a phrase once, by its longest rule', () => {
      const result = check('保本保息');
      expect(result.findings.map((f) => [f.rule, f.start, f.end, f.kind, f.severity])).to.deep.equal([['block:保本保息', 0, 4, 'block', 'high']]);
      expect(result.findings[0]!.message).to.contain('保本保息');
    });

    it('blocks promises that borrow a context: a negated fraud cue, a contrast, sales urgency, a double negation', () => {
      for (const text of ['这不是骗局，我们的理财真的保本。', '凡是承诺保本的都是诈骗，但我们这款是真保本。', '不会不保本的，您放心。', '不用担心保本问题。', '这款产品不仅保本，收益还高。', '警惕错过保本机会！']) {
        expect(check(text).verdict, text).to.equal('block');
      }
    });

    it('warns on superlatives and vague guarantees', () => {
      const result = check('这是我行收益最高的产品，资金安全可靠。');
      expect(result.verdict).to.equal('warn');
      expect(result.findings.map((f) => [f.rule, f.severity])).to.deep.equal([['warn:最高', 'medium'], ['warn:安全可靠', 'medium']]);
    });
  });

  describe('disclosures', () => {
    it('appends the required disclosure to wealth content named by product id', () => {
      const result = check('天天利1元起购，工作日可申购赎回。', { productIds: ['p-wm-cash-r1'] });
      expect(result.verdict).to.equal('pass');
      expect(result.disclosures).to.deep.equal([DISCLOSURE]);
      expect(result.text).to.equal(`天天利1元起购，工作日可申购赎回。\n${DISCLOSURE}。`);
    });

    it('appends a product’s own required sentence when the message shows what it qualifies', () => {
      const result = check('恒享固收增强理财业绩比较基准2.50%-3.20%。');
      expect(result.products).to.deep.equal(['p-wm-fi-r2-180']);
      expect(result.appended).to.deep.equal([DISCLOSURE, '过往业绩不代表未来表现']);
      expect(result.text.endsWith(`${DISCLOSURE}。过往业绩不代表未来表现。`)).to.equal(true);
    });

    it('appends nothing when the disclosure is already there, in any punctuation', () => {
      const text = '澄湖中短债基金10元起购。理财非存款，产品有风险，投资需谨慎！';
      const result = check(text, { productIds: ['p-fund-bond-r2'] });
      expect(result.disclosures).to.deep.equal([DISCLOSURE]);
      expect(result.appended).to.deep.equal([]);
      expect(result.text).to.equal(text);
    });

    it('appends once: checking the appended text again changes nothing', () => {
      const first = check('基金定投每期10元起投，年化收益随市场波动。');
      expect(first.appended).to.deep.equal([DISCLOSURE]);
      const second = check(first.text);
      expect(second.appended).to.deep.equal([]);
      expect(second.text).to.equal(first.text);
    });

    it('adds no disclosure to deposits, loans, service messages or anti-fraud notices', () => {
      for (const text of ['3年期大额存单参考年利率1.90%。', '星河e贷年化利率（单利）3.50%起。', '您的银行卡已挂失。', '警惕高收益理财骗局。']) {
        expect(check(text).disclosures, text).to.deep.equal([]);
      }
    });
  });

  describe('suitability and consent', () => {
    const customer = { riskLevel: 'R3' as const, riskAssessedAt: '2025-01-10', marketingConsent: true };

    it('allows a product at or below the customer’s risk level', () => {
      const result = check('睿选混合理财本周开放认购。', { productIds: ['p-wm-mix-r3'], customer, now: NOW });
      expect(result.suitability).to.deep.equal([{ productId: 'p-wm-mix-r3', ok: true, reason: '产品风险等级R3不高于客户风险承受等级R3' }]);
      expect(result.verdict).to.equal('pass');
    });

    it('blocks a product above the customer’s risk level, also when only the text names it', () => {
      const result = check('全球科技精选基金值得关注。', { customer, now: NOW });
      expect(result.suitability).to.deep.equal([{ productId: 'p-fund-qdii-r5', ok: false, reason: '产品风险等级R5高于客户风险承受等级R3' }]);
      expect(result.verdict).to.equal('block');
    });

    it('blocks a risk-rated product when the assessment is missing or older than 365 days', () => {
      const missing = check('中短债基金10元起购。', { productIds: ['p-fund-bond-r2'], customer: { ...customer, riskLevel: null, riskAssessedAt: null }, now: NOW });
      expect(missing.suitability[0]).to.include({ ok: false });
      const stale = check('中短债基金10元起购。', { productIds: ['p-fund-bond-r2'], customer: { ...customer, riskAssessedAt: '2024-05-31' }, now: NOW });
      expect(stale.suitability[0]?.reason).to.contain('365');
      expect([missing.verdict, stale.verdict]).to.deep.equal(['block', 'block']);
      const fresh = check('中短债基金10元起购。', { productIds: ['p-fund-bond-r2'], customer: { ...customer, riskAssessedAt: '2024-06-01' }, now: NOW });
      expect(fresh.verdict).to.equal('pass');
    });

    it('needs no assessment for products without a risk level', () => {
      const result = check('大额存单20万元起存。', { productIds: ['p-dep-lcd-3y'], customer: { riskLevel: null, riskAssessedAt: null, marketingConsent: true }, now: NOW });
      expect(result.suitability).to.deep.equal([{ productId: 'p-dep-lcd-3y', ok: true, reason: '该产品无风险等级要求' }]);
    });

    it('blocks marketing to a customer without marketing consent and allows service messages', () => {
      const noConsent = { ...customer, marketingConsent: false };
      const marketing = check('大额存单今日发行，参考年利率1.90%。', { customer: noConsent, now: NOW });
      expect([marketing.purpose, marketing.consent, marketing.verdict]).to.deep.equal(['marketing', { required: true, ok: false }, 'block']);
      const service = check('您的信用卡账单已出，请按时还款。', { customer: noConsent, now: NOW });
      expect([service.purpose, service.consent, service.verdict]).to.deep.equal(['service', { required: false, ok: true }, 'pass']);
      const declared = check('大额存单到期提醒：您的存单将于下周到期。', { customer: noConsent, purpose: 'service', now: NOW });
      expect(declared.verdict).to.equal('pass');
    });
  });

  it('rejects an unknown product id naming the field', () => {
    try {
      check('你好', { productIds: ['p-dep-fix-1y', 'p-nope'] });
      expect.fail('expected an error');
    } catch (error) {
      expect(error).to.be.instanceOf(AppError);
      expect((error as AppError).details.issues).to.deep.equal([{ path: 'productIds.1', message: 'unknown product p-nope' }]);
    }
  });

  it('tells marketing from service text for the review queue', () => {
    expect(looksLikeMarketing('这款基金今年收益不错，推荐您看看。')).to.equal(true);
    expect(looksLikeMarketing('您的银行卡已补办完成，请到网点领取。')).to.equal(false);
  });
});
