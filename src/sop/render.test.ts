import { expect } from 'chai';
import { VARIABLES, type VariableName } from './definition.js';
import { buildVariables, chineseDate, chineseMonthDay, renderText, salutation } from './render.js';

describe('SOP message rendering', () => {
  describe('renderText', () => {
    it('replaces every variable with its value', () => {
      const result = renderText('{称呼}您好，您持有的{产品名称}将于{到期日}到期，{客户经理}为您服务。', {
        称呼: '王先生',
        产品名称: '星河稳健180天',
        到期日: '2026年12月13日',
        客户经理: '张伟',
      });
      expect(result).to.deep.equal({ ok: true, text: '王先生您好，您持有的星河稳健180天将于2026年12月13日到期，张伟为您服务。' });
    });

    it('fails naming a variable that has no value', () => {
      expect(renderText('您的产品将于{到期日}到期', { 称呼: '王先生' })).to.deep.equal({ ok: false, missing: ['到期日'], reason: '缺少变量：{到期日}' });
    });

    it('treats undefined, null, empty and blank values as missing', () => {
      for (const value of [undefined, null, '', '   ']) {
        const result = renderText('您好 {称呼}', { 称呼: value });
        expect(result, String(value)).to.deep.equal({ ok: false, missing: ['称呼'], reason: '缺少变量：{称呼}' });
      }
    });

    it('never renders "undefined" for any variable without a value', () => {
      for (const name of Object.keys(VARIABLES) as VariableName[]) {
        const result = renderText(`您好 {${name}}`, {});
        expect(result.ok, name).to.equal(false);
        expect(result.ok ? [] : result.missing).to.deep.equal([name]);
      }
    });

    it('lists each missing variable once, in the order the text uses them', () => {
      const result = renderText('{称呼}，{到期日}到期，{称呼}请留意；{网点}', { 网点: '城东支行' });
      expect(result).to.deep.equal({ ok: false, missing: ['称呼', '到期日'], reason: '缺少变量：{称呼}、{到期日}' });
    });

    it('leaves braces that are not variables as they are', () => {
      expect(renderText('回复{1}查询，{称呼}', { 称呼: '李女士' })).to.deep.equal({ ok: true, text: '回复{1}查询，李女士' });
      expect(renderText('{优惠码} {} { 称呼 }', {})).to.deep.equal({ ok: true, text: '{优惠码} {} { 称呼 }' });
    });

    it('does not expand braces inside a value', () => {
      expect(renderText('{姓名}，{网点}', { 姓名: '{网点}', 网点: '城东支行' })).to.deep.equal({ ok: true, text: '{网点}，城东支行' });
    });

    it('returns a text without variables unchanged', () => {
      expect(renderText('本周理财产品已更新。', {})).to.deep.equal({ ok: true, text: '本周理财产品已更新。' });
    });
  });

  describe('salutation', () => {
    it('addresses a man by surname and 先生 and a woman by surname and 女士', () => {
      expect([salutation('王小明', 'M'), salutation('李娜', 'F'), salutation(' 陈静 ', 'F')]).to.deep.equal(['王先生', '李女士', '陈女士']);
    });

    it('keeps compound surnames whole', () => {
      const names: [string, 'M' | 'F', string][] = [
        ['欧阳娜娜', 'F', '欧阳女士'],
        ['司马光', 'M', '司马先生'],
        ['上官婉儿', 'F', '上官女士'],
        ['诸葛亮', 'M', '诸葛先生'],
        ['东方明珠', 'F', '东方女士'],
        ['皇甫嵩', 'M', '皇甫先生'],
        ['尉迟恭', 'M', '尉迟先生'],
        ['公孙胜', 'M', '公孙先生'],
        ['慕容复', 'M', '慕容先生'],
        ['令狐冲', 'M', '令狐先生'],
        ['长孙无忌', 'M', '长孙先生'],
        ['宇文泰', 'M', '宇文先生'],
        ['司徒雷', 'M', '司徒先生'],
        ['夏侯惇', 'M', '夏侯先生'],
        ['轩辕敏', 'F', '轩辕女士'],
        ['端木蓉', 'F', '端木女士'],
      ];
      expect(names.map(([name, gender]) => salutation(name, gender))).to.deep.equal(names.map(([, , expected]) => expected));
    });

    it('reads a two-character name as surname and given name even when it looks compound', () => {
      expect(salutation('钟离', 'M')).to.equal('钟先生');
    });

    it('reads a common surname followed by a common given-name character as a single surname', () => {
      expect(salutation('宗政伟', 'M')).to.equal('宗先生');
    });

    it('returns nothing when the gender is unknown, so a message using {称呼} fails clearly', () => {
      expect([salutation('王小明', null), salutation('王小明', undefined)]).to.deep.equal([undefined, undefined]);
      const vars = buildVariables({ customer: { name: '王小明', gender: null, birthDate: null }, today: new Date('2026-03-02T02:00:00Z') });
      expect(renderText('{称呼}您好', vars)).to.deep.equal({ ok: false, missing: ['称呼'], reason: '缺少变量：{称呼}' });
    });

    it('returns nothing for names whose surname is not their first characters', () => {
      expect([salutation('阿卜杜拉·买买提', 'M'), salutation('John Smith', 'M'), salutation('', 'F'), salutation('王 小明', 'M')]).to.deep.equal([
        undefined,
        undefined,
        undefined,
        undefined,
      ]);
    });
  });

  describe('Chinese dates', () => {
    it('writes a date without leading zeros', () => {
      expect([chineseDate('2026-12-13'), chineseDate('2026-01-05'), chineseMonthDay('2026-12-13'), chineseMonthDay('1990-03-08')]).to.deep.equal([
        '2026年12月13日',
        '2026年1月5日',
        '12月13日',
        '3月8日',
      ]);
    });

    it('writes an instant as its date in Shanghai: 2026-12-12T17:00Z is 12月13日', () => {
      const at = new Date('2026-12-12T17:00:00Z');
      expect([chineseDate(at), chineseMonthDay(at), chineseDate(at, 'UTC'), chineseMonthDay(at, 'UTC')]).to.deep.equal([
        '2026年12月13日',
        '12月13日',
        '2026年12月12日',
        '12月12日',
      ]);
    });

    it('keeps a 29 February birthday and rejects impossible dates', () => {
      expect(chineseMonthDay('1992-02-29')).to.equal('2月29日');
      for (const bad of ['1990-02-29', '2026-13-01', '2026-1-5', '']) expect(() => chineseDate(bad), bad).to.throw(RangeError);
    });
  });

  describe('buildVariables', () => {
    const customer = { name: '欧阳娜娜', gender: 'F' as const, birthDate: '1985-12-13', branchName: '城东支行', riskAssessedAt: '2025-12-13' };

    it('builds every variable from the customer, the member, the product and today', () => {
      const vars = buildVariables({
        customer,
        memberName: '张伟',
        product: { name: '星河稳健180天', maturityDate: '2026-12-20' },
        today: new Date('2026-12-12T17:00:00Z'),
      });
      expect(vars).to.deep.equal({
        称呼: '欧阳女士',
        姓名: '欧阳娜娜',
        客户经理: '张伟',
        网点: '城东支行',
        产品名称: '星河稳健180天',
        到期日: '2026年12月20日',
        生日: '12月13日',
        测评到期日: '2026年12月13日',
        今天: '2026年12月13日',
      });
      expect(Object.keys(vars).sort()).to.deep.equal(Object.keys(VARIABLES).sort());
    });

    it('dates the risk assessment expiry 365 days after the assessment, across a leap day', () => {
      const vars = buildVariables({ customer: { ...customer, riskAssessedAt: '2023-03-01' }, today: new Date('2024-01-01T00:00:00Z') });
      expect(vars.测评到期日).to.equal('2024年2月29日');
    });

    it('reads today in the journey’s time zone', () => {
      const today = new Date('2026-12-12T17:00:00Z');
      expect(buildVariables({ customer, today }).今天).to.equal('2026年12月13日');
      expect(buildVariables({ customer, today, timezone: 'America/New_York' }).今天).to.equal('2026年12月12日');
    });

    it('leaves out variables without a source, so messages that use them fail naming them', () => {
      const vars = buildVariables({
        customer: { name: '王小明', gender: 'M', birthDate: null, branchName: null },
        memberName: '  ',
        product: null,
        today: new Date('2026-03-02T02:00:00Z'),
      });
      expect(vars).to.deep.equal({ 称呼: '王先生', 姓名: '王小明', 今天: '2026年3月2日' });
      expect(renderText('{称呼}，您的{产品名称}将于{到期日}到期', vars)).to.deep.equal({
        ok: false,
        missing: ['产品名称', '到期日'],
        reason: '缺少变量：{产品名称}、{到期日}',
      });
    });

    it('rejects a malformed date instead of writing a wrong one', () => {
      expect(() => buildVariables({ customer: { ...customer, birthDate: '1985-02-30' }, today: new Date('2026-03-02T02:00:00Z') })).to.throw(RangeError);
    });
  });
});
