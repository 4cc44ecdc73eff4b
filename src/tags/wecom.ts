import { sql } from 'kysely';
import type { Db } from '../platform/db/database.js';
import type { TagSource } from '../platform/db/schema.js';
import { AppError, type FieldIssue } from '../platform/errors.js';
import type { Cause, EventBus } from '../platform/events.js';
import { WeComUnavailableError, type WeComGateway } from '../wecom/client/index.js';
import { markContactTags } from '../wecom/tags.js';
import { writeCustomers } from './catalog.js';

/**
 * Local tags linked to WeCom corp tags (tags.wecom_corp_id + wecom_tag_id), both ways.
 *
 * WeCom → local (mirrorWecomTags): for a linked customer (external_contacts.customer_id) who has at least one
 * live follow relation in the corp, a linked tag is held exactly when one of those relations carries the corp
 * tag in wecom_contact_tags (the union over relations). Missing assignments are added with source 'wecom',
 * assignments no relation carries any more are removed. A customer with no live relation in the corp keeps
 * what they have (nothing to mirror from). A corp tag seen on a relation with no local tag linked to it (live
 * or deleted) gets one, in the manual group '企业标签·<WeCom group name>'.
 *
 * Local → WeCom (pushToWecom): markContactTags on every live relation of the customer, one call per relation,
 * with a cause marked as ours (ownCause) so the tags.changed event it publishes is not mirrored back.
 */
export const OWN_ORIGIN = 'tags';
export const WECOM_GROUP_PREFIX = '企业标签·';

/** The cause, marked as coming from this module's own WeCom calls (the loop guard reads the mark). */
export const ownCause = (cause: Cause): Cause & { origin: string } => Object.assign({}, cause, { origin: OWN_ORIGIN });
export const isOwnCause = (cause: Cause): boolean => (cause as { origin?: unknown }).origin === OWN_ORIGIN;

export interface PushDeps {
  db: Db;
  gateway: WeComGateway;
  events: EventBus;
}

export interface RelationRef {
  corpId: string;
  userid: string;
  externalUserid: string;
}

export interface LinkedTag {
  corpId: string;
  wecomTagId: string;
}

/**
 * WeCom refused a change for one relation. Relations before it in `applied` kept the change (WeCom has no
 * transactions); `skipped` were not tried. The caller leaves the customer's local tags unchanged; calling
 * again with the same change completes it (marking tags is idempotent in WeCom).
 */
export class TagSyncError extends AppError {
  constructor(
    readonly applied: RelationRef[],
    readonly failed: RelationRef & { error: string },
    readonly skipped: RelationRef[],
    reason: unknown,
  ) {
    const name = (r: RelationRef) => `${r.userid}→${r.externalUserid}`;
    const issue = (r: RelationRef, message: string): FieldIssue => ({ path: `wecom.${r.corpId}.${name(r)}`, message });
    const head = applied.length
      ? `WeCom accepted the change for ${applied.map(name).join(', ')} but refused it for ${name(failed)}`
      : `WeCom refused the change for ${name(failed)}`;
    super(reason instanceof WeComUnavailableError ? 'unavailable' : 'conflict', `${head} (${failed.error}); the customer's tags are unchanged here, retry to complete`, {
      code: applied.length ? 'wecom_partial' : 'wecom_refused',
      issues: [...applied.map((r) => issue(r, 'applied in WeCom')), issue(failed, failed.error), ...skipped.map((r) => issue(r, 'not attempted'))],
    });
    this.name = 'TagSyncError';
  }
}

/** The customer's live follow relations, ordered (so partial failures are reproducible). */
export async function liveRelations(db: Db, customerId: string, corpId?: string): Promise<RelationRef[]> {
  let q = db
    .selectFrom('external_contacts as ec')
    .innerJoin('follow_relations as fr', (j) => j.onRef('fr.corp_id', '=', 'ec.corp_id').onRef('fr.external_userid', '=', 'ec.external_userid'))
    .select(['fr.corp_id as corpId', 'fr.userid', 'fr.external_userid as externalUserid'])
    .where('ec.customer_id', '=', customerId)
    .where('fr.deleted_at', 'is', null);
  if (corpId) q = q.where('ec.corp_id', '=', corpId);
  return q.orderBy('fr.corp_id').orderBy('fr.userid').orderBy('fr.external_userid').execute();
}

/** Applies linked-tag changes in WeCom on every live relation; throws TagSyncError at the first refusal. */
export async function pushToWecom(
  deps: PushDeps,
  input: { customerId: string; add: LinkedTag[]; remove: LinkedTag[]; source: TagSource; cause: Cause },
): Promise<RelationRef[]> {
  const corps = [...new Set([...input.add, ...input.remove].map((t) => t.corpId))].sort();
  const plan: { relation: RelationRef; add: string[]; remove: string[] }[] = [];
  for (const corpId of corps) {
    const add = input.add.filter((t) => t.corpId === corpId).map((t) => t.wecomTagId);
    const remove = input.remove.filter((t) => t.corpId === corpId).map((t) => t.wecomTagId);
    for (const relation of await liveRelations(deps.db, input.customerId, corpId)) plan.push({ relation, add, remove });
  }
  const applied: RelationRef[] = [];
  for (const [index, step] of plan.entries()) {
    try {
      await markContactTags(deps, { ...step.relation, add: step.add, remove: step.remove, source: input.source, cause: ownCause(input.cause) });
      applied.push(step.relation);
    } catch (error) {
      const skipped = plan.slice(index + 1).map((s) => s.relation);
      throw new TagSyncError(applied, { ...step.relation, error: (error as Error).message }, skipped, error);
    }
  }
  return applied;
}

export interface MirrorOptions {
  corpId: string;
  /** Only these customers (a tags.changed event); default every linked customer of the corp. */
  customerIds?: readonly string[];
  /** Written to customer_tags.cause, e.g. 'wecom:member:ZhangWei' or 'wecom:sync'. */
  cause: string;
  now?: Date;
}

export interface MirrorResult {
  tagsCreated: number;
  added: number;
  removed: number;
}

/** Local tags for corp tags seen on the customers' relations that no local tag (live or deleted) links to. */
async function createSeenTags(db: Db, options: MirrorOptions, scope: (column: string) => ReturnType<typeof sql>): Promise<number> {
  const seen = await sql<{ tag_id: string; name: string; group_name: string }>`
    SELECT DISTINCT wt.tag_id, wt.name, wg.name AS group_name
    FROM wecom_contact_tags wct
    JOIN follow_relations fr ON fr.corp_id = wct.corp_id AND fr.userid = wct.userid AND fr.external_userid = wct.external_userid AND fr.deleted_at IS NULL
    JOIN external_contacts ec ON ec.corp_id = wct.corp_id AND ec.external_userid = wct.external_userid AND ec.customer_id IS NOT NULL
    JOIN wecom_tags wt ON wt.corp_id = wct.corp_id AND wt.tag_id = wct.tag_id AND wt.deleted_at IS NULL
    JOIN wecom_tag_groups wg ON wg.corp_id = wt.corp_id AND wg.group_id = wt.group_id
    WHERE wct.corp_id = ${options.corpId} ${scope('ec.customer_id')}
      AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.wecom_corp_id = wct.corp_id AND t.wecom_tag_id = wct.tag_id)`.execute(db);
  let created = 0;
  for (const groupName of new Set(seen.rows.map((r) => r.group_name))) {
    const name = WECOM_GROUP_PREFIX + groupName;
    await db.insertInto('tag_groups').values({ name, layer: 'manual', exclusive: false, description: '企业微信企业标签（自动同步）' }).onConflict((oc) => oc.column('name').doNothing()).execute();
    const group = await db.selectFrom('tag_groups').select(['id', 'layer', 'exclusive']).where('name', '=', name).executeTakeFirstOrThrow();
    // A same-named group of another kind is never taken over; those corp tags stay unmirrored.
    if (group.layer !== 'manual' || group.exclusive) continue;
    const rows = seen.rows.filter((r) => r.group_name === groupName);
    const inserted = await db
      .insertInto('tags')
      .values(rows.map((r) => ({ group_id: group.id, name: r.name, wecom_corp_id: options.corpId, wecom_tag_id: r.tag_id, description: '企业微信企业标签' })))
      .onConflict((oc) => oc.doNothing())
      .returning('id')
      .execute();
    created += inserted.length;
  }
  return created;
}

export async function mirrorWecomTags(db: Db, options: MirrorOptions): Promise<MirrorResult> {
  const ids = options.customerIds ? [...options.customerIds] : null;
  if (ids && !ids.length) return { tagsCreated: 0, added: 0, removed: 0 };
  const scope = (column: string) => (ids ? sql`AND ${sql.ref(column)} = ANY(${ids}::uuid[])` : sql``);
  const tagsCreated = await createSeenTags(db, options, scope);
  const corpId = options.corpId;
  const statement = sql<{ added: number; removed: number }>`
    WITH carried AS (
      SELECT DISTINCT ec.customer_id, t.id AS tag_id
      FROM wecom_contact_tags wct
      JOIN follow_relations fr ON fr.corp_id = wct.corp_id AND fr.userid = wct.userid AND fr.external_userid = wct.external_userid AND fr.deleted_at IS NULL
      JOIN external_contacts ec ON ec.corp_id = wct.corp_id AND ec.external_userid = wct.external_userid AND ec.customer_id IS NOT NULL
      JOIN wecom_tags wt ON wt.corp_id = wct.corp_id AND wt.tag_id = wct.tag_id AND wt.deleted_at IS NULL
      JOIN tags t ON t.wecom_corp_id = wct.corp_id AND t.wecom_tag_id = wct.tag_id AND t.deleted_at IS NULL
      WHERE wct.corp_id = ${corpId} ${scope('ec.customer_id')}
    ),
    contacts AS (
      SELECT DISTINCT ec.customer_id
      FROM external_contacts ec
      JOIN follow_relations fr ON fr.corp_id = ec.corp_id AND fr.external_userid = ec.external_userid AND fr.deleted_at IS NULL
      WHERE ec.corp_id = ${corpId} AND ec.customer_id IS NOT NULL ${scope('ec.customer_id')}
    ),
    removed AS (
      DELETE FROM customer_tags ct USING tags t
      WHERE t.id = ct.tag_id AND t.wecom_corp_id = ${corpId} AND t.wecom_tag_id IS NOT NULL AND t.deleted_at IS NULL ${scope('ct.customer_id')}
        AND ct.customer_id IN (SELECT customer_id FROM contacts)
        AND NOT EXISTS (SELECT 1 FROM carried c WHERE c.customer_id = ct.customer_id AND c.tag_id = ct.tag_id)
      RETURNING 1
    ),
    added AS (
      INSERT INTO customer_tags (customer_id, tag_id, source, cause, assigned_at)
      SELECT c.customer_id, c.tag_id, 'wecom', ${options.cause}, ${options.now ?? new Date()} FROM carried c
      ${ids ? sql`` : sql`WHERE NOT EXISTS (SELECT 1 FROM customer_tags ct WHERE ct.customer_id = c.customer_id AND ct.tag_id = c.tag_id)`}
      ON CONFLICT (customer_id, tag_id) DO NOTHING
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM added)::int AS added, (SELECT count(*) FROM removed)::int AS removed`;
  const result = await writeCustomers(db, ids, (trx) => statement.execute(trx));
  const counts = result.rows[0] ?? { added: 0, removed: 0 };
  return { tagsCreated, ...counts };
}

/** The customers linked to a WeCom contact (normally one). */
export async function customersOfContact(db: Db, corpId: string, externalUserid: string): Promise<string[]> {
  const rows = await db.selectFrom('external_contacts').select('customer_id').where('corp_id', '=', corpId).where('external_userid', '=', externalUserid).where('customer_id', 'is not', null).execute();
  return rows.map((r) => r.customer_id!);
}
