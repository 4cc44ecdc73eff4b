import type { RuleInput } from './rules.js';

/**
 * Version 1 of the rule set, written on first start when no version exists. Sources:
 * - RULES.md's seed word list (block, warn, the required disclosure, the context kinds);
 * - phrases the product catalogue's compliance_notes forbid (data/bank/products.json), as
 *   category `catalogue`;
 * - the context allowances that keep the clean messages of the labelled set clean.
 * The single words of the advertising-law list (安全, 保证, 承诺, 保险, 避险, 高收益) are not seeded
 * on their own: they occur in most clean messages (安全账户, 保险产品, 高收益伴随高风险) and their
 * offending uses are covered by the longer phrases. Compliance staff may add them as a new version.
 */
type Seed = [pattern: string, category: string, pinyin?: string, note?: string];

const block: Seed[] = [
  ['保本', 'promise', 'bb'],
  ['保息', 'promise'],
  ['保本保息', 'promise', 'bbbx'],
  ['保证收益', 'promise', 'bzsy'],
  ['承诺收益', 'promise'],
  ['保收益', 'promise'],
  ['兜底', 'promise', undefined, '暗示银行或存款保险为非存款产品兜底，属隐性保本'],
  ['稳赚', 'promise', 'wz'],
  ['稳赚不赔', 'promise', 'wzbp'],
  ['零风险', 'absolute_safety', 'lfx'],
  ['无风险', 'absolute_safety', 'wfx'],
  ['没有风险', 'absolute_safety'],
  ['不会亏', 'absolute_safety'],
  ['不亏本', 'absolute_safety'],
  ['绝对安全', 'absolute_safety'],
  ['刚性兑付', 'rigid_payment', 'gxdf'],
  ['刚兑', 'rigid_payment'],
  ['收益翻倍', 'exaggeration'],
  ['高收益低风险', 'exaggeration'],
  ['长期必赚', 'catalogue', undefined, '澄湖沪深300指数增强基金：不得宣传定投稳赚、长期必赚'],
  ['只涨不跌', 'catalogue', undefined, '星河积存金：不得宣传黄金只涨不跌'],
  ['保值增值', 'catalogue', undefined, '投资金条：不得称为保值增值'],
  ['什么病都赔', 'catalogue', undefined, '重疾险：不得夸大保障范围'],
  ['养老专属高收益', 'catalogue', undefined, '颐年养老理财：不得称为养老专属高收益'],
  ['必下卡', 'catalogue', undefined, '白金信用卡：不得以必下卡诱导申请'],
];

const warn: Seed[] = [
  ...['最高', '最好', '最大', '最优', '第一', '唯一', '首只', '名列前茅', '业绩优良'].map((p): Seed => [p, 'superlative']),
  ...['有保障', '安全可靠', '放心买'].map((p): Seed => [p, 'vague_guarantee']),
  ['错过再无', 'catalogue', undefined, '大额存单：额度须如实说明，不得夸大'],
  ['限时抢购', 'catalogue', undefined, '大额存单：不得使用限时抢购等夸大表述'],
  ['类存款', 'catalogue', undefined, '债券基金：不得称为类存款'],
  ['零利息', 'catalogue', undefined, '信用卡分期：须展示年化利率，不得只说零利息'],
  ['秒批', 'catalogue', undefined, '信用卡：不得以秒批诱导申请'],
  ['日息低至', 'catalogue', undefined, '消费贷：须以年化利率展示价格'],
  ['超前消费', 'catalogue', undefined, '青春信用卡：不得宣传超前消费'],
];

const allowPhrases = [
  // ordinary words that contain a rule phrase
  '刚兑换', '保本人', '保本次', '保本月', '保本周', '不会亏待',
  '没有风险测评', '没有风险评估', '没有风险承受', '无风险测评', '无风险评估', '无风险承受',
  '第一时间', '第一次', '第一步', '第一个', '第一天', '第一年', '第一期', '第一笔', '第一季度', '第一条', '第一项', '第一种',
  '最高人民法院', '最高人民检察院', '最高可贷', '最高可借', '额度最高', '最高额度', '最高限额', '最高不超过', '单日最高', '每日最高', '最高偿付',
  '最好提前', '最好先', '最好在', '最好是', '最好携带', '最好本人', '最好还是', '您最好',
  '最大限度', '最大程度', '最大回撤', '最大亏损', '最大损失',
  '唯一官方',
];

const depositInsurance = ['存款保险', '存款保险制度', '受存款保险保护', '存款保险条例'];

const negations = [
  '不', '非', '无', '没', '未', '勿', '别',
  '不是', '并非', '绝非', '并不', '不承诺', '不保证', '不构成', '不代表', '不属于', '不等于', '不存在', '不得',
  '不能', '不会', '不可', '不要', '不应', '没有', '无法', '严禁', '禁止', '杜绝', '切勿', '打破', '拒绝',
  '不再', '不一定', '未必', '不见得', '谈不上',
];

const fraudCues = [
  '诈骗', '骗局', '骗子', '骗术', '被骗', '受骗', '上当', '非法集资', '非法金融', '不法分子', '冒充', '诱饵', '陷阱',
  '反诈', '防骗', '防诈', '96110', '虚假宣传', '虚假理财', '套路',
];

const warningCues = ['警惕', '谨防', '提防', '当心', '小心', '切勿相信', '不要相信', '不要轻信', '不要听信', '勿信', '别信', '请勿相信'];

const as = (kind: RuleInput['kind'], category: string, patterns: readonly string[]): RuleInput[] =>
  patterns.map((pattern) => ({ kind, pattern, category, pinyin: null, note: null }));

export const SEED_RULES: readonly RuleInput[] = [
  ...block.map(([pattern, category, pinyin, note]): RuleInput => ({ kind: 'block', pattern, category, pinyin: pinyin ?? null, note: note ?? null })),
  ...warn.map(([pattern, category, pinyin, note]): RuleInput => ({ kind: 'warn', pattern, category, pinyin: pinyin ?? null, note: note ?? null })),
  { kind: 'disclosure', pattern: '理财非存款、产品有风险、投资须谨慎', category: 'wealth', pinyin: null, note: '理财、基金、保险内容须附' },
  ...as('context_allow', 'phrase', allowPhrases),
  ...as('context_allow', 'deposit_insurance', depositInsurance),
  ...as('context_allow', 'negation', negations),
  ...as('context_allow', 'anti_fraud', fraudCues),
  ...as('context_allow', 'warning', warningCues),
];

export const SEED_NOTE = 'seed: RULES.md word list, catalogue compliance notes, context allowances';
