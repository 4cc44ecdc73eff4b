import { z } from 'zod';
import { catalogueItems } from '../cards/products.js';
import type { Api } from '../platform/http/api.js';

/**
 * /api/v1/products: the bank's product catalogue (data/bank/products.json, loaded by
 * src/cards/products.ts) for the pages' product names and pickers, so what they show is what the
 * server checks product ids against. Any logged-in staff member; the catalogue holds no customer data.
 */
const TAG = 'products';

const item = z.object({
  id: z.string(),
  name: z.string(),
  type: z.string().describe('deposit | wealth | fund | insurance | credit_card | loan | pension | fx_metal'),
  typeLabel: z.string().describe('the type in Chinese'),
  riskLevel: z.string().nullable().describe('R1–R5, null for deposits, cards, loans and the pension account'),
  riskLabel: z.string().nullable(),
  term: z.string().nullable(),
  minAmount: z.string().nullable(),
  rate: z.string().nullable().describe('indicative rate as display text'),
  targetSegments: z.array(z.string()),
  sellingPoints: z.array(z.string()),
  complianceNotes: z.string().describe('what a marketer must not say or must add'),
});

export function registerProductRoutes(api: Api): void {
  api.route({
    method: 'get', path: '/products', summary: 'the product catalogue', tag: TAG, auth: 'any',
    response: z.object({ items: z.array(item) }),
    handler: async () => ({ items: catalogueItems() }),
  });
}
