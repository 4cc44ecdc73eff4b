import { sql, type Kysely } from 'kysely';
import type { Database } from '../platform/db/schema.js';
import type { ChurnBand } from './churn.js';
import { RFM_CLASSES, type RfmClass } from './rfm.js';

/**
 * The model layer's tag groups. They belong to the scoring job: each run sets, per batch and in the batch's
 * transaction, the customer_tags rows of the scored customers in these three groups (writing only what changed).
 */
export const RFM_GROUP = 'RFM分类';
export const CHURN_GROUP = '流失风险';
export const PRODUCT_GROUP = '产品偏好';
export const CHURN_TAG_NAMES: Record<ChurnBand, string> = { low: '低', medium: '中', high: '高' };

type Db = Kysely<Database>;

export interface ModelTags {
  groupIds: string[];
  productGroupId: string;
  rfm: Map<RfmClass, string>;
  churn: Map<ChurnBand, string>;
  /** Product name → tag id, filled on demand by ensureProductTags. */
  product: Map<string, string>;
}

export interface TagAssignment {
  customerId: string;
  tagId: string;
}

async function ensureGroup(db: Db, name: string, exclusive: boolean, description: string): Promise<string> {
  const row = await db
    .insertInto('tag_groups')
    .values({ name, layer: 'model', exclusive, description })
    .onConflict((oc) => oc.column('name').doUpdateSet({ layer: 'model', exclusive }))
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Creates the live tags that are missing (concurrent runs are harmless) and returns name → id. */
async function ensureTags(db: Db, groupId: string, names: readonly string[]): Promise<Map<string, string>> {
  if (!names.length) return new Map();
  await db
    .insertInto('tags')
    .values(names.map((name) => ({ group_id: groupId, name, description: '评分模型生成' })))
    .onConflict((oc) => oc.columns(['group_id', 'name']).where('deleted_at', 'is', null).doNothing())
    .execute();
  const rows = await db
    .selectFrom('tags')
    .select(['id', 'name'])
    .where('group_id', '=', groupId)
    .where('name', 'in', [...names])
    .where('deleted_at', 'is', null)
    .execute();
  return new Map(rows.map((r) => [r.name, r.id]));
}

export async function ensureModelTags(db: Db): Promise<ModelTags> {
  const rfmGroup = await ensureGroup(db, RFM_GROUP, true, 'RFM模型：最近一次交易或联系、产品与交易频次、资产规模');
  const churnGroup = await ensureGroup(db, CHURN_GROUP, true, '流失风险模型（逻辑回归）：低 < 0.3 ≤ 中 < 0.6 ≤ 高');
  const productGroup = await ensureGroup(db, PRODUCT_GROUP, false, '产品偏好模型：协同过滤推荐的首选产品（已做适当性过滤）');
  const rfm = await ensureTags(db, rfmGroup, RFM_CLASSES);
  const churnByName = await ensureTags(db, churnGroup, Object.values(CHURN_TAG_NAMES));
  const churn = new Map<ChurnBand, string>();
  for (const band of ['low', 'medium', 'high'] as const) churn.set(band, churnByName.get(CHURN_TAG_NAMES[band])!);
  return { groupIds: [rfmGroup, churnGroup, productGroup], productGroupId: productGroup, rfm: rfm as Map<RfmClass, string>, churn, product: new Map() };
}

export async function ensureProductTags(db: Db, tags: ModelTags, names: Iterable<string>): Promise<void> {
  const missing = [...new Set(names)].filter((n) => !tags.product.has(n));
  for (const [name, id] of await ensureTags(db, tags.productGroupId, missing)) tags.product.set(name, id);
}

/**
 * Inside the batch transaction: makes the customers' tags in the model groups exactly `assignments`, writing only
 * what changed. A tag the customer no longer gets is deleted, a new one inserted with this run's cause and time,
 * and one the customer already holds is left as it is (its cause and time say when the model first gave it), so a
 * quiet night neither rewrites customer_tags nor, through 0009's tag triggers, the customer rows. A held tag that
 * was not written by the model (a member assigned a model tag by hand) is taken over: source, cause and time become
 * this run's, as the delete-and-insert this replaced made them.
 */
export async function replaceModelTags(trx: Db, tags: ModelTags, customerIds: readonly string[], assignments: readonly TagAssignment[], cause: string, at: Date): Promise<void> {
  if (!customerIds.length) return;
  const held = await trx
    .selectFrom('customer_tags')
    .select(['customer_id', 'tag_id', 'source'])
    .where('customer_id', 'in', [...customerIds])
    .where('tag_id', 'in', (eb) => eb.selectFrom('tags').select('id').where('group_id', 'in', tags.groupIds))
    .execute();
  const key = (customerId: string, tagId: string) => `${customerId} ${tagId}`;
  const wanted = new Map(assignments.map((a) => [key(a.customerId, a.tagId), a]));
  const gone: TagAssignment[] = [], takeOver: TagAssignment[] = [];
  for (const h of held) {
    const k = key(h.customer_id, h.tag_id);
    if (!wanted.has(k)) gone.push({ customerId: h.customer_id, tagId: h.tag_id });
    else {
      if (h.source !== 'model') takeOver.push({ customerId: h.customer_id, tagId: h.tag_id });
      wanted.delete(k);
    }
  }
  const pairs = (list: TagAssignment[]) => sql`(SELECT * FROM unnest(${list.map((a) => a.customerId)}::uuid[], ${list.map((a) => a.tagId)}::uuid[]) AS p(customer_id, tag_id))`;
  if (gone.length) {
    await sql`DELETE FROM customer_tags ct USING ${pairs(gone)} g WHERE ct.customer_id = g.customer_id AND ct.tag_id = g.tag_id`.execute(trx);
  }
  if (takeOver.length) {
    await sql`UPDATE customer_tags ct SET source = 'model', cause = ${cause}, assigned_at = ${at} FROM ${pairs(takeOver)} t
      WHERE ct.customer_id = t.customer_id AND ct.tag_id = t.tag_id`.execute(trx);
  }
  if (!wanted.size) return;
  await trx
    .insertInto('customer_tags')
    .values([...wanted.values()].map((a) => ({ customer_id: a.customerId, tag_id: a.tagId, source: 'model' as const, cause, assigned_at: at })))
    .onConflict((oc) => oc.columns(['customer_id', 'tag_id']).doNothing())
    .execute();
}
