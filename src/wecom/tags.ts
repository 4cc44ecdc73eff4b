import type { Db } from '../platform/db/database.js';
import type { TagSource } from '../platform/db/schema.js';
import { EVENTS, causeLabel, type Cause, type EventBus } from '../platform/events.js';
import { invalid, notFound } from '../platform/errors.js';
import { wecomApi } from './api.js';
import type { WeComGateway } from './client/index.js';
import { storeCorpTags } from './sync/store.js';

/**
 * Local changes to corp tags and to a customer's tags. WeCom raises no callback for changes made
 * through the API (REFERENCE §1), so each change is recorded here right after WeCom accepts it.
 */
interface Deps {
  db: Db;
  gateway: WeComGateway;
  events: EventBus;
}

export async function createCorpTags(deps: Deps, corpId: string, input: { groupId?: string; groupName?: string; tags: string[] }) {
  if (!input.groupId && !input.groupName) throw invalid('invalid body', [{ path: 'body.groupName', message: 'give groupId or groupName' }]);
  const api = wecomApi(deps.gateway.client(corpId, 'contact'));
  const group = await api.addCorpTags({ group_id: input.groupId, group_name: input.groupName, tag: input.tags.map((name) => ({ name })) });
  // Refresh the group from WeCom: add_corp_tag answers only the tags it created.
  await storeCorpTags(deps.db, corpId, await api.corpTags());
  return group;
}

export async function renameCorpTag(deps: Deps, corpId: string, id: string, name: string) {
  await wecomApi(deps.gateway.client(corpId, 'contact')).editCorpTag({ id, name });
  const tag = await deps.db.updateTable('wecom_tags').set({ name, synced_at: new Date() }).where('corp_id', '=', corpId).where('tag_id', '=', id).executeTakeFirst();
  if (Number(tag.numUpdatedRows) === 0) await deps.db.updateTable('wecom_tag_groups').set({ name, synced_at: new Date() }).where('corp_id', '=', corpId).where('group_id', '=', id).execute();
}

export async function deleteCorpTags(deps: Deps, corpId: string, input: { tagIds?: string[]; groupIds?: string[] }) {
  await wecomApi(deps.gateway.client(corpId, 'contact')).deleteCorpTags({ tag_id: input.tagIds, group_id: input.groupIds });
  const now = new Date();
  if (input.tagIds?.length) {
    await deps.db.updateTable('wecom_tags').set({ deleted_at: now }).where('corp_id', '=', corpId).where('tag_id', 'in', input.tagIds).execute();
    await deps.db.deleteFrom('wecom_contact_tags').where('corp_id', '=', corpId).where('tag_id', 'in', input.tagIds).execute();
  }
  if (input.groupIds?.length) {
    await deps.db.updateTable('wecom_tag_groups').set({ deleted_at: now }).where('corp_id', '=', corpId).where('group_id', 'in', input.groupIds).execute();
    const tags = await deps.db.updateTable('wecom_tags').set({ deleted_at: now }).where('corp_id', '=', corpId).where('group_id', 'in', input.groupIds).returning('tag_id').execute();
    if (tags.length) await deps.db.deleteFrom('wecom_contact_tags').where('corp_id', '=', corpId).where('tag_id', 'in', tags.map((t) => t.tag_id)).execute();
  }
}

/** Adds and removes corp tags on one follow relation, in WeCom and locally, with who caused it. */
export async function markContactTags(
  deps: Deps,
  input: { corpId: string; userid: string; externalUserid: string; add: string[]; remove: string[]; source: TagSource; cause: Cause },
) {
  const { db } = deps;
  const relation = await db
    .selectFrom('follow_relations')
    .select('userid')
    .where('corp_id', '=', input.corpId)
    .where('userid', '=', input.userid)
    .where('external_userid', '=', input.externalUserid)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!relation) throw notFound('follow relation');
  const known = await db.selectFrom('wecom_tags').select('tag_id').where('corp_id', '=', input.corpId).where('tag_id', 'in', [...input.add, ...input.remove, '']).where('deleted_at', 'is', null).execute();
  const unknown = [...input.add, ...input.remove].filter((t) => !known.some((k) => k.tag_id === t));
  if (unknown.length) throw invalid('invalid body', [{ path: 'body.add', message: `unknown tags: ${unknown.join(', ')}` }]);
  await wecomApi(deps.gateway.client(input.corpId, 'contact')).markTags({ userid: input.userid, external_userid: input.externalUserid, add_tag: input.add, remove_tag: input.remove });
  if (input.remove.length) {
    await db.deleteFrom('wecom_contact_tags').where('corp_id', '=', input.corpId).where('userid', '=', input.userid).where('external_userid', '=', input.externalUserid).where('tag_id', 'in', input.remove).execute();
  }
  if (input.add.length) {
    await db
      .insertInto('wecom_contact_tags')
      .values(input.add.map((tag_id) => ({ corp_id: input.corpId, userid: input.userid, external_userid: input.externalUserid, tag_id, source: input.source, cause: causeLabel(input.cause) })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
  deps.events.publish(EVENTS.tagsChanged, { corpId: input.corpId, externalUserid: input.externalUserid, added: input.add, removed: input.remove }, input.cause);
}

export async function listCorpTags(db: Db, corpId: string) {
  const groups = await db.selectFrom('wecom_tag_groups').selectAll().where('corp_id', '=', corpId).where('deleted_at', 'is', null).orderBy('sort_order', 'desc').execute();
  const tags = await db.selectFrom('wecom_tags').selectAll().where('corp_id', '=', corpId).where('deleted_at', 'is', null).orderBy('sort_order', 'desc').execute();
  return groups.map((g) => ({ groupId: g.group_id, name: g.name, tags: tags.filter((t) => t.group_id === g.group_id).map((t) => ({ id: t.tag_id, name: t.name })) }));
}
