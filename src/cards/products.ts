import catalogue from '../../data/bank/products.json' with { type: 'json' };
import type { ComplianceGate } from '../compliance/index.js';

/**
 * The product page (`/p/<productId>`) as a customer reads it: the catalogue entry (data/bank),
 * what it must carry, and nothing the compliance gate would block.
 *
 * What a page carries:
 * - the disclosures the gate requires for this content under the active rule set (the standard
 *   理财非存款、产品有风险、投资须谨慎 for wealth, fund and insurance content, and the sentences a
 *   product's notes require when the page shows what they qualify, such as past performance);
 * - the product's own statements: what its `compliance_notes` tell a marketer to tell the customer,
 *   written here as sentences for customers (the notes are prose for staff). A test holds this
 *   table to the catalogue: a product without statements fails it;
 * - for risk-rated products, the suitability notice, and for wealth, fund, insurance and pension
 *   products, where a purchase happens (the sale is recorded in a sales zone or done in the app;
 *   the page never completes one).
 * Selling points the gate blocks under the active rules are left out.
 */
interface Entry {
  id: string;
  name: string;
  type: string;
  risk_level: string | null;
  min_amount_cny: number | null;
  term_days: number | null;
  indicative_rate: string | null;
  target_segments: string[];
  selling_points: string[];
  compliance_notes: string;
}

const ENTRIES: ReadonlyMap<string, Entry> = new Map((catalogue as readonly Entry[]).map((p) => [p.id, p]));

export const TYPE_LABELS: Record<string, string> = {
  deposit: '存款', wealth: '理财', fund: '基金', insurance: '保险（代销）', credit_card: '信用卡', loan: '贷款', pension: '个人养老金', fx_metal: '贵金属',
};
export const RISK_LABELS: Record<string, string> = { R1: '低风险', R2: '中低风险', R3: '中风险', R4: '中高风险', R5: '高风险' };

/** Customer-facing statements each product's compliance_notes require (see the header). */
export const PRODUCT_STATEMENTS: Readonly<Record<string, readonly string[]>> = {
  'p-dep-lcd-3y': ['利率为示例，以网点及手机银行公布为准。', '本期额度有限，以实际发售为准。', '存款保险对同一存款人在本行的存款本息合计最高偿付50万元。'],
  'p-dep-fix-1y': ['提前支取部分按支取日活期利率计息。', '利率以网点及手机银行公布为准。'],
  'p-dep-notice-7d': ['未提前通知或通知后未按期支取的，支取部分按活期利率计息。', '最低支取金额为5万元。', '利率以网点及手机银行公布为准。'],
  'p-dep-usd-1y': ['起存金额以美元计。', '外币存款存在汇率波动风险。', '利率随市场调整，以网点及手机银行公布为准。', '购汇须遵守个人年度便利化额度及用途申报规定。'],
  'p-wm-cash-r1': ['七日年化收益率为历史数据，不代表未来表现。', '快速赎回单日上限为1万元。'],
  'p-wm-fi-r2-180': ['业绩比较基准不是预期收益，不代表实际收益。', '过往业绩不代表未来表现。'],
  'p-wm-mix-r3': ['本产品封闭期内不可赎回。', '产品净值可能下跌，业绩比较基准不代表实际收益。'],
  'p-fund-bond-r2': ['市场利率上行时，基金净值可能下跌。', '基金过往业绩不代表未来表现。'],
  'p-fund-eq-r4': ['基金净值可能大幅波动，甚至出现较大亏损。', '基金过往业绩不代表未来表现。'],
  'p-fund-idx-300': ['定投不能规避市场下跌风险。', '连续扣款失败可能导致定投终止。'],
  'p-fund-qdii-r5': ['本基金投资境外市场，存在境外市场风险和汇率风险。', '外汇额度不足时，本基金可能暂停或限制申购。', '赎回资金一般于T+7至T+10个工作日到账。'],
  'p-ins-wl': ['本产品为保险产品，不是存款，由安禾人寿承保，星河银行代销。', '投保后享有犹豫期；犹豫期后退保可能遭受损失，具体以现金价值表为准。', '预定利率不等于收益率，以保险合同为准。'],
  'p-ins-ci': ['本产品为保险产品，由安禾人寿承保，星河银行代销。', '本产品设有90天等待期，请详细阅读责任免除条款；投保时须履行如实告知义务。', '保费因年龄、保额和缴费期而异。'],
  'p-pen-account': ['个人养老金资金原则上封闭至达到领取基本养老金年龄等规定情形方可领取。', '税收政策以国家规定为准。'],
  'p-pen-wm-r2': ['本产品5年封闭期内一般不可赎回。', '业绩比较基准不代表实际收益。'],
  'p-pen-fund-y': ['每笔申购须持有满3年方可赎回，赎回资金留在个人养老金账户，达到领取条件方可领取。', '“目标日期”不代表到期收益。'],
  'p-cc-std': ['分期年化利率（单利）及总费用以办理时展示为准。', '逾期还款将影响个人征信。'],
  'p-cc-plat': ['权益次数和条件以权益手册为准，请留意有效期。', '年费标准及减免条件以信用卡章程为准。'],
  'p-cc-youth': ['申请人须年满18周岁且有稳定收入。', '分期费用按年化利率（单利）展示，请理性消费。'],
  'p-loan-consumer': ['贷款价格以年化利率（单利）展示，实际额度和利率以审批结果为准。', '贷款资金不得用于购房、投资理财、股市等。', '请理性借贷，按时还款。'],
  'p-loan-hpf': ['可贷额度和利率以当地公积金中心政策及审批结果为准。'],
  'p-loan-biz': ['贷款用途限于生产经营，严禁流入房地产、股市或用于消费。', '额度和利率以审批结果为准，价格以年化利率（单利）展示。'],
  'p-fx-gold-acc': ['金价波动可能导致亏损。', '请确认您的风险测评结果与产品风险等级匹配且在有效期内。'],
  'p-fx-gold-bar': ['金价波动存在风险，回购价与销售价之间存在价差。', '回购规则和价格以网点公布为准。'],
};

const SOLD_IN_SALES_ZONE = new Set(['wealth', 'fund', 'insurance', 'pension']);

export const isCatalogueProduct = (id: string) => ENTRIES.has(id);

export interface ProductSummary {
  id: string;
  name: string;
  type: string;
  typeLabel: string;
  riskLevel: string | null;
  riskLabel: string | null;
}

/** The facts a product page and the staff catalogue show, as display text. */
export interface ProductFacts {
  term: string | null;
  minAmount: string | null;
  rate: string | null;
  sellingPoints: string[];
}

export interface ProductPage extends ProductSummary, ProductFacts {
  /** The gate's required disclosures, first the standard one. */
  disclosures: string[];
  /** The product's own statements, suitability and where to buy. */
  notices: string[];
}

export function productSummary(id: string): ProductSummary | undefined {
  const p = ENTRIES.get(id);
  if (!p) return undefined;
  return { id: p.id, name: p.name, type: p.type, typeLabel: TYPE_LABELS[p.type] ?? p.type, riskLevel: p.risk_level, riskLabel: p.risk_level ? (RISK_LABELS[p.risk_level] ?? null) : null };
}

/** A catalogue product as staff pick and read it (GET /api/v1/products): the page's facts and the notes for marketers. */
export interface CatalogueItem extends ProductSummary, ProductFacts {
  targetSegments: string[];
  complianceNotes: string;
}

/** The whole catalogue, in the file's order (grouped by type). */
export function catalogueItems(): CatalogueItem[] {
  return [...ENTRIES.values()].map((p) => ({
    ...productSummary(p.id)!,
    ...facts(p, p.selling_points),
    targetSegments: p.target_segments,
    complianceNotes: p.compliance_notes,
  }));
}

function term(days: number | null): string | null {
  if (!days) return null;
  if (days % 365 === 0) return `${days / 365}年`;
  return `${days}天`;
}

function amount(cny: number | null): string | null {
  if (cny === null) return null;
  return cny >= 10_000 && cny % 10_000 === 0 ? `${cny / 10_000}万元起` : `${cny}元起`;
}

const facts = (p: Entry, sellingPoints: string[]): ProductFacts => ({
  term: term(p.term_days),
  minAmount: amount(p.min_amount_cny),
  rate: p.indicative_rate,
  sellingPoints,
});

/** Punctuation and the 需/须 variant do not make two statements different. */
const sameKey = (s: string) => s.replace(/[\s，。、；：,.;:“”"（）()]/g, '').replaceAll('需', '须');

export async function productPage(gate: ComplianceGate, id: string): Promise<ProductPage | undefined> {
  const p = ENTRIES.get(id);
  if (!p) return undefined;
  const summary = productSummary(id)!;
  // A selling point the active rules block is not shown (the catalogue may predate a new rule).
  const sellingPoints: string[] = [];
  for (const point of p.selling_points) {
    if ((await gate.checkMessage({ text: point, productIds: [id], purpose: 'marketing' })).verdict !== 'block') sellingPoints.push(point);
  }
  const shown = [p.name, p.indicative_rate ?? '', ...sellingPoints].join('\n');
  const judged = await gate.checkMessage({ text: shown, productIds: [id], purpose: 'marketing' });
  const seen = new Set(judged.disclosures.map(sameKey));
  const notices: string[] = [];
  const add = (s: string) => {
    if (seen.has(sameKey(s))) return;
    seen.add(sameKey(s));
    notices.push(s);
  };
  for (const s of PRODUCT_STATEMENTS[id] ?? []) add(s);
  if (p.risk_level) add(`本产品风险等级为${p.risk_level}（${RISK_LABELS[p.risk_level] ?? ''}），仅适合风险承受能力与之匹配的客户；购买前请完成风险承受能力评估。`);
  if (SOLD_IN_SALES_ZONE.has(p.type)) add('如需购买，请通过星河银行手机银行或前往网点办理；网点销售理财及代销产品须在销售专区同步录音录像。');
  return {
    ...summary,
    ...facts(p, sellingPoints),
    disclosures: judged.disclosures,
    notices,
  };
}

/** The disclosures a list of product names needs (the featured products on a card). */
export async function listDisclosures(gate: ComplianceGate, ids: readonly string[]): Promise<string[]> {
  if (!ids.length) return [];
  const text = ids.map((id) => ENTRIES.get(id)?.name ?? '').join('\n');
  return (await gate.checkMessage({ text, productIds: ids, purpose: 'marketing' })).disclosures;
}
