import catalogue from '../../data/bank/products.json' with { type: 'json' };

/**
 * Product facts the model may state: the catalogue (data/bank/products.json) as the bank publishes
 * it, including what a marketer must not say (compliance_notes), which the prompt passes on.
 */
export interface ProductFacts {
  id: string;
  name: string;
  type: string;
  riskLevel: string | null;
  minAmount: number | null;
  termDays: number | null;
  indicativeRate: string | null;
  sellingPoints: string[];
  complianceNotes: string;
}

interface Entry {
  id: string; name: string; type: string; risk_level: string | null; min_amount_cny: number | null; term_days: number | null;
  indicative_rate: string | null; selling_points: string[]; compliance_notes: string;
}

export const PRODUCT_FACTS: ReadonlyMap<string, ProductFacts> = new Map(
  (catalogue as readonly Entry[]).map((p) => [
    p.id,
    {
      id: p.id, name: p.name, type: p.type, riskLevel: p.risk_level, minAmount: p.min_amount_cny ?? null, termDays: p.term_days ?? null,
      indicativeRate: p.indicative_rate ?? null, sellingPoints: p.selling_points ?? [], complianceNotes: p.compliance_notes,
    },
  ]),
);

export const TYPE_LABELS: Record<string, string> = {
  deposit: '存款', wealth: '理财', fund: '基金', insurance: '保险（代销）', credit_card: '信用卡', loan: '贷款', pension: '养老金融', fx_metal: '外汇与贵金属',
};

export const productName = (id: string) => PRODUCT_FACTS.get(id)?.name ?? id;
