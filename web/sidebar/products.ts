import catalogue from '../../data/bank/products.json';

/**
 * The bank's product catalogue (data/bank/products.json, the same file the service reads) for
 * names, kinds and risk levels of the products a customer holds or is recommended.
 */
export interface Product {
  id: string;
  name: string;
  type: string;
  riskLevel: string | null;
}

const TYPE_NAMES: Record<string, string> = {
  deposit: '存款',
  wealth: '理财',
  fund: '基金',
  insurance: '保险',
  credit_card: '信用卡',
  loan: '贷款',
  pension: '养老',
  fx_metal: '外汇贵金属',
};

const byId = new Map<string, Product>(
  (catalogue as { id: string; name: string; type: string; risk_level: string | null }[]).map((p) => [p.id, { id: p.id, name: p.name, type: p.type, riskLevel: p.risk_level }]),
);

export const product = (id: string): Product => byId.get(id) ?? { id, name: id, type: 'unknown', riskLevel: null };
export const typeName = (type: string) => TYPE_NAMES[type] ?? '其他';
