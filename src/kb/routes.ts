import { z } from 'zod';
import catalogue from '../../data/bank/products.json' with { type: 'json' };
import { rolesFor } from '../auth/index.js';
import { staffNames } from '../auth/names.js';
import type { Db } from '../platform/db/database.js';
import type { Api } from '../platform/http/api.js';
import type { Actor } from '../platform/http/context.js';
import { DEFAULT_TOP_K } from './search.js';
import type { ChangedBy, KnowledgeBase } from './service.js';
import { getKbEntry, KB_STATUSES, listKbEntries, listKbEntryVersions } from './store.js';

/**
 * /api/v1/kb. Every logged-in member searches and reads entries (the sidebar shows the answers);
 * operations staff and admins (content.manage) create, edit, retire and restore them, and they
 * and compliance read the version history.
 */
const TAG = 'knowledge base';
const WRITE = rolesFor('content.manage');
const HISTORY = [...new Set([...rolesFor('content.manage'), ...rolesFor('content.approve')])];
const PRODUCT_IDS = new Set((catalogue as readonly { id: string }[]).map((p) => p.id));

const entryId = z.string().regex(/^kb-\d{3,}$/, 'an entry id like kb-001');
const questionText = z.string().trim().min(2).max(200);

const contentFields = {
  category: z.string().trim().min(1).max(20),
  question: questionText,
  altQuestions: z
    .array(questionText)
    .max(20)
    .default([])
    .refine((qs) => new Set(qs).size === qs.length, 'alternative questions must differ from each other'),
  answer: z.string().trim().min(1).max(2000),
  productIds: z.array(z.string().refine((id) => PRODUCT_IDS.has(id), 'unknown product id')).max(20).default([]),
  needsDisclaimer: z.boolean().default(false),
  handoff: z.boolean().default(false),
  note: z.string().trim().max(500).nullish(),
};

export const createKbEntrySchema = z.strictObject(contentFields);
export const updateKbEntrySchema = z.strictObject({ ...contentFields, baseVersion: z.number().int().positive().optional() });

export const searchBodySchema = z.strictObject({
  query: z.string().trim().min(1).max(500),
  topK: z.number().int().min(1).max(20).default(DEFAULT_TOP_K),
});

const searchResponseSchema = z.object({
  hits: z.array(z.object({ id: z.string(), score: z.number().min(0).max(1) })),
  handoff: z.boolean(),
});

export const kbEntrySchema = z.object({
  id: z.string(),
  category: z.string(),
  question: z.string(),
  altQuestions: z.array(z.string()),
  answer: z.string(),
  productIds: z.array(z.string()),
  needsDisclaimer: z.boolean(),
  handoff: z.boolean(),
  status: z.enum(KB_STATUSES),
  version: z.number().int(),
  updatedBy: z.uuid().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

const findingSchema = z.object({
  rule: z.string(), match: z.string(), start: z.number().int(), end: z.number().int(),
  kind: z.enum(['block', 'warn']), severity: z.enum(['high', 'medium']), message: z.string(),
});

const savedSchema = z.object({
  entry: kbEntrySchema,
  compliance: z.object({
    verdict: z.enum(['pass', 'warn', 'block']),
    findings: z.array(findingSchema),
    appended: z.array(z.string()),
    ruleSetVersion: z.number().int(),
  }),
});

const versionSchema = kbEntrySchema
  .omit({ id: true, updatedBy: true, updatedAt: true })
  .extend({
    entryId: z.string(), change: z.enum(['seed', 'create', 'update', 'retire', 'restore']), note: z.string().nullable(), changedBy: z.uuid().nullable(),
    changedByName: z.string().nullable(),
  });

export function registerKbRoutes(api: Api, deps: { db: Db; kb: KnowledgeBase }): void {
  const { db, kb } = deps;
  const idParams = z.object({ id: entryId });
  const changedBy = (input: { actor: Actor | undefined; ctx: { ip: string; state: { requestId: string } } }): ChangedBy => ({
    actorType: 'staff', actorId: input.actor!.id, ip: input.ctx.ip, requestId: input.ctx.state.requestId,
  });

  api.route({
    method: 'post', path: '/kb/search', summary: 'search the knowledge base: the best entries (scores 0–1) and whether to hand over to a person', tag: TAG,
    auth: 'any', body: searchBodySchema, response: searchResponseSchema,
    handler: async ({ body }) => {
      const result = await kb.search(body.query, { topK: body.topK });
      return { hits: result.hits.map((h) => ({ id: h.id, score: h.score })), handoff: result.handoff };
    },
  });

  api.route({
    method: 'get', path: '/kb/entries', summary: 'list knowledge-base entries (active unless status says otherwise)', tag: TAG, auth: 'any',
    query: z.object({
      status: z.enum([...KB_STATUSES, 'any']).default('active'),
      category: z.string().trim().min(1).max(20).optional(),
      q: z.string().trim().min(1).max(100).optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
      offset: z.coerce.number().int().min(0).default(0),
    }),
    response: z.object({ items: z.array(kbEntrySchema), total: z.number().int() }),
    handler: async ({ query }) => listKbEntries(db, query),
  });

  api.route({
    method: 'get', path: '/kb/entries/:id', summary: 'one knowledge-base entry', tag: TAG, auth: 'any', params: idParams, response: kbEntrySchema,
    handler: async ({ params }) => getKbEntry(db, params.id),
  });

  api.route({
    method: 'post', path: '/kb/entries', summary: 'create a knowledge-base entry; the answer passes the compliance gate (audited)', tag: TAG, auth: WRITE,
    status: 201, body: createKbEntrySchema, response: savedSchema,
    handler: async (input) => kb.createEntry(input.body, changedBy(input)),
  });

  api.route({
    method: 'put', path: '/kb/entries/:id', summary: 'save a new version of a knowledge-base entry; the answer passes the compliance gate (audited)', tag: TAG,
    auth: WRITE, params: idParams, body: updateKbEntrySchema, response: savedSchema,
    handler: async (input) => kb.updateEntry(input.params.id, input.body, changedBy(input)),
  });

  api.route({
    method: 'post', path: '/kb/entries/:id/retire', summary: 'retire a knowledge-base entry so search no longer finds it (audited)', tag: TAG, auth: WRITE,
    params: idParams, body: z.strictObject({ note: z.string().trim().max(500).nullish() }), response: kbEntrySchema,
    handler: async (input) => kb.setEntryStatus(input.params.id, 'retired', input.body.note || null, changedBy(input)),
  });

  api.route({
    method: 'post', path: '/kb/entries/:id/restore', summary: 'bring a retired knowledge-base entry back into search (audited)', tag: TAG, auth: WRITE,
    params: idParams, body: z.strictObject({ note: z.string().trim().max(500).nullish() }), response: kbEntrySchema,
    handler: async (input) => kb.setEntryStatus(input.params.id, 'active', input.body.note || null, changedBy(input)),
  });

  api.route({
    method: 'get', path: '/kb/entries/:id/versions', summary: 'every saved version of a knowledge-base entry, newest first', tag: TAG, auth: HISTORY,
    params: idParams, response: z.object({ items: z.array(versionSchema) }),
    handler: async ({ params }) => {
      const items = await listKbEntryVersions(db, params.id);
      const names = await staffNames(db, items.map((v) => v.changedBy));
      return { items: items.map((v) => ({ ...v, changedByName: (v.changedBy && names.get(v.changedBy)) || null })) };
    },
  });
}
