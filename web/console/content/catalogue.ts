import catalogue from '../../../data/bank/products.json';

/**
 * The bank's product catalogue (data/bank/products.json, the same file the server checks product
 * ids against), for the product pickers of the content pages.
 */
export interface CatalogueProduct {
  id: string;
  name: string;
  type: string;
  riskLevel: string | null;
}

export const PRODUCT_TYPES: Record<string, string> = {
  deposit: '存款',
  wealth: '理财',
  fund: '基金',
  insurance: '保险',
  pension: '养老',
  credit_card: '信用卡',
  loan: '贷款',
  fx_metal: '外汇与贵金属',
};

export const PRODUCTS: CatalogueProduct[] = (catalogue as { id: string; name: string; type: string; risk_level: string | null }[]).map((p) => ({
  id: p.id,
  name: p.name,
  type: p.type,
  riskLevel: p.risk_level,
}));

const byId = new Map(PRODUCTS.map((p) => [p.id, p]));

export const productName = (id: string): string => byId.get(id)?.name ?? id;

/** Options grouped by product type, for an el-select with option groups. */
export const PRODUCT_GROUPS = Object.entries(PRODUCT_TYPES).map(([type, label]) => ({
  label,
  options: PRODUCTS.filter((p) => p.type === type).map((p) => ({ value: p.id, label: p.riskLevel ? `${p.name}（${p.riskLevel}）` : p.name })),
}));
