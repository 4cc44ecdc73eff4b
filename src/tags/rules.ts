import { sql, type Expression } from 'kysely';
import type { Db } from '../platform/db/database.js';
import { invalid } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { compileFilter, describeFilter, type FilterNode } from '../filters/index.js';
import { changeCustomerTags } from './assign.js';
import { setBased, tagWithGroup, writeCustomers } from './catalog.js';
import type { PushDeps } from './wecom.js';

/**
 * Rule tags: a tag in a rule group whose filter tree (tags.rule) says who holds it. A recompute makes the
 * tag's assignments exactly the customers the rule selects now, in one set-based statement: assignments no
 * longer matching are deleted, new matches inserted (source 'rule', cause "规则：<the rule in Chinese>").
 *
 * Exclusive rule groups: each customer holds at most the FIRST matching rule tag of the group, in the order
 * the tags were created (earliest first). Recomputing any tag of such a group recomputes the whole group in
 * one statement (a CASE over the rules in that order), so the group stays exclusive and a customer moves from
 * one tag to another atomically. Rule groups hold only rule-assigned tags: staff cannot assign them by hand.
 *
 * Linked rule tags (in a non-exclusive group, linked to a WeCom corp tag): the rule owns the tag in WeCom too.
 * Customers with no live relation in the corp change set-based; the others one by one through
 * changeCustomerTags, which changes WeCom first and keeps a customer's local state when WeCom refuses (counted
 * in `failed`; the next recompute tries again).
 */
export interface RuleOptions {
  now: Date;
  /** Needed for tags linked to WeCom. */
  wecom?: PushDeps;
  logger?: Logger;
}

export interface RuleResult {
  tagIds: string[];
  added: number;
  removed: number;
  /** Linked tags: customers changed in WeCom and those WeCom refused (kept as they were). */
  pushed?: number;
  failed?: number;
}

const causeOf = (rule: FilterNode) => `规则：${describeFilter(rule)}`;

export async function recomputeRuleTag(db: Db, tagId: string, options: RuleOptions): Promise<RuleResult> {
  const tag = await tagWithGroup(db, tagId);
  if (tag.layer !== 'rule' || !tag.rule) throw invalid('not a rule tag', [{ path: 'tagId', message: 'the tag has no rule' }]);
  if (tag.exclusive) return recomputeExclusiveGroup(db, tag.group_id, options.now);
  const rule = tag.rule as FilterNode;
  if (tag.wecom_corp_id && tag.wecom_tag_id) {
    if (!options.wecom) throw new Error(`rule tag ${tagId} is linked to WeCom: recomputing it needs the WeCom deps`);
    return recomputeLinked(options.wecom, { id: tagId, corpId: tag.wecom_corp_id, rule }, options);
  }
  const counts = await applyWanted(db, [tagId], sql`SELECT c.id AS customer_id, ${tagId}::uuid AS tag_id, ${causeOf(rule)}::text AS cause FROM customers c WHERE ${compileFilter(rule, { now: options.now })}`, options.now);
  return { tagIds: [tagId], ...counts };
}

/**
 * The set-based core: `wanted` yields (customer_id, tag_id, cause); afterwards the assignments of `tagIds` are
 * exactly those rows. Kept rows get the current cause (a changed rule is explained by its new text).
 */
async function applyWanted(db: Db, tagIds: string[], wanted: Expression<unknown>, now: Date): Promise<{ added: number; removed: number }> {
  const statement = sql<{ added: number; removed: number }>`
    WITH want AS (${wanted}),
    removed AS (
      DELETE FROM customer_tags ct WHERE ct.tag_id = ANY(${tagIds}::uuid[])
        AND NOT EXISTS (SELECT 1 FROM want w WHERE w.customer_id = ct.customer_id AND w.tag_id = ct.tag_id)
      RETURNING 1
    ),
    recaused AS (
      UPDATE customer_tags ct SET cause = w.cause FROM want w
      WHERE ct.customer_id = w.customer_id AND ct.tag_id = w.tag_id AND ct.cause IS DISTINCT FROM w.cause
    ),
    added AS (
      INSERT INTO customer_tags (customer_id, tag_id, source, cause, assigned_at)
      SELECT w.customer_id, w.tag_id, 'rule', w.cause, ${now} FROM want w
      WHERE NOT EXISTS (SELECT 1 FROM customer_tags ct WHERE ct.customer_id = w.customer_id AND ct.tag_id = w.tag_id)
      ON CONFLICT (customer_id, tag_id) DO NOTHING
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM added)::int AS added, (SELECT count(*) FROM removed)::int AS removed`;
  const result = await writeCustomers(db, null, (trx) => statement.execute(trx));
  return result.rows[0] ?? { added: 0, removed: 0 };
}

export async function recomputeExclusiveGroup(db: Db, groupId: string, now: Date): Promise<RuleResult> {
  const tags = await db.selectFrom('tags').select(['id', 'rule']).where('group_id', '=', groupId).where('deleted_at', 'is', null).orderBy('created_at').orderBy('id').execute();
  const tagIds = tags.map((t) => t.id);
  const rules = tags.filter((t) => t.rule).map((t) => ({ id: t.id, rule: t.rule as FilterNode }));
  if (!rules.length) {
    const removed = await writeCustomers(db, null, (trx) =>
      trx.deleteFrom('customer_tags').where('tag_id', 'in', [...tagIds, '00000000-0000-0000-0000-000000000000']).executeTakeFirst());
    return { tagIds, added: 0, removed: Number(removed.numDeletedRows) };
  }
  const first = sql.join(rules.map((r) => sql`WHEN ${compileFilter(r.rule, { now })} THEN ${r.id}::uuid`), sql` `);
  const causes = sql.join(rules.map((r) => sql`(${r.id}::uuid, ${causeOf(r.rule)}::text)`));
  const wanted = sql`SELECT m.customer_id, m.tag_id, r.cause
    FROM (SELECT c.id AS customer_id, CASE ${first} END AS tag_id FROM customers c) m
    JOIN (VALUES ${causes}) AS r(tag_id, cause) ON r.tag_id = m.tag_id`;
  return { tagIds, ...(await applyWanted(db, tagIds, wanted, now)) };
}

/** A linked rule tag: set-based where WeCom has nothing to say, one customer at a time where it has. */
async function recomputeLinked(deps: PushDeps, tag: { id: string; corpId: string; rule: FilterNode }, options: RuleOptions): Promise<RuleResult> {
  const { db } = deps;
  const match = compileFilter(tag.rule, { now: options.now });
  const cause = causeOf(tag.rule);
  const related = (customer: string) => sql<boolean>`EXISTS (SELECT 1 FROM external_contacts ec
    JOIN follow_relations fr ON fr.corp_id = ec.corp_id AND fr.external_userid = ec.external_userid AND fr.deleted_at IS NULL
    WHERE ec.customer_id = ${sql.ref(customer)} AND ec.corp_id = ${tag.corpId})`;
  const deltaQuery = sql<{ customer_id: string; change: 'add' | 'remove'; related: boolean }>`
    SELECT c.id AS customer_id, 'add' AS change, ${related('c.id')} AS related FROM customers c
    WHERE ${match} AND NOT EXISTS (SELECT 1 FROM customer_tags ct WHERE ct.customer_id = c.id AND ct.tag_id = ${tag.id}::uuid)
    UNION ALL
    SELECT ct.customer_id, 'remove', ${related('ct.customer_id')} FROM customer_tags ct
    WHERE ct.tag_id = ${tag.id}::uuid AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = ct.customer_id AND ${match})`;
  const delta = await setBased(db, (d) => deltaQuery.execute(d));
  const local = (change: 'add' | 'remove') => delta.rows.filter((r) => !r.related && r.change === change).map((r) => r.customer_id);
  const gone = local('remove');
  const fresh = local('add');
  // Arrays, not one parameter per row: a first computation may touch hundreds of thousands of customers.
  await writeCustomers(db, [...gone, ...fresh], async (trx) => {
    if (gone.length) await sql`DELETE FROM customer_tags WHERE tag_id = ${tag.id}::uuid AND customer_id = ANY(${gone}::uuid[])`.execute(trx);
    if (fresh.length) {
      await sql`INSERT INTO customer_tags (customer_id, tag_id, source, cause, assigned_at)
        SELECT id, ${tag.id}::uuid, 'rule', ${cause}, ${options.now} FROM unnest(${fresh}::uuid[]) AS f(id)
        ON CONFLICT (customer_id, tag_id) DO NOTHING`.execute(trx);
    }
    await trx.updateTable('customer_tags').set({ cause }).where('tag_id', '=', tag.id).where('cause', 'is distinct from', cause).execute();
  });
  const result = { tagIds: [tag.id], added: fresh.length, removed: gone.length, pushed: 0, failed: 0 };
  for (const row of delta.rows.filter((r) => r.related)) {
    const change = row.change === 'add' ? { add: [tag.id], remove: [] } : { add: [], remove: [tag.id] };
    try {
      await changeCustomerTags(deps, { customerId: row.customer_id, ...change, source: 'rule', cause: { type: 'system', id: `rule:${tag.id}` }, causeText: cause });
      result.pushed++;
      result[row.change === 'add' ? 'added' : 'removed']++;
    } catch (error) {
      result.failed++;
      options.logger?.warn({ err: error, tagId: tag.id, customerId: row.customer_id }, 'rule tag change refused by WeCom; customer kept as they were');
    }
  }
  return result;
}

/** Every live rule tag, each exclusive group once, in creation order; a broken rule is logged and skipped. */
export async function recomputeAllRuleTags(db: Db, options: RuleOptions): Promise<{ tags: number; added: number; removed: number; errors: number }> {
  const tags = await db
    .selectFrom('tags as t')
    .innerJoin('tag_groups as g', 'g.id', 't.group_id')
    .select(['t.id', 't.group_id', 'g.exclusive'])
    .where('g.layer', '=', 'rule')
    .where('t.deleted_at', 'is', null)
    .where('t.rule', 'is not', null)
    .orderBy('t.created_at')
    .orderBy('t.id')
    .execute();
  const doneGroups = new Set<string>();
  const summary = { tags: 0, added: 0, removed: 0, errors: 0 };
  for (const t of tags) {
    if (t.exclusive && doneGroups.has(t.group_id)) continue;
    doneGroups.add(t.group_id);
    try {
      const r = await recomputeRuleTag(db, t.id, options);
      summary.tags += r.tagIds.length;
      summary.added += r.added;
      summary.removed += r.removed;
    } catch (error) {
      summary.errors++;
      options.logger?.error({ err: error, tagId: t.id }, 'rule tag recompute failed');
    }
  }
  return summary;
}
