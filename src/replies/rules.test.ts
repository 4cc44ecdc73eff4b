import { expect } from 'chai';
import { testDatabase } from '../../test/harness.js';
import type { DatabaseHandle } from '../platform/db/database.js';
import { detectIntents } from './intents.js';
import { activeAt, createRule, ruleInputSchema, ruleMatches, takeCooldown } from './rules.js';

describe('auto-reply rules', () => {
  const at = (iso: string) => new Date(iso);

  it('matches exactly after normalising full-width forms and spaces', () => {
    expect(ruleMatches({ matchType: 'exact', pattern: '营业时间' }, ' 营业时间 ', [])).to.equal(true);
    expect(ruleMatches({ matchType: 'exact', pattern: 'ATM' }, 'ＡＴＭ', [])).to.equal(true);
    expect(ruleMatches({ matchType: 'exact', pattern: '营业时间' }, '营业时间是几点', [])).to.equal(false);
  });

  it('matches any of several keywords, a regular expression, or a detected intent', () => {
    expect(ruleMatches({ matchType: 'keyword', pattern: '挂失|卡丢了' }, '我的卡丢了怎么办', [])).to.equal(true);
    expect(ruleMatches({ matchType: 'regex', pattern: '^(\\d{6})$' }, '123456', [])).to.equal(true);
    expect(ruleMatches({ matchType: 'intent', pattern: '信用卡' }, '随便', ['信用卡'])).to.equal(true);
    expect(ruleMatches({ matchType: 'intent', pattern: '信用卡' }, '随便', ['贷款'])).to.equal(false);
  });

  it('is active within its hours, including a window across midnight, in Shanghai time', () => {
    const day = { activeFrom: '09:00', activeTo: '17:00' };
    expect(activeAt(day, at('2026-12-07T10:00:00+08:00'))).to.equal(true);
    expect(activeAt(day, at('2026-12-07T17:00:00+08:00'))).to.equal(false);
    const night = { activeFrom: '21:00', activeTo: '08:00' };
    expect(activeAt(night, at('2026-12-07T23:30:00+08:00'))).to.equal(true);
    expect(activeAt(night, at('2026-12-08T07:59:00+08:00'))).to.equal(true);
    expect(activeAt(night, at('2026-12-08T12:00:00+08:00'))).to.equal(false);
    expect(activeAt({ activeFrom: null, activeTo: null }, at('2026-12-08T03:00:00+08:00'))).to.equal(true);
  });

  it('refuses a broken or catastrophic regular expression and half an active window, naming the field', () => {
    const bad = ruleInputSchema.safeParse({ name: 'x', matchType: 'regex', pattern: '([a-z]+)*$', replyText: 'x' });
    expect(bad.success).to.equal(false);
    expect(bad.error!.issues[0]!.path).to.deep.equal(['pattern']);
    const broken = ruleInputSchema.safeParse({ name: 'x', matchType: 'regex', pattern: '(', replyText: 'x' });
    expect(broken.error!.issues[0]!.path).to.deep.equal(['pattern']);
    const half = ruleInputSchema.safeParse({ name: 'x', matchType: 'keyword', pattern: 'a', replyText: 'x', activeFrom: '09:00' });
    expect(half.error!.issues[0]!.path).to.deep.equal(['activeTo']);
  });

  describe('cooldown', () => {
    let handle: DatabaseHandle;
    before(async () => {
      handle = await testDatabase();
    });
    after(() => handle.close());

    it('answers a customer once per cooldown, each customer on their own, even when asked twice at once', async () => {
      const rule = await createRule(handle.db, ruleInputSchema.parse({ name: '冷却', matchType: 'keyword', pattern: 'x', replyText: 'y', cooldownMinutes: 30 }), null);
      const t = at('2026-12-07T10:00:00+08:00');
      const both = await Promise.all([takeCooldown(handle.db, rule, 'c1', t), takeCooldown(handle.db, rule, 'c1', t)]);
      expect(both.filter(Boolean)).to.have.length(1);
      expect(await takeCooldown(handle.db, rule, 'c2', t)).to.equal(true);
      expect(await takeCooldown(handle.db, rule, 'c1', at('2026-12-07T10:29:00+08:00'))).to.equal(false);
      expect(await takeCooldown(handle.db, rule, 'c1', at('2026-12-07T10:30:00+08:00'))).to.equal(true);
    });
  });
});

describe('intents in customer messages', () => {
  it('scores a wish to act on a named product above a mere mention', () => {
    const strong = detectIntents('我想买大额存单，还有额度吗');
    expect(strong[0]).to.deep.equal({ intent: '大额存单', score: 1 });
    const weak = detectIntents('存单是什么');
    expect(weak[0]!.score).to.be.below(0.8);
    expect(detectIntents('今天天气不错')).to.deep.equal([]);
  });
});
