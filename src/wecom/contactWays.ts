import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../platform/db/database.js';
import { AppError, conflict, invalid, notFound } from '../platform/errors.js';
import { wecomApi } from './api.js';
import type { WeComGateway } from './client/index.js';

/**
 * Channel QR codes (联系我, REFERENCE §4): one per member or group of members, each with a `state`
 * (≤ 30 characters) that WeCom echoes in the add event, so every customer a code brings is
 * attributed to it. The local row is written first to reserve the state, then WeCom is called; if
 * WeCom refuses, the row is removed, so nothing is left half-made.
 */
export interface ContactWayInput {
  corpId: string;
  name: string;
  members: string[];
  state?: string;
  remark?: string;
  skipVerify?: boolean;
  welcomeText?: string | null;
}

const newState = () => `qr-${randomBytes(6).toString('base64url')}`;

async function checkMembers(db: Db, corpId: string, members: string[]): Promise<void> {
  const known = await db
    .selectFrom('staff')
    .select('wecom_userid')
    .where('corp_id', '=', corpId)
    .where('wecom_userid', 'in', members)
    .where('active', '=', true)
    .union(db.selectFrom('wecom_members').select('userid as wecom_userid').where('corp_id', '=', corpId).where('userid', 'in', members).where('deleted_at', 'is', null))
    .execute();
  const found = new Set(known.map((k) => k.wecom_userid));
  const missing = members.filter((m) => !found.has(m));
  if (missing.length) throw invalid('invalid body', [{ path: 'body.members', message: `unknown WeCom members: ${missing.join(', ')}` }]);
}

export async function createContactWay(deps: { db: Db; gateway: WeComGateway }, input: ContactWayInput, createdBy: string | null) {
  const { db } = deps;
  const state = input.state ?? newState();
  await checkMembers(db, input.corpId, input.members);
  const type = input.members.length > 1 ? 2 : 1;
  const reserved = await db
    .insertInto('wecom_contact_ways')
    .values({
      corp_id: input.corpId,
      config_id: null,
      type,
      scene: 2,
      state,
      name: input.name,
      remark: input.remark ?? null,
      members: input.members,
      skip_verify: input.skipVerify ?? true,
      qr_code: null,
      welcome_text: input.welcomeText ?? null,
      welcome_attachments: JSON.stringify([]),
      created_by: createdBy,
      deleted_at: null,
    })
    .onConflict((oc) => oc.columns(['corp_id', 'state']).where('deleted_at', 'is', null).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!reserved) throw conflict(`state ${state} is already used by another channel code`);
  try {
    const api = wecomApi(deps.gateway.client(input.corpId, 'contact'));
    const created = await api.addContactWay({ type: type as 1 | 2, scene: 2, remark: input.remark, skip_verify: input.skipVerify ?? true, state, user: input.members });
    await db.updateTable('wecom_contact_ways').set({ config_id: created.config_id, qr_code: created.qr_code ?? null, updated_at: new Date() }).where('id', '=', reserved.id).execute();
    return { id: reserved.id, state, configId: created.config_id, qrCode: created.qr_code ?? null };
  } catch (error) {
    await db.deleteFrom('wecom_contact_ways').where('id', '=', reserved.id).execute();
    throw error;
  }
}

export async function updateContactWay(deps: { db: Db; gateway: WeComGateway }, id: string, changes: { name?: string; members?: string[]; remark?: string; skipVerify?: boolean; welcomeText?: string | null }) {
  const { db } = deps;
  const way = await db.selectFrom('wecom_contact_ways').selectAll().where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
  if (!way) throw notFound('contact way');
  if (changes.members) {
    await checkMembers(db, way.corp_id, changes.members);
    if (way.type === 1 && changes.members.length !== 1) throw invalid('invalid body', [{ path: 'body.members', message: 'a single-member code keeps exactly one member' }]);
  }
  if (way.config_id && (changes.members || changes.remark !== undefined || changes.skipVerify !== undefined)) {
    await wecomApi(deps.gateway.client(way.corp_id, 'contact')).updateContactWay({
      config_id: way.config_id,
      ...(changes.members ? { user: changes.members } : {}),
      ...(changes.remark !== undefined ? { remark: changes.remark } : {}),
      ...(changes.skipVerify !== undefined ? { skip_verify: changes.skipVerify } : {}),
    });
  }
  await db
    .updateTable('wecom_contact_ways')
    .set({
      ...(changes.name ? { name: changes.name } : {}),
      ...(changes.members ? { members: changes.members } : {}),
      ...(changes.remark !== undefined ? { remark: changes.remark } : {}),
      ...(changes.skipVerify !== undefined ? { skip_verify: changes.skipVerify } : {}),
      ...(changes.welcomeText !== undefined ? { welcome_text: changes.welcomeText } : {}),
      updated_at: new Date(),
    })
    .where('id', '=', id)
    .execute();
}

export async function deleteContactWay(deps: { db: Db; gateway: WeComGateway }, id: string) {
  const way = await deps.db.selectFrom('wecom_contact_ways').selectAll().where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
  if (!way) throw notFound('contact way');
  if (way.config_id) await wecomApi(deps.gateway.client(way.corp_id, 'contact')).deleteContactWay(way.config_id);
  await deps.db.updateTable('wecom_contact_ways').set({ deleted_at: new Date(), updated_at: new Date() }).where('id', '=', id).execute();
}

/** Codes with how many customers each has brought (live relations and all-time). */
export async function listContactWays(db: Db, corpId: string) {
  return db
    .selectFrom('wecom_contact_ways as w')
    .leftJoin('follow_relations as fr', 'fr.contact_way_id', 'w.id')
    .select([
      'w.id',
      'w.corp_id',
      'w.name',
      'w.state',
      'w.config_id',
      'w.qr_code',
      'w.members',
      'w.type',
      'w.remark',
      'w.skip_verify',
      'w.welcome_text',
      'w.created_at',
      sql<number>`count(fr.external_userid)::int`.as('customers_total'),
      sql<number>`count(fr.external_userid) FILTER (WHERE fr.deleted_at IS NULL)::int`.as('customers_active'),
    ])
    .where('w.corp_id', '=', corpId)
    .where('w.deleted_at', 'is', null)
    .groupBy('w.id')
    .orderBy('w.created_at', 'desc')
    .execute();
}

/**
 * Members a code may name: the synced WeCom directory, and staff bound to a member (so a corp not
 * synced yet still offers its account managers). Staff names win; `staffId` says who is bound.
 */
export async function listMembers(db: Db, corpId: string) {
  const [members, staff] = await Promise.all([
    db.selectFrom('wecom_members').select(['userid', 'name']).where('corp_id', '=', corpId).where('deleted_at', 'is', null).execute(),
    db.selectFrom('staff').select(['id', 'display_name', 'wecom_userid', 'branch_id']).where('corp_id', '=', corpId).where('wecom_userid', 'is not', null).where('active', '=', true).execute(),
  ]);
  const byUserid = new Map<string, { userid: string; name: string; staffId: string | null; branchId: string | null }>();
  for (const m of members) byUserid.set(m.userid, { userid: m.userid, name: m.name, staffId: null, branchId: null });
  for (const s of staff) byUserid.set(s.wecom_userid!, { userid: s.wecom_userid!, name: s.display_name, staffId: s.id, branchId: s.branch_id });
  return [...byUserid.values()].sort((a, b) => a.userid.localeCompare(b.userid));
}

const IMAGE_MAX_BYTES = 512 * 1024;

/**
 * A code's QR image, fetched from its `qr_code` URL for the console (the page then loads nothing
 * from another origin). For the sandbox corp the same path is asked of the sandbox, which plays
 * WeCom's image host.
 */
export async function contactWayImage(db: Db, id: string): Promise<{ type: string; body: Buffer }> {
  const row = await db
    .selectFrom('wecom_contact_ways as w')
    .innerJoin('corps as c', 'c.corp_id', 'w.corp_id')
    .select(['w.qr_code', 'c.source', 'c.api_base'])
    .where('w.id', '=', id)
    .where('w.deleted_at', 'is', null)
    .executeTakeFirst();
  if (!row?.qr_code) throw notFound('QR image');
  let url = new URL(row.qr_code);
  if (row.source === 'sandbox' && row.api_base) url = new URL(`${url.pathname}${url.search}`, new URL(row.api_base).origin);
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  } catch (error) {
    throw new AppError('unavailable', `QR image could not be fetched: ${(error as Error).message}`);
  }
  const type = response.headers.get('content-type') ?? '';
  if (!response.ok || !type.startsWith('image/')) throw new AppError('unavailable', `QR image answered ${response.status} ${type}`);
  const body = Buffer.from(await response.arrayBuffer());
  if (body.length > IMAGE_MAX_BYTES) throw new AppError('unavailable', 'QR image too large');
  return { type: type.split(';')[0]!.trim(), body };
}
