import catalogue from '../../data/bank/products.json' with { type: 'json' };
import { normalizePattern, occurrences, type NormalizedText } from './normalize.js';

/**
 * What the gate knows about products: the catalogue (data/bank/products.json), the short names
 * staff use for each product in chat, the generic words that make a message wealth, fund or
 * insurance content, and the sentences a product's compliance_notes require.
 */
export type RiskLevel = 'R1' | 'R2' | 'R3' | 'R4' | 'R5';
export type ProductType = 'deposit' | 'wealth' | 'fund' | 'insurance' | 'credit_card' | 'loan' | 'pension' | 'fx_metal';

export interface CatalogueProduct {
  id: string;
  name: string;
  type: ProductType;
  riskLevel: RiskLevel | null;
  notes: string;
}

interface Entry { id: string; name: string; type: string; risk_level: string | null; compliance_notes: string }

export const PRODUCTS: ReadonlyMap<string, CatalogueProduct> = new Map(
  (catalogue as readonly Entry[]).map((p) => [
    p.id,
    { id: p.id, name: p.name, type: p.type as ProductType, riskLevel: p.risk_level as RiskLevel | null, notes: p.compliance_notes },
  ]),
);

export const isKnownProduct = (id: string) => PRODUCTS.has(id);

/** Short names used in chat (the full catalogue name always counts too). */
const ALIASES: Record<string, readonly string[]> = {
  'p-dep-lcd-3y': ['大额存单'],
  'p-dep-fix-1y': ['整存整取'],
  'p-dep-notice-7d': ['七天通知存款', '7天通知存款'],
  'p-dep-usd-1y': ['美元定期'],
  'p-wm-cash-r1': ['天天利'],
  'p-wm-fi-r2-180': ['恒享固收', '恒享180'],
  'p-wm-mix-r3': ['睿选混合', '睿选理财'],
  'p-fund-bond-r2': ['中短债'],
  'p-fund-eq-r4': ['价值精选'],
  'p-fund-idx-300': ['沪深300指数增强', '300指数增强'],
  'p-fund-qdii-r5': ['全球科技精选'],
  'p-ins-wl': ['增额终身寿', '星享增额'],
  'p-ins-ci': ['守护重大疾病', '守护重疾'],
  'p-pen-account': ['个人养老金账户', '个人养老金资金账户'],
  'p-pen-wm-r2': ['颐年养老'],
  'p-pen-fund-y': ['目标日期2045', '养老目标2045'],
  'p-cc-std': ['标准信用卡', '星河金卡'],
  'p-cc-plat': ['白金信用卡', '白金卡'],
  'p-cc-youth': ['青春信用卡', '青春卡'],
  'p-loan-consumer': ['星河e贷'],
  'p-loan-hpf': ['公积金贷款', '公积金个人住房贷款'],
  'p-loan-biz': ['小微经营贷', '经营贷'],
  'p-fx-gold-acc': ['积存金'],
  'p-fx-gold-bar': ['如意金条', '投资金条'],
};

const NAMES: ReadonlyArray<{ productId: string; norm: string }> = [...PRODUCTS.values()].flatMap((p) =>
  [p.name, ...(ALIASES[p.id] ?? [])].map((name) => ({ productId: p.id, norm: normalizePattern(name) })),
);

/** Catalogue products named in the text (by full name or chat alias), in order of first mention. */
export function productsNamedIn(norm: NormalizedText): string[] {
  const first = new Map<string, number>();
  for (const { productId, norm: name } of NAMES) {
    const [hit] = occurrences(norm, name);
    if (hit && hit[0] < (first.get(productId) ?? Infinity)) first.set(productId, hit[0]);
  }
  return [...first].sort((a, b) => a[1] - b[1]).map(([id]) => id);
}

/**
 * Generic words that make a message wealth, fund or insurance content, with the compounds that
 * do not (理财经理 is a job title, 存款保险 and 社会保险 are not insurance products).
 */
type GenericType = 'wealth' | 'fund' | 'insurance';
const GENERIC: ReadonlyArray<{ type: GenericType; words: string[]; except: string[] }> = ([
  { type: 'wealth', words: ['理财', '净值型', '业绩比较基准', '七日年化'], except: ['理财经理', '理财师', '理财顾问', '理财非存款', '投资理财'] },
  { type: 'fund', words: ['基金', '定投'], except: ['公积金', '社保基金'] },
  {
    type: 'insurance',
    words: ['保险', '寿险', '重疾险', '年金险', '医疗险', '意外险'],
    except: ['存款保险', '社会保险', '基本养老保险', '基本医疗保险', '失业保险', '工伤保险', '生育保险', '保险箱', '保险柜'],
  },
] satisfies Array<{ type: GenericType; words: string[]; except: string[] }>).map((g) => ({ ...g, words: g.words.map(normalizePattern), except: g.except.map(normalizePattern) }));

export interface GenericMention { type: GenericType; from: number; to: number }

export function genericMentions(norm: NormalizedText): GenericMention[] {
  const mentions: GenericMention[] = [];
  for (const group of GENERIC) {
    const excluded = group.except.flatMap((word) => occurrences(norm, word));
    for (const word of group.words) {
      for (const [from, to] of occurrences(norm, word)) {
        if (!excluded.some(([a, b]) => a <= from && to <= b)) mentions.push({ type: group.type, from, to });
      }
    }
  }
  return mentions.sort((a, b) => a.from - b.from);
}

/** Wealth, fund and insurance always; pension and fx_metal when their notes require the disclosure. */
export function needsRiskDisclosure(product: CatalogueProduct, disclosures: readonly string[]): boolean {
  if (product.type === 'wealth' || product.type === 'fund' || product.type === 'insurance') return true;
  const notes = normalizePattern(product.notes);
  return disclosures.some((d) => notes.includes(normalizePattern(d)));
}

/**
 * Sentences a product's compliance_notes require beyond the standard disclosure, when the message
 * shows what the sentence qualifies (a performance figure, the seven-day yield, the benchmark).
 * The notes are prose, so the recognised requirements are listed here with accepted equivalents.
 */
const REQUIRED_SENTENCES: ReadonlyArray<{ when: RegExp; shown: RegExp; sentence: string; equivalents: string[] }> = [
  {
    when: /过往业绩不代表未来表现|展示过往业绩须注明不代表未来表现/,
    shown: /业绩|收益率|年化|涨幅|回报/,
    sentence: '过往业绩不代表未来表现',
    equivalents: ['过往业绩不预示未来表现', '过往业绩不代表其未来表现', '历史业绩不代表未来表现', '历史数据不代表未来表现'],
  },
  {
    when: /七日年化收益率为历史数据、?不代表未来表现/,
    shown: /七日年化|收益率/,
    sentence: '七日年化收益率为历史数据，不代表未来表现',
    equivalents: ['历史数据不代表未来表现'],
  },
  {
    when: /业绩比较基准不代表实际收益/,
    shown: /业绩比较基准/,
    sentence: '业绩比较基准不代表实际收益',
    equivalents: ['业绩比较基准仅供参考不代表未来表现', '业绩比较基准不代表未来表现', '业绩比较基准不构成收益承诺'],
  },
];

export function requiredSentences(product: CatalogueProduct, norm: NormalizedText): { sentence: string; equivalents: string[] }[] {
  return REQUIRED_SENTENCES.filter((r) => r.when.test(product.notes) && r.shown.test(norm.text)).map(({ sentence, equivalents }) => ({ sentence, equivalents }));
}

/** Disclosure presence ignores punctuation and the common 需/须 variant. */
export const disclosureKey = (text: string) => normalizePattern(text).replaceAll('需', '须');
