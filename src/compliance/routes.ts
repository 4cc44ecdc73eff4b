import { z } from 'zod';
import { auditBy, recordAudit } from '../audit/index.js';
import { rolesFor } from '../auth/index.js';
import { staffNames } from '../auth/names.js';
import type { Db } from '../platform/db/database.js';
import type { Api } from '../platform/http/api.js';
import type { ComplianceGate } from './gate.js';
import { isKnownProduct } from './products.js';
import { decideReview, listReviews } from './reviews.js';
import { ruleInputSchema } from './rules.js';
import { listVersions, loadActiveRuleSet, loadRuleSet } from './store.js';

const riskLevel = z.enum(['R1', 'R2', 'R3', 'R4', 'R5']);

export const checkBodySchema = z.object({
  text: z.string().min(1).max(5000),
  productIds: z.array(z.string().max(60).refine(isKnownProduct, 'unknown product id')).max(20).default([]),
  purpose: z.enum(['marketing', 'service']).optional(),
  customer: z
    .object({
      riskLevel: riskLevel.nullable(),
      riskAssessedAt: z.union([z.iso.date(), z.iso.datetime({ offset: true })]).nullable(),
      marketingConsent: z.boolean(),
    })
    .optional(),
  /** Staff free text about to be sent: queue it for review when it reads like marketing and did not pass. */
  review: z.boolean().default(false),
});

const findingSchema = z.object({
  rule: z.string(),
  match: z.string(),
  start: z.number().int(),
  end: z.number().int(),
  kind: z.enum(['block', 'warn']),
  severity: z.enum(['high', 'medium']),
  message: z.string(),
});

const checkResponseSchema = z.object({
  verdict: z.enum(['pass', 'warn', 'block']),
  findings: z.array(findingSchema),
  disclosures: z.array(z.string()),
  appended: z.array(z.string()),
  text: z.string(),
  suppressed: z.array(z.object({ rule: z.string(), match: z.string(), start: z.number(), end: z.number(), context: z.string(), cue: z.string() })),
  suitability: z.array(z.object({ productId: z.string(), ok: z.boolean(), reason: z.string() })),
  consent: z.object({ required: z.boolean(), ok: z.boolean() }),
  ruleSetVersion: z.number().int(),
  reviewId: z.string().optional(),
});

export const publishBodySchema = z
  .object({
    note: z.string().trim().min(1).max(500),
    baseVersion: z.number().int().positive().optional(),
    rules: z.array(ruleInputSchema).min(1).max(2000).optional(),
    diff: z.object({ add: z.array(ruleInputSchema).max(500).default([]), remove: z.array(z.string().min(1).max(100)).max(500).default([]) }).optional(),
  })
  .refine((b) => (b.rules === undefined) !== (b.diff === undefined), { message: 'give either rules (the full list) or diff, not both', path: ['rules'] });

export function registerComplianceRoutes(api: Api, deps: { db: Db; gate: ComplianceGate }): void {
  const { db, gate } = deps;

  api.route({
    method: 'post',
    path: '/compliance/check',
    summary: 'check an outbound message against the active compliance rules (audited)',
    tag: 'compliance',
    auth: 'any',
    body: checkBodySchema,
    response: checkResponseSchema,
    handler: async ({ body, actor, ctx }) =>
      gate.checkAndRecord(
        { text: body.text, productIds: body.productIds, purpose: body.purpose, customer: body.customer },
        { actorType: 'staff', actorId: actor!.id, ip: ctx.ip, requestId: ctx.state.requestId, source: 'api' },
        { freeText: body.review },
      ),
  });

  api.route({
    method: 'get',
    path: '/compliance/rules',
    summary: 'the active compliance rule set (or ?version=N) with its rules',
    tag: 'compliance',
    auth: 'any',
    query: z.object({ version: z.coerce.number().int().positive().optional() }),
    handler: async ({ query }) => (query.version ? loadRuleSet(db, query.version) : loadActiveRuleSet(db)),
  });

  api.route({
    method: 'get',
    path: '/compliance/rules/versions',
    summary: 'every compliance rule-set version, newest first',
    tag: 'compliance',
    auth: 'any',
    handler: async () => ({ items: await listVersions(db) }),
  });

  api.route({
    method: 'post',
    path: '/compliance/rules',
    summary: 'publish a new compliance rule-set version (full list or diff; audited)',
    tag: 'compliance',
    auth: rolesFor('compliance.manage'),
    body: publishBodySchema,
    status: 201,
    handler: async ({ body, actor, ctx }) => {
      const published = await gate.publishRules(body, actor!.id);
      await recordAudit(
        db,
        auditBy(actor!, { ip: ctx.ip, requestId: ctx.state.requestId })('compliance.rules.publish', {
          targetType: 'compliance_rule_set',
          targetId: String(published.version.version),
          outcome: 'success',
          detail: { version: published.version.version, basedOn: published.version.basedOn, note: body.note, added: published.added, removed: published.removed },
        }),
      );
      return { ...published.version, added: published.added, removed: published.removed };
    },
  });

  api.route({
    method: 'get',
    path: '/compliance/reviews',
    summary: 'the review queue of staff texts held by the compliance gate, with the names of author and reviewer',
    tag: 'compliance',
    auth: rolesFor('compliance.manage'),
    query: z.object({ status: z.enum(['pending', 'approved', 'rejected']).optional(), limit: z.coerce.number().int().min(1).max(500).default(100) }),
    handler: async ({ query }) => {
      const items = await listReviews(db, query);
      const names = await staffNames(db, items.flatMap((r) => [r.authorId, r.reviewerId]));
      const name = (id: string | null) => (id && names.get(id)) || null;
      return { items: items.map((r) => ({ ...r, authorName: name(r.authorId), reviewerName: name(r.reviewerId) })) };
    },
  });

  api.route({
    method: 'post',
    path: '/compliance/reviews/:id/decision',
    summary: 'approve or reject a held text (audited)',
    tag: 'compliance',
    auth: rolesFor('compliance.manage'),
    params: z.object({ id: z.uuid() }),
    body: z.object({ approve: z.boolean(), note: z.string().trim().max(500).nullish() }),
    handler: async ({ params, body, actor, ctx }) => {
      const review = await decideReview(db, params.id, { reviewerId: actor!.id, approve: body.approve, note: body.note ?? null });
      await recordAudit(
        db,
        auditBy(actor!, { ip: ctx.ip, requestId: ctx.state.requestId })('compliance.review.decide', {
          targetType: 'compliance_review',
          targetId: review.id,
          outcome: 'success',
          detail: { approve: body.approve, verdict: review.verdict, authorId: review.authorId },
        }),
      );
      return review;
    },
  });
}
