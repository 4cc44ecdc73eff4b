import { sql } from 'kysely';
import type { Db } from '../platform/db/database.js';
import type { TagLayer } from '../platform/db/schema.js';
import type { Actor } from '../platform/http/context.js';
import { conflict, invalid, notFound } from '../platform/errors.js';
import { customerScope } from '../auth/index.js';
import { describeFilter, validateFilter, type FilterNode } from '../filters/index.js';

/**
 * Tag groups and tags: the catalogue the three layers write into. Fact and model groups belong to the
 * system (their jobs create them); staff create manual and rule groups. Tags are soft-deleted, so an
 * assignment's history and a WeCom link's tombstone survive.
 */
export const LAYER_ORDER: readonly TagLayer[] = ['fact', 'rule', 'model', 'manual'];

/**
 * Runs a set-based read over the whole customer base (writes go through writeCustomers(db, null, …), which plans
 * the same way). Hash and merge joins are the right plans there, and a nested loop is a disaster when
 * customer_tags' statistics are stale (right after a first bulk fill the planner still believes the table empty
 * and re-scans it per row), so nested loops are switched off for the transaction. Scoped runs (a few customers)
 * keep the planner's defaults, where index nested loops are best.
 */
export async function setBased<T>(db: Db, run: (db: Db) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await wholeBasePlans(trx);
    return run(trx);
  });
}

async function wholeBasePlans(trx: Db): Promise<void> {
  await sql`SET LOCAL enable_nestloop = off`.execute(trx);
  // Hashes of a few million (customer, tag) pairs stay in memory instead of spilling to temporary files.
  await sql`SET LOCAL work_mem = '256MB'`.execute(trx);
}

const BULK_WRITE_LOCK = sql`hashtext('customers.bulk-write')`;

/**
 * Whom a bulk write covers: the given customers; `'alone'`, any customers, with no other bulk writer at the same time
 * (a scoring page: a thousand customers of which a quiet night changes a handful, so locking them all would write
 * every customer row each night); or `null`, the whole base.
 */
export type BulkScope = readonly string[] | 'alone' | null;

/**
 * One transaction that writes the tags or scores of many customers. The triggers that keep customers.tag_nos and
 * customers.churn_band (migrations 0009 and 0018) update customer rows as each statement ends, in whatever order
 * its join yields them, so two such transactions over overlapping customers (the nightly fact tags and a scoring
 * run, a rule recompute and a customer batch of fact tags) could each hold rows the other waits for: a deadlock.
 *
 * - Given its customers, the transaction locks them all first, in id order, in one statement, under the shared
 *   bulk lock; every later trigger then finds its rows already held. Two such transactions wait for each other
 *   in one direction only.
 * - `'alone'` and `null` take the bulk lock exclusively and then run alone among bulk writers; `null` (the whole
 *   base, where locking a million rows first would write them all) also gets the whole-base planner settings of
 *   setBased.
 *
 * The advisory lock is taken before any row, so no transaction waits for it while holding customers. A change to
 * one customer (changeCustomerTags) or an import batch still locks rows in its own order; if PostgreSQL picks this
 * transaction as the victim of such a deadlock, it is run again (each is a self-contained set-based write), up to
 * three times.
 */
export async function writeCustomers<T>(db: Db, scope: BulkScope, run: (trx: Db) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(async (trx) => {
        if (scope === null || scope === 'alone') {
          await lockWholeBase(trx);
          if (scope === null) await wholeBasePlans(trx);
        } else {
          await sql`SELECT pg_advisory_xact_lock_shared(${BULK_WRITE_LOCK})`.execute(trx);
          await sql`SELECT 1 FROM customers WHERE id = ANY(${[...scope]}::uuid[]) ORDER BY id FOR NO KEY UPDATE`.execute(trx);
        }
        return run(trx);
      });
    } catch (error) {
      if ((error as { code?: string }).code !== '40P01' || attempt >= 3) throw error;
    }
  }
}

/** The exclusive bulk lock of writeCustomers(db, null, …), for a transaction that must begin with other work. */
export async function lockWholeBase(trx: Db): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(${BULK_WRITE_LOCK})`.execute(trx);
}

export const isUniqueViolation = (error: unknown) => (error as { code?: string }).code === '23505';

/** Creates the group when missing (concurrent callers are harmless) and returns its id. */
export async function ensureGroup(db: Db, group: { name: string; layer: TagLayer; exclusive: boolean; description: string }): Promise<string> {
  const row = await db
    .insertInto('tag_groups')
    .values(group)
    .onConflict((oc) => oc.column('name').doUpdateSet({ layer: group.layer, exclusive: group.exclusive }))
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Creates the live tags that are missing and returns name → id; created_at keeps the order given (lists sort by it). */
export async function ensureTags(db: Db, groupId: string, names: readonly string[], description: string): Promise<Map<string, string>> {
  if (!names.length) return new Map();
  const base = Date.now();
  await db
    .insertInto('tags')
    .values(names.map((name, i) => ({ group_id: groupId, name, description, created_at: new Date(base + i) })))
    .onConflict((oc) => oc.columns(['group_id', 'name']).where('deleted_at', 'is', null).doNothing())
    .execute();
  const rows = await db.selectFrom('tags').select(['id', 'name']).where('group_id', '=', groupId).where('name', 'in', [...names]).where('deleted_at', 'is', null).execute();
  return new Map(rows.map((r) => [r.name, r.id]));
}

/**
 * Tag references (a name in any group, or group:name) to ids, oldest tag first when a name is in
 * several groups; names found nowhere are created in `fallback` (a group made on first use).
 */
export async function resolveTagNames(db: Db, refs: readonly string[], fallback: { group: string; layer: TagLayer; description: string }): Promise<string[]> {
  const ids: string[] = [];
  const missing: string[] = [];
  for (const ref of refs) {
    const [group, name] = ref.includes(':') ? (ref.split(':', 2) as [string, string]) : [undefined, ref];
    let q = db.selectFrom('tags as t').innerJoin('tag_groups as g', 'g.id', 't.group_id').select('t.id').where('t.name', '=', name).where('t.deleted_at', 'is', null);
    if (group) q = q.where('g.name', '=', group);
    const found = await q.orderBy('t.created_at').executeTakeFirst();
    if (found) ids.push(found.id);
    else missing.push(name);
  }
  if (missing.length) {
    const groupId = await ensureGroup(db, { name: fallback.group, layer: fallback.layer, exclusive: false, description: fallback.description });
    const created = await ensureTags(db, groupId, missing, fallback.description);
    ids.push(...missing.map((n) => created.get(n)!));
  }
  return ids;
}

export async function createGroup(db: Db, input: { name: string; layer: 'manual' | 'rule'; exclusive: boolean; description?: string }) {
  try {
    return await db
      .insertInto('tag_groups')
      .values({ name: input.name, layer: input.layer, exclusive: input.exclusive, description: input.description ?? null })
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`a tag group named ${input.name} exists`);
    throw error;
  }
}

/** A live tag with its group, or 404. */
export async function tagWithGroup(db: Db, tagId: string) {
  const row = await db
    .selectFrom('tags as t')
    .innerJoin('tag_groups as g', 'g.id', 't.group_id')
    .select(['t.id', 't.name', 't.rule', 't.description', 't.group_id', 't.wecom_corp_id', 't.wecom_tag_id', 't.updated_at', 'g.name as group_name', 'g.layer', 'g.exclusive'])
    .where('t.id', '=', tagId)
    .where('t.deleted_at', 'is', null)
    .executeTakeFirst();
  if (!row) throw notFound('tag');
  return row;
}

export async function groupById(db: Db, groupId: string) {
  const group = await db.selectFrom('tag_groups').selectAll().where('id', '=', groupId).executeTakeFirst();
  if (!group) throw invalid('invalid body', [{ path: 'body.groupId', message: 'no such tag group' }]);
  return group;
}

/** Checks what a new tag's group allows: staff add tags to manual and rule groups only; rule groups need a rule. */
export function checkTagFits(group: { layer: TagLayer; exclusive: boolean }, input: { rule?: unknown; linked: boolean }): void {
  if (group.layer === 'fact' || group.layer === 'model') {
    throw invalid('invalid body', [{ path: 'body.groupId', message: `${group.layer} groups are maintained by the system` }]);
  }
  if (group.layer === 'rule' && input.rule === undefined) throw invalid('invalid body', [{ path: 'body.rule', message: 'a tag in a rule group needs a rule' }]);
  if (group.layer === 'manual' && input.rule !== undefined) throw invalid('invalid body', [{ path: 'body.rule', message: 'tags in a manual group have no rule; use a rule group' }]);
  if (input.linked && group.exclusive) {
    throw invalid('invalid body', [{ path: 'body.wecom', message: 'a tag in an exclusive group cannot be linked to WeCom (corp tags have no exclusivity)' }]);
  }
}

export async function insertTag(db: Db, input: { groupId: string; name: string; rule?: FilterNode; description?: string; wecom?: { corpId: string; tagId: string }; createdBy: string }) {
  try {
    return await db
      .insertInto('tags')
      .values({
        group_id: input.groupId,
        name: input.name,
        rule: input.rule ? JSON.stringify(input.rule) : null,
        description: input.description ?? null,
        wecom_corp_id: input.wecom?.corpId ?? null,
        wecom_tag_id: input.wecom?.tagId ?? null,
        created_by: input.createdBy,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`tag ${input.name} exists in the group, or the WeCom tag is linked already`);
    throw error;
  }
}

export async function updateTag(db: Db, tagId: string, change: { name?: string; description?: string | null; rule?: unknown }) {
  const tag = await tagWithGroup(db, tagId);
  let rule: FilterNode | undefined;
  if (change.rule !== undefined) {
    if (tag.layer !== 'rule') throw invalid('invalid body', [{ path: 'body.rule', message: 'only tags in a rule group have a rule' }]);
    rule = validateFilter(change.rule, 'body.rule');
  }
  try {
    return await db
      .updateTable('tags')
      .set({
        ...(change.name !== undefined ? { name: change.name } : {}),
        ...(change.description !== undefined ? { description: change.description } : {}),
        ...(rule ? { rule: JSON.stringify(rule) } : {}),
        updated_at: new Date(),
      })
      .where('id', '=', tagId)
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`tag ${change.name} exists in the group`);
    throw error;
  }
}

/** Soft delete: the tag disappears from lists and filters, and every assignment goes, in one transaction. */
export async function deleteTag(db: Db, tagId: string): Promise<{ removedAssignments: number }> {
  const tag = await tagWithGroup(db, tagId);
  if (tag.layer === 'fact' || tag.layer === 'model') throw conflict(`${tag.layer} tags are maintained by the system`);
  return db.transaction().execute(async (trx) => {
    await lockWholeBase(trx);
    await trx.updateTable('tags').set({ deleted_at: new Date(), updated_at: new Date() }).where('id', '=', tagId).execute();
    const removed = await trx.deleteFrom('customer_tags').where('tag_id', '=', tagId).executeTakeFirst();
    return { removedAssignments: Number(removed.numDeletedRows) };
  });
}

const ruleText = (rule: unknown): string | null => {
  if (!rule) return null;
  try {
    return describeFilter(rule as FilterNode);
  } catch {
    return '（规则已失效，请修改）';
  }
};

/** Groups with their live tags and, per tag, how many of the actor's customers hold it. */
export async function listCatalog(db: Db, actor: Actor) {
  const groups = await db.selectFrom('tag_groups').selectAll().orderBy('name').execute();
  const tags = await db.selectFrom('tags').selectAll().where('deleted_at', 'is', null).orderBy('created_at').orderBy('id').execute();
  const wholeBank = actor.role === 'admin' || actor.role === 'ops' || actor.role === 'compliance';
  const counts = wholeBank
    ? await db.selectFrom('customer_tags').select(['tag_id', sql<number>`count(*)::int`.as('n')]).groupBy('tag_id').execute()
    : await db
        .selectFrom('customer_tags')
        .innerJoin('customers', 'customers.id', 'customer_tags.customer_id')
        .where(customerScope(actor))
        .select(['customer_tags.tag_id', sql<number>`count(*)::int`.as('n')])
        .groupBy('customer_tags.tag_id')
        .execute();
  const countOf = new Map(counts.map((c) => [c.tag_id, c.n]));
  const byLayer = (a: { layer: TagLayer }, b: { layer: TagLayer }) => LAYER_ORDER.indexOf(a.layer) - LAYER_ORDER.indexOf(b.layer);
  return [...groups].sort(byLayer).map((g) => ({
    id: g.id,
    name: g.name,
    layer: g.layer,
    exclusive: g.exclusive,
    description: g.description,
    tags: tags
      .filter((t) => t.group_id === g.id)
      .map((t) => ({
        id: t.id,
        name: t.name,
        description: t.description,
        rule: t.rule,
        ruleText: ruleText(t.rule),
        wecom: t.wecom_tag_id ? { corpId: t.wecom_corp_id, tagId: t.wecom_tag_id } : null,
        customers: countOf.get(t.id) ?? 0,
      })),
  }));
}

/** A customer's tags with where each came from; the caller has already checked the customer is in scope. */
export async function customerTags(db: Db, customerId: string) {
  const rows = await db
    .selectFrom('customer_tags as ct')
    .innerJoin('tags as t', 't.id', 'ct.tag_id')
    .innerJoin('tag_groups as g', 'g.id', 't.group_id')
    .select(['t.id', 't.name', 'g.id as group_id', 'g.name as group_name', 'g.layer', 'g.exclusive', 'ct.source', 'ct.cause', 'ct.assigned_at', 't.wecom_corp_id', 't.wecom_tag_id'])
    .where('ct.customer_id', '=', customerId)
    .where('t.deleted_at', 'is', null)
    .orderBy('g.name')
    .orderBy('t.name')
    .execute();
  return rows.map((r) => ({
    tagId: r.id,
    name: r.name,
    groupId: r.group_id,
    group: r.group_name,
    layer: r.layer,
    exclusive: r.exclusive,
    source: r.source,
    cause: r.cause,
    assignedAt: r.assigned_at,
    wecom: r.wecom_tag_id ? { corpId: r.wecom_corp_id, tagId: r.wecom_tag_id } : null,
  }));
}

/** 404 unless the customer exists and the actor may see them. */
export async function customerInScope(db: Db, actor: Actor, customerId: string): Promise<void> {
  const row = await db.selectFrom('customers').select('id').where('id', '=', customerId).where(customerScope(actor)).executeTakeFirst();
  if (!row) throw notFound('customer');
}
