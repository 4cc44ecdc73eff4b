import { computed, reactive } from 'vue';
import { api } from './api';

/**
 * The bank's product catalogue as the server serves it (`GET /api/v1/products`), for product names
 * and pickers: the same catalogue the server checks product ids against. Loaded once per page load,
 * after login; `loadProducts()` may be called by every page that needs it and rejects with the
 * ApiError for the page to show (the next call tries again).
 */
export interface ProductSummary {
  id: string;
  name: string;
  type: string;
  typeLabel: string;
  riskLevel: string | null;
  riskLabel: string | null;
}

/** What a product page and the catalogue show, as display text (src/cards/products.ts ProductFacts). */
export interface ProductFacts {
  term: string | null;
  minAmount: string | null;
  rate: string | null;
  sellingPoints: string[];
}

export interface Product extends ProductSummary, ProductFacts {
  targetSegments: string[];
  complianceNotes: string;
}

export const catalogue = reactive({ items: [] as Product[], loaded: false });

let loading: Promise<Product[]> | undefined;

export function loadProducts(): Promise<Product[]> {
  loading ??= api.get<{ items: Product[] }>('/products').then(
    ({ items }) => {
      catalogue.items = items;
      catalogue.loaded = true;
      return items;
    },
    (error: unknown) => {
      loading = undefined;
      throw error;
    },
  );
  return loading;
}

const byId = computed(() => new Map(catalogue.items.map((p) => [p.id, p])));

/** The product with this id; an id the catalogue does not know shows as itself. */
export const product = (id: string): Pick<Product, 'id' | 'name' | 'type' | 'typeLabel' | 'riskLevel'> =>
  byId.value.get(id) ?? { id, name: id, type: 'unknown', typeLabel: '其他', riskLevel: null };

export const productName = (id: string): string => byId.value.get(id)?.name ?? id;

/** Options grouped by product type in catalogue order, for a select with option groups. */
export const productGroups = computed(() => {
  const groups = new Map<string, { label: string; options: { value: string; label: string }[] }>();
  for (const p of catalogue.items) {
    const group = groups.get(p.type) ?? groups.set(p.type, { label: p.typeLabel, options: [] }).get(p.type)!;
    group.options.push({ value: p.id, label: p.riskLevel ? `${p.name}（${p.riskLevel}）` : p.name });
  }
  return [...groups.values()];
});
