import { z } from 'zod';
import { describeFilter, filterNodeSchema, type FilterNode } from '../filters/index.js';
import { cronProblem } from './cron.js';

/**
 * What `segments.definition` holds, one shape per selection method (客群圈选方式), and the request bodies that
 * create and change segments. Explicit customers (fixed, imported, custom) live in `segment_members`, not in the
 * definition: include = true adds, include = false (custom only) excludes.
 */
export const SEGMENT_METHODS = ['fixed', 'rule', 'derived', 'score', 'imported', 'custom'] as const;
export type SegmentMethod = (typeof SEGMENT_METHODS)[number];

/** Fields a model-score segment may test: the columns of customer_scores the grammar knows. */
export const SCORE_FIELDS: readonly string[] = ['churn_probability', 'churn_band', 'rfm_class', 'recency_score', 'frequency_score', 'monetary_score'];

export const SEGMENT_LIMITS = {
  /** Segments one derived segment combines directly. */
  parts: 20,
  /** Segments a derived definition may reach in all, itself excluded. */
  reachable: 50,
  /** Customer references (ids or CIF numbers) in one request. */
  refs: 100_000,
} as const;

/** Leaves of a tree whose field is not a score field, with their paths. */
function nonScoreLeaves(node: FilterNode, path: (string | number)[] = []): { path: (string | number)[]; field: string }[] {
  if ('all' in node) return node.all.flatMap((n, i) => nonScoreLeaves(n, [...path, 'all', i]));
  if ('any' in node) return node.any.flatMap((n, i) => nonScoreLeaves(n, [...path, 'any', i]));
  if ('not' in node) return nonScoreLeaves(node.not, [...path, 'not']);
  return SCORE_FIELDS.includes(node.field) ? [] : [{ path: [...path, 'field'], field: node.field }];
}

const scoreFilterSchema = filterNodeSchema.check((ctx) => {
  for (const leaf of nonScoreLeaves(ctx.value)) {
    ctx.issues.push({
      code: 'custom', path: leaf.path, input: ctx.value,
      message: `a model score segment tests only score fields (${SCORE_FIELDS.join(', ')}), not '${leaf.field}'`,
    });
  }
});

const propensitySchema = z.strictObject({
  productId: z.string().trim().min(1).max(64),
  minScore: z.number().min(0).max(1),
});

export const segmentDefinitionSchema = z.discriminatedUnion('method', [
  z.strictObject({ method: z.literal('fixed') }),
  z.strictObject({ method: z.literal('rule'), filter: filterNodeSchema }),
  z.strictObject({
    method: z.literal('derived'),
    /** difference: the first segment minus every later one. */
    op: z.enum(['union', 'intersection', 'difference']),
    segments: z.array(z.uuid().transform((id) => id.toLowerCase())).min(2).max(SEGMENT_LIMITS.parts)
      .refine((ids) => new Set(ids).size === ids.length, 'a segment is listed twice'),
  }),
  z.strictObject({ method: z.literal('score'), filter: scoreFilterSchema.optional(), propensity: propensitySchema.optional() })
    .refine((d) => d.filter !== undefined || d.propensity !== undefined, { message: 'give a score filter, a propensity condition or both', path: ['filter'] }),
  z.strictObject({ method: z.literal('imported'), source: z.string().trim().max(200).optional() }),
  z.strictObject({ method: z.literal('custom'), filter: filterNodeSchema }),
]);

export type SegmentDefinition = z.output<typeof segmentDefinitionSchema>;
export type DerivedDefinition = Extract<SegmentDefinition, { method: 'derived' }>;
export type BaseDefinition = Exclude<SegmentDefinition, DerivedDefinition>;

/** Customers named by id (uuid) or CIF number. */
export const customerRefsSchema = z.array(z.string().trim().min(1).max(64)).max(SEGMENT_LIMITS.refs);

export const memberChangesSchema = z.strictObject({
  /** fixed and custom: becomes a member (in custom, also lifts an exclusion). */
  add: customerRefsSchema.optional(),
  /** fixed and custom: no longer listed (in custom the rule alone decides again). */
  remove: customerRefsSchema.optional(),
  /** custom only: never a member, whatever the rule says. */
  exclude: customerRefsSchema.optional(),
});
export type MemberChanges = z.output<typeof memberChangesSchema>;

const cronSchema = z.string().trim().max(100).superRefine((value, ctx) => {
  const problem = cronProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `not a cron expression: ${problem}` });
});

export const createSegmentSchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  description: z.string().trim().max(1000).nullable().optional(),
  refreshCron: cronSchema.nullable().optional(),
  definition: segmentDefinitionSchema,
  members: memberChangesSchema.optional(),
  /** imported: the uploaded CIF numbers (replacing the list on update). */
  cifs: customerRefsSchema.optional(),
});
export type CreateSegment = z.output<typeof createSegmentSchema>;

export const updateSegmentSchema = createSegmentSchema.partial().refine((b) => Object.keys(b).length > 0, 'nothing to change');
export type UpdateSegment = z.output<typeof updateSegmentSchema>;

export interface FieldProblem { path: string; message: string }

/** Which member inputs a method takes; problems name the body field. */
export function memberInputProblems(method: SegmentMethod, body: { members?: MemberChanges; cifs?: string[] }, creating: boolean): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const m = body.members;
  if (m && method !== 'fixed' && method !== 'custom') problems.push({ path: 'body.members', message: `a ${method} segment has no hand-picked members` });
  if (m?.exclude && method === 'fixed') problems.push({ path: 'body.members.exclude', message: 'only a custom segment excludes customers; remove them instead' });
  if (body.cifs && method !== 'imported') problems.push({ path: 'body.cifs', message: 'only an imported segment takes a CIF list' });
  if (creating && method === 'imported' && !body.cifs) problems.push({ path: 'body.cifs', message: 'an imported segment needs the uploaded CIF numbers' });
  return problems;
}

/** A Chinese one-liner for lists and audit details; derived segments name their parts (names by id). */
export function describeDefinition(d: SegmentDefinition, names: ReadonlyMap<string, string> = new Map()): string {
  switch (d.method) {
    case 'fixed': return '固定名单';
    case 'imported': return d.source ? `导入名单（${d.source}）` : '导入名单';
    case 'rule': return describeFilter(d.filter);
    case 'custom': return `${describeFilter(d.filter)}，另加手工添加与排除`;
    case 'score': {
      const parts = d.filter ? [describeFilter(d.filter)] : [];
      if (d.propensity) parts.push(`产品 ${d.propensity.productId} 倾向分 ≥ ${d.propensity.minScore}`);
      return parts.join(' 且 ');
    }
    case 'derived': {
      const label = (id: string) => `「${names.get(id) ?? id}」`;
      const [first, ...rest] = d.segments;
      if (d.op === 'difference') return `${label(first!)} 排除 ${rest.map(label).join('、')}`;
      return d.segments.map(label).join(d.op === 'union' ? ' 或 ' : ' 且 ');
    }
  }
}
