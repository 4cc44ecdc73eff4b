import { sql } from 'kysely';
import type { Db } from '../../platform/db/database.js';
import type { ExternalContact, FollowInfo, GroupChat, TagGroup } from '../api.js';

/**
 * Writes what WeCom says into the local tables. Used by the full reconcile and by the event
 * handlers alike, so both paths store a contact the same way. Each function reports whether it
 * changed anything, which the reconcile turns into its drift report.
 */
const seconds = (s: number | undefined) => (s ? new Date(s * 1000) : null);

export async function upsertContact(db: Db, corpId: string, c: ExternalContact): Promise<'added' | 'updated' | 'same'> {
  const before = await db
    .selectFrom('external_contacts')
    .select(['name', 'unionid', 'gender'])
    .where('corp_id', '=', corpId)
    .where('external_userid', '=', c.external_userid)
    .executeTakeFirst();
  const values = { name: c.name, type: c.type, gender: c.gender ?? null, unionid: c.unionid || null, avatar: c.avatar ?? null, synced_at: new Date() };
  const changed = !before || before.name !== values.name || before.unionid !== values.unionid || before.gender !== values.gender;
  await db
    .insertInto('external_contacts')
    .values({ corp_id: corpId, external_userid: c.external_userid, customer_id: null, ...values })
    .onConflict((oc) => oc.columns(['corp_id', 'external_userid']).doUpdateSet(changed ? { ...values, updated_at: new Date() } : { synced_at: values.synced_at }))
    .execute();
  return !before ? 'added' : changed ? 'updated' : 'same';
}

export interface RelationChange {
  result: 'added' | 'updated' | 'restored' | 'same';
}

export async function upsertRelation(db: Db, corpId: string, externalUserid: string, f: FollowInfo, contactWayId: string | null): Promise<RelationChange['result']> {
  const before = await db
    .selectFrom('follow_relations')
    .select(['remark', 'description', 'remark_mobiles', 'state', 'deleted_at'])
    .where('corp_id', '=', corpId)
    .where('userid', '=', f.userid)
    .where('external_userid', '=', externalUserid)
    .executeTakeFirst();
  const values = {
    // WeCom sends '' for an unset remark or description; store one form of "nothing".
    remark: f.remark || null,
    description: f.description || null,
    remark_mobiles: (f.remark_mobiles ?? []).filter(Boolean),
    add_way: f.add_way ?? null,
    state: f.state || null,
    added_at: seconds(f.createtime),
    deleted_at: null,
    deleted_by: null,
    synced_at: new Date(),
    updated_at: new Date(),
  };
  await db
    .insertInto('follow_relations')
    .values({ corp_id: corpId, userid: f.userid, external_userid: externalUserid, ...values, contact_way_id: contactWayId })
    .onConflict((oc) =>
      oc.columns(['corp_id', 'userid', 'external_userid']).doUpdateSet({ ...values, contact_way_id: sql`COALESCE(follow_relations.contact_way_id, ${contactWayId})` }),
    )
    .execute();
  if (!before) return 'added';
  if (before.deleted_at) return 'restored';
  const same =
    before.remark === values.remark &&
    before.description === values.description &&
    before.state === values.state &&
    JSON.stringify(before.remark_mobiles) === JSON.stringify(values.remark_mobiles);
  return same ? 'same' : 'updated';
}

/** Replaces the WeCom-sourced corp tags of one relation; returns what was added and removed. */
export async function replaceRelationTags(db: Db, corpId: string, userid: string, externalUserid: string, tagIds: string[]): Promise<{ added: string[]; removed: string[] }> {
  const current = await db
    .selectFrom('wecom_contact_tags')
    .select('tag_id')
    .where('corp_id', '=', corpId)
    .where('userid', '=', userid)
    .where('external_userid', '=', externalUserid)
    .execute();
  const have = new Set(current.map((r) => r.tag_id));
  const want = new Set(tagIds);
  const added = [...want].filter((t) => !have.has(t));
  const removed = [...have].filter((t) => !want.has(t));
  if (removed.length) {
    await db.deleteFrom('wecom_contact_tags').where('corp_id', '=', corpId).where('userid', '=', userid).where('external_userid', '=', externalUserid).where('tag_id', 'in', removed).execute();
  }
  if (added.length) {
    await db
      .insertInto('wecom_contact_tags')
      .values(added.map((tag_id) => ({ corp_id: corpId, userid, external_userid: externalUserid, tag_id, source: 'wecom' as const, cause: 'wecom-sync' })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
  await db.updateTable('follow_relations').set({ tags_synced_at: new Date() }).where('corp_id', '=', corpId).where('userid', '=', userid).where('external_userid', '=', externalUserid).execute();
  return { added, removed };
}

export async function markRelationDeleted(db: Db, corpId: string, userid: string, externalUserid: string, by: 'member' | 'customer' | 'transfer' | null): Promise<boolean> {
  const result = await db
    .updateTable('follow_relations')
    .set({ deleted_at: new Date(), deleted_by: by, updated_at: new Date() })
    .where('corp_id', '=', corpId)
    .where('userid', '=', userid)
    .where('external_userid', '=', externalUserid)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Stores the whole corp tag list; tags and groups no longer listed are marked deleted. */
export async function storeCorpTags(db: Db, corpId: string, groups: TagGroup[]): Promise<{ added: number; updated: number; removed: number }> {
  const report = { added: 0, updated: 0, removed: 0 };
  const seenGroups: string[] = [];
  const seenTags: string[] = [];
  await db.transaction().execute(async (trx) => {
    const existing = await trx.selectFrom('wecom_tags').select(['tag_id', 'name', 'group_id', 'deleted_at']).where('corp_id', '=', corpId).execute();
    const byId = new Map(existing.map((t) => [t.tag_id, t]));
    for (const g of groups) {
      seenGroups.push(g.group_id);
      const gv = { name: g.group_name, sort_order: g.order ?? 0, created_at: seconds(g.create_time), deleted_at: null, synced_at: new Date() };
      await trx.insertInto('wecom_tag_groups').values({ corp_id: corpId, group_id: g.group_id, ...gv }).onConflict((oc) => oc.columns(['corp_id', 'group_id']).doUpdateSet(gv)).execute();
      for (const t of g.tag) {
        seenTags.push(t.id);
        const old = byId.get(t.id);
        if (!old || old.deleted_at) report.added++;
        else if (old.name !== t.name || old.group_id !== g.group_id) report.updated++;
        const tv = { group_id: g.group_id, name: t.name, sort_order: t.order ?? 0, created_at: seconds(t.create_time), deleted_at: null, synced_at: new Date() };
        await trx.insertInto('wecom_tags').values({ corp_id: corpId, tag_id: t.id, ...tv }).onConflict((oc) => oc.columns(['corp_id', 'tag_id']).doUpdateSet(tv)).execute();
      }
    }
    let gone = trx.updateTable('wecom_tags').set({ deleted_at: new Date() }).where('corp_id', '=', corpId).where('deleted_at', 'is', null);
    if (seenTags.length) gone = gone.where('tag_id', 'not in', seenTags);
    report.removed = Number((await gone.executeTakeFirst()).numUpdatedRows);
    let goneGroups = trx.updateTable('wecom_tag_groups').set({ deleted_at: new Date() }).where('corp_id', '=', corpId).where('deleted_at', 'is', null);
    if (seenGroups.length) goneGroups = goneGroups.where('group_id', 'not in', seenGroups);
    await goneGroups.execute();
  });
  return report;
}

export async function storeGroupChat(db: Db, corpId: string, chat: GroupChat, status = 0): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const values = {
      name: chat.name,
      owner: chat.owner,
      notice: chat.notice ?? null,
      status,
      member_version: chat.member_version ?? null,
      created_at: seconds(chat.create_time),
      dismissed_at: null,
      synced_at: new Date(),
    };
    await trx.insertInto('wecom_groups').values({ corp_id: corpId, chat_id: chat.chat_id, ...values }).onConflict((oc) => oc.columns(['corp_id', 'chat_id']).doUpdateSet(values)).execute();
    await trx.deleteFrom('wecom_group_members').where('corp_id', '=', corpId).where('chat_id', '=', chat.chat_id).execute();
    if (chat.member_list.length) {
      await trx
        .insertInto('wecom_group_members')
        .values(
          chat.member_list.map((m) => ({
            corp_id: corpId,
            chat_id: chat.chat_id,
            member_id: m.userid,
            type: m.type,
            unionid: m.unionid ?? null,
            name: m.name ?? m.group_nickname ?? null,
            join_time: seconds(m.join_time),
            join_scene: m.join_scene ?? null,
            invitor: m.invitor?.userid ?? null,
          })),
        )
        .execute();
    }
  });
}

export async function contactWayIdForState(db: Db, corpId: string, state: string | undefined | null): Promise<string | null> {
  if (!state) return null;
  const row = await db.selectFrom('wecom_contact_ways').select('id').where('corp_id', '=', corpId).where('state', '=', state).where('deleted_at', 'is', null).executeTakeFirst();
  return row?.id ?? null;
}
