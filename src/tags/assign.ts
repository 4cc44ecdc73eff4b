import { causeLabel, type Cause } from '../platform/events.js';
import type { CustomerTagSource, TagLayer } from '../platform/db/schema.js';
import { invalid, notFound, type FieldIssue } from '../platform/errors.js';
import { pushToWecom, type LinkedTag, type PushDeps, type RelationRef } from './wecom.js';

/**
 * One customer's tags changed by a person or a process (member, SOP, rule, import): the single path that
 * keeps exclusive groups exclusive and linked tags in step with WeCom.
 *
 * 1. Validate: every tag exists and is live, is in an allowed layer, is not both added and removed, and at
 *    most one tag per exclusive group is added.
 * 2. The effective change: adding a tag the customer holds, or removing one they do not, is a no-op (and
 *    calls nobody). Adding a tag of an exclusive group also removes the other tag(s) of that group.
 * 3. Linked tags go to WeCom first, on every live relation (pushToWecom). If WeCom refuses, TagSyncError is
 *    thrown and nothing is written locally. With no live relation nothing is called and the change is
 *    recorded locally all the same.
 * 4. The local write, in one transaction holding the customer's row lock, so two concurrent assignments to
 *    the same exclusive group cannot both stay.
 */
export type AssignSource = Exclude<CustomerTagSource, 'fact' | 'wecom'>;

export interface TagChange {
  customerId: string;
  add: readonly string[];
  remove: readonly string[];
  source: AssignSource;
  cause: Cause;
  /** What customer_tags.cause says; default the cause's label (e.g. member:<staff id>). */
  causeText?: string;
}

export interface ChangeOptions {
  /** Only tags of these layers may be changed; default any. */
  layers?: readonly TagLayer[];
  /** Prefix of issue paths, e.g. 'body.' gives 'body.add.0'. */
  path?: string;
}

export interface ChangeResult {
  added: string[];
  removed: string[];
  /** Relations WeCom accepted the change on. */
  wecom: RelationRef[];
}

const unique = (ids: readonly string[]) => [...new Set(ids)];

export async function changeCustomerTags(deps: PushDeps, change: TagChange, options: ChangeOptions = {}): Promise<ChangeResult> {
  const { db } = deps;
  const prefix = options.path ?? '';
  const ids = unique([...change.add, ...change.remove]);
  const rows = ids.length
    ? await db
        .selectFrom('tags as t')
        .innerJoin('tag_groups as g', 'g.id', 't.group_id')
        .select(['t.id', 't.group_id', 't.wecom_corp_id', 't.wecom_tag_id', 'g.layer', 'g.exclusive'])
        .where('t.id', 'in', ids)
        .where('t.deleted_at', 'is', null)
        .execute()
    : [];
  const byId = new Map(rows.map((r) => [r.id, r]));
  const issues: FieldIssue[] = [];
  const exclusiveAdds = new Map<string, string>();
  for (const key of ['add', 'remove'] as const) {
    change[key].forEach((id, i) => {
      const tag = byId.get(id);
      const path = `${prefix}${key}.${i}`;
      if (!tag) issues.push({ path, message: 'no such tag' });
      else if (options.layers && !options.layers.includes(tag.layer)) issues.push({ path, message: `${tag.layer} tags are computed, not assigned by hand` });
      else if (key === 'remove' && change.add.includes(id)) issues.push({ path, message: 'the tag is also in add' });
      else if (key === 'add' && tag.exclusive) {
        const other = exclusiveAdds.get(tag.group_id);
        if (other && other !== id) issues.push({ path, message: 'at most one tag of an exclusive group per customer' });
        exclusiveAdds.set(tag.group_id, id);
      }
    });
  }
  if (issues.length) throw invalid('invalid tags', issues);
  const customer = await db.selectFrom('customers').select('id').where('id', '=', change.customerId).executeTakeFirst();
  if (!customer) throw notFound('customer');

  const groupIds = unique(rows.map((r) => r.group_id));
  const current = groupIds.length
    ? await db
        .selectFrom('customer_tags as ct')
        .innerJoin('tags as t', 't.id', 'ct.tag_id')
        .select(['ct.tag_id', 't.group_id', 't.wecom_corp_id', 't.wecom_tag_id'])
        .where('ct.customer_id', '=', change.customerId)
        .where('t.group_id', 'in', groupIds)
        .execute()
    : [];
  const held = new Set(current.map((c) => c.tag_id));
  const add = unique(change.add).filter((id) => !held.has(id));
  const addedGroups = new Set(add.filter((id) => byId.get(id)!.exclusive).map((id) => byId.get(id)!.group_id));
  const displaced = current.filter((c) => addedGroups.has(c.group_id) && !change.add.includes(c.tag_id)).map((c) => c.tag_id);
  const remove = unique([...change.remove.filter((id) => held.has(id)), ...displaced]);
  if (!add.length && !remove.length) return { added: [], removed: [], wecom: [] };

  const linkOf = new Map<string, LinkedTag>();
  for (const t of [...rows, ...current.map((c) => ({ id: c.tag_id, ...c }))]) {
    if (t.wecom_corp_id && t.wecom_tag_id) linkOf.set(t.id, { corpId: t.wecom_corp_id, wecomTagId: t.wecom_tag_id });
  }
  const linked = (list: string[]) => list.flatMap((id) => (linkOf.has(id) ? [linkOf.get(id)!] : []));
  const linkedAdd = linked(add);
  const linkedRemove = linked(remove);
  const wecom = linkedAdd.length || linkedRemove.length
    ? await pushToWecom(deps, { customerId: change.customerId, add: linkedAdd, remove: linkedRemove, source: change.source, cause: change.cause })
    : [];

  const cause = change.causeText ?? causeLabel(change.cause);
  const now = new Date();
  await db.transaction().execute(async (trx) => {
    await trx.selectFrom('customers').select('id').where('id', '=', change.customerId).forUpdate().execute();
    if (remove.length) await trx.deleteFrom('customer_tags').where('customer_id', '=', change.customerId).where('tag_id', 'in', remove).execute();
    for (const groupId of addedGroups) {
      // Group-wide, so an assignment that raced in since the read above is replaced too.
      await trx
        .deleteFrom('customer_tags')
        .where('customer_id', '=', change.customerId)
        .where('tag_id', 'in', (eb) => eb.selectFrom('tags').select('id').where('group_id', '=', groupId))
        .where('tag_id', 'not in', add)
        .execute();
    }
    if (add.length) {
      await trx
        .insertInto('customer_tags')
        .values(add.map((tag_id) => ({ customer_id: change.customerId, tag_id, source: change.source, cause, assigned_at: now })))
        .onConflict((oc) => oc.columns(['customer_id', 'tag_id']).doUpdateSet({ source: change.source, cause, assigned_at: now }))
        .execute();
    }
  });
  return { added: add, removed: remove, wecom };
}
