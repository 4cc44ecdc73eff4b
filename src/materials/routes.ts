import { z } from 'zod';
import { can, rolesFor } from '../auth/index.js';
import { staffNames } from '../auth/names.js';
import type { Db } from '../platform/db/database.js';
import type { Api } from '../platform/http/api.js';
import type { Actor } from '../platform/http/context.js';
import { forbidden } from '../platform/errors.js';
import { attachmentInputs, productIdSchema, wecomAttachmentSchema } from './attachments.js';
import {
  approveMaterial, checkMaterial, createMaterial, rejectMaterial, retireMaterial, reviseMaterial, submitMaterial, updateMaterial, type ChangedBy, type MaterialDeps,
} from './lifecycle.js';
import { getMaterial, materialNotFound, MATERIAL_KINDS, MATERIAL_STATUSES, searchMaterials, type Material } from './store.js';

/**
 * /api/v1/materials. Operations (content.manage) write, submit, retire and revise; compliance
 * (content.approve) approves and rejects; every logged-in member reads approved materials (the
 * sidebar), and only the roles that write or review see the other statuses.
 */
const TAG = 'materials';
const WRITE = rolesFor('content.manage');
const REVIEW = rolesFor('content.approve');
const seesAllStatuses = (actor: Actor) => can(actor.role, 'content.manage') || can(actor.role, 'content.approve');

const title = z.string().trim().min(1).max(100);
const text = z.string().max(4000);
const labels = z.array(z.string().trim().min(1).max(20)).max(20);
const productIds = z.array(productIdSchema).max(20);
const common = { title, text: text.optional(), productIds: productIds.optional(), labels: labels.optional() };

export const createMaterialSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('text'), ...common, text: text.refine((t) => t.trim().length > 0, 'required for a text material') }),
  z.strictObject({ kind: z.literal('image'), ...common, attachment: attachmentInputs.image }),
  z.strictObject({ kind: z.literal('link'), ...common, attachment: attachmentInputs.link }),
  z.strictObject({ kind: z.literal('miniprogram'), ...common, attachment: attachmentInputs.miniprogram }),
  z.strictObject({ kind: z.literal('file'), ...common, attachment: attachmentInputs.file }),
  z.strictObject({ kind: z.literal('product'), ...common, title: title.optional(), productIds: z.array(productIdSchema).length(1) }),
]);

/** The attachment is checked against the material's kind by the service (issues name body.attachment.*). */
export const updateMaterialSchema = z
  .strictObject({
    title: title.optional(),
    text: text.optional(),
    attachment: z.record(z.string(), z.unknown()).optional(),
    productIds: productIds.optional(),
    labels: labels.optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), { message: 'change at least one field' });

const findingSchema = z.object({
  field: z.enum(['text', 'attachment']), rule: z.string(), match: z.string(), start: z.number().int(), end: z.number().int(),
  kind: z.enum(['block', 'warn']), severity: z.enum(['high', 'medium']), message: z.string(),
});

export const materialSchema = z.object({
  id: z.uuid(),
  kind: z.enum(MATERIAL_KINDS),
  title: z.string(),
  text: z.string(),
  attachment: wecomAttachmentSchema.nullable(),
  productIds: z.array(z.string()),
  labels: z.array(z.string()),
  status: z.enum(MATERIAL_STATUSES),
  version: z.number().int(),
  disclosures: z.array(z.string()),
  verdict: z.enum(['pass', 'warn', 'block']).nullable(),
  findings: z.array(findingSchema),
  reviewNote: z.string().nullable(),
  createdBy: z.uuid().nullable(),
  submittedAt: z.iso.datetime().nullable(),
  reviewedBy: z.uuid().nullable(),
  reviewedAt: z.iso.datetime().nullable(),
  retiredAt: z.iso.datetime().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  /** Display names of the author and the reviewer, for the console. */
  createdByName: z.string().nullable(),
  reviewedByName: z.string().nullable(),
});

/** Materials with the display names of their authors and reviewers. */
async function named(db: Db, materials: Material[]) {
  const names = await staffNames(db, materials.flatMap((m) => [m.createdBy, m.reviewedBy]));
  return materials.map((m) => ({
    ...m,
    createdByName: (m.createdBy && names.get(m.createdBy)) || null,
    reviewedByName: (m.reviewedBy && names.get(m.reviewedBy)) || null,
  }));
}
const one = async (db: Db, material: Material) => (await named(db, [material]))[0]!;

export function registerMaterialRoutes(api: Api, deps: MaterialDeps): void {
  const { db } = deps;
  const idParams = z.object({ id: z.uuid() });
  const changedBy = (input: { actor: Actor | undefined; ctx: { ip: string; state: { requestId: string } } }): ChangedBy => ({
    actorType: 'staff', actorId: input.actor!.id, ip: input.ctx.ip, requestId: input.ctx.state.requestId,
  });

  api.route({
    method: 'get', path: '/materials', summary: 'search the material library (approved only unless the caller writes or reviews materials)', tag: TAG, auth: 'any',
    query: z.object({
      q: z.string().trim().min(1).max(100).optional(),
      kind: z.enum(MATERIAL_KINDS).optional(),
      status: z.enum(MATERIAL_STATUSES).or(z.literal('any')).optional(),
      limit: z.coerce.number().int().min(1).max(200).default(50),
    }),
    response: z.object({ items: z.array(materialSchema) }),
    handler: async ({ query, actor }) => {
      const all = seesAllStatuses(actor!);
      if (!all && query.status !== undefined && query.status !== 'approved') throw forbidden('仅可查看已通过审核的素材');
      const status = query.status ?? (all ? 'any' : 'approved');
      return { items: await named(db, await searchMaterials(db, { q: query.q, kind: query.kind, status, limit: query.limit })) };
    },
  });

  api.route({
    method: 'get', path: '/materials/:id', summary: 'one material', tag: TAG, auth: 'any', params: idParams, response: materialSchema,
    handler: async ({ params, actor }) => {
      const material = await getMaterial(db, params.id);
      // Members who only send see approved materials; anything else does not exist for them.
      if (material.status !== 'approved' && !seesAllStatuses(actor!)) throw materialNotFound(params.id);
      return one(db, material);
    },
  });

  api.route({
    method: 'post', path: '/materials', summary: 'create a draft material (audited)', tag: TAG, auth: WRITE, status: 201,
    body: createMaterialSchema, response: materialSchema,
    handler: async (input) => one(db, await createMaterial(deps, input.body, changedBy(input))),
  });

  api.route({
    method: 'patch', path: '/materials/:id', summary: 'change a draft or rejected material; a rejected one returns to draft (audited)', tag: TAG, auth: WRITE,
    params: idParams, body: updateMaterialSchema, response: materialSchema,
    handler: async (input) => one(db, await updateMaterial(deps, input.params.id, input.body, changedBy(input))),
  });

  api.route({
    method: 'post', path: '/materials/:id/submit', summary: 'submit a draft for compliance review; the compliance gate judges it first (audited)', tag: TAG, auth: WRITE,
    params: idParams, response: materialSchema,
    handler: async (input) => one(db, await submitMaterial(deps, input.params.id, changedBy(input))),
  });

  api.route({
    method: 'post', path: '/materials/:id/check', summary: 'run the compliance gate over a draft without submitting it: verdict, findings and the disclosures a submission would append (recorded)', tag: TAG, auth: WRITE,
    params: idParams,
    response: z.object({
      material: materialSchema,
      check: z.object({
        verdict: z.enum(['pass', 'warn', 'block']), findings: z.array(findingSchema), disclosures: z.array(z.string()), appended: z.array(z.string()),
        text: z.string(), ruleSetVersion: z.number().int(),
      }),
    }),
    handler: async (input) => {
      const { material, judgement } = await checkMaterial(deps, input.params.id, changedBy(input));
      const { verdict, findings, disclosures, appended, text, ruleSetVersion } = judgement;
      return { material: await one(db, material), check: { verdict, findings, disclosures, appended, text, ruleSetVersion } };
    },
  });

  api.route({
    method: 'post', path: '/materials/:id/approve', summary: 'approve a pending material (compliance; audited)', tag: TAG, auth: REVIEW,
    params: idParams, body: z.strictObject({ note: z.string().trim().max(500).nullish() }), response: materialSchema,
    handler: async (input) => one(db, await approveMaterial(deps, input.params.id, input.body.note || null, changedBy(input))),
  });

  api.route({
    method: 'post', path: '/materials/:id/reject', summary: 'reject a pending material with a note (compliance; audited)', tag: TAG, auth: REVIEW,
    params: idParams, body: z.strictObject({ note: z.string().trim().min(1).max(500) }), response: materialSchema,
    handler: async (input) => one(db, await rejectMaterial(db, input.params.id, input.body.note, changedBy(input))),
  });

  api.route({
    method: 'post', path: '/materials/:id/retire', summary: 'retire a material so it is no longer sent (audited)', tag: TAG, auth: WRITE,
    params: idParams, body: z.strictObject({ reason: z.string().trim().max(500).nullish() }), response: materialSchema,
    handler: async (input) => one(db, await retireMaterial(db, input.params.id, input.body.reason || null, changedBy(input))),
  });

  api.route({
    method: 'post', path: '/materials/:id/revise', summary: 'copy an approved or retired material into a new draft with the next version (audited)', tag: TAG, auth: WRITE,
    status: 201, params: idParams, response: materialSchema,
    handler: async (input) => one(db, await reviseMaterial(db, input.params.id, changedBy(input))),
  });
}
