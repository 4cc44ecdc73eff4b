import { randomInt } from 'node:crypto';
import { sql, type Selectable } from 'kysely';
import type { Db } from '../platform/db/database.js';
import type { CardEventKind, CardShareChannel, CardShareRow, Role } from '../platform/db/schema.js';
import type { Actor } from '../platform/http/context.js';

/**
 * The cards' tables: profiles (what a card shows), shares (links that record who shared them and
 * whom an add through them is credited to) and events (views, shares, scans, customers added,
 * product views). Statistics and the list of customers a card brought are read here, scoped to
 * what the caller may see (cardScope).
 */

/** A member who has a card: active staff with a WeCom account. */
export interface CardOwner {
  id: string;
  name: string;
  role: Role;
  staffTitle: string | null;
  branchId: string | null;
  branchName: string | null;
  corpId: string;
  userid: string;
}

export interface CardProfile {
  photoUrl: string | null;
  title: string | null;
  qualifications: string[];
  intro: string;
  theme: string | null;
  featuredProductIds: string[];
  featuredMaterialIds: string[];
  version: number;
  updatedAt: Date | null;
  updatedBy: string | null;
}

export const EMPTY_PROFILE: CardProfile = {
  photoUrl: null, title: null, qualifications: [], intro: '', theme: null, featuredProductIds: [], featuredMaterialIds: [], version: 0, updatedAt: null, updatedBy: null,
};

export async function cardOwner(db: Db, staffId: string): Promise<CardOwner | undefined> {
  const row = await db
    .selectFrom('staff as s')
    .leftJoin('branches as b', 'b.id', 's.branch_id')
    .select(['s.id', 's.display_name', 's.role', 's.title', 's.branch_id', 'b.name as branch_name', 's.corp_id', 's.wecom_userid'])
    .where('s.id', '=', staffId)
    .where('s.active', '=', true)
    .executeTakeFirst();
  if (!row?.corp_id || !row.wecom_userid) return undefined;
  return { id: row.id, name: row.display_name, role: row.role, staffTitle: row.title, branchId: row.branch_id, branchName: row.branch_name, corpId: row.corp_id, userid: row.wecom_userid };
}

export async function cardOwnerByUserid(db: Db, corpId: string, userid: string): Promise<CardOwner | undefined> {
  const row = await db.selectFrom('staff').select('id').where('corp_id', '=', corpId).where('wecom_userid', '=', userid).where('active', '=', true).executeTakeFirst();
  return row ? cardOwner(db, row.id) : undefined;
}

export async function loadProfile(db: Db, staffId: string): Promise<CardProfile> {
  const row = await db.selectFrom('card_profiles').selectAll().where('staff_id', '=', staffId).executeTakeFirst();
  if (!row) return { ...EMPTY_PROFILE };
  return {
    photoUrl: row.photo_url,
    title: row.title,
    qualifications: row.qualifications,
    intro: row.intro,
    theme: row.theme,
    featuredProductIds: row.featured_product_ids,
    featuredMaterialIds: row.featured_material_ids,
    version: row.version,
    updatedAt: row.updated_at,
    updatedBy: row.updated_by,
  };
}

export interface ProfileValues {
  photoUrl: string | null;
  title: string | null;
  qualifications: string[];
  intro: string;
  theme: string;
  featuredProductIds: string[];
  featuredMaterialIds: string[];
}

/** Writes the whole profile; returns the new version. */
export async function writeProfile(db: Db, staffId: string, values: ProfileValues, by: string): Promise<number> {
  const columns = {
    photo_url: values.photoUrl,
    title: values.title,
    qualifications: values.qualifications,
    intro: values.intro,
    theme: values.theme,
    featured_product_ids: values.featuredProductIds,
    featured_material_ids: values.featuredMaterialIds,
    updated_by: by,
  };
  const row = await db
    .insertInto('card_profiles')
    .values({ staff_id: staffId, ...columns })
    .onConflict((oc) => oc.column('staff_id').doUpdateSet({ ...columns, version: sql`card_profiles.version + 1`, updated_at: new Date() }))
    .returning('version')
    .executeTakeFirstOrThrow();
  return row.version;
}

// ---- shares -------------------------------------------------------------------------------

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
/** 10 characters of 57: about 58 bits, so tokens cannot be guessed or walked. */
export const newShareToken = () => Array.from({ length: 10 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
export const SHARE_TOKEN = /^[A-Za-z0-9]{10}$/;

export type CardShare = Selectable<CardShareRow>;

export interface NewShare {
  staffId: string;
  corpId: string;
  parentId: string | null;
  sharerType: 'member' | 'visitor';
  sharerStaffId: string | null;
  sharerVisitorId: string | null;
  channel: CardShareChannel;
  recipientExternalUserid: string | null;
  referrerExternalUserid: string | null;
  referrerStaffId: string | null;
}

export async function insertShare(db: Db, share: NewShare): Promise<CardShare> {
  return db
    .insertInto('card_shares')
    .values({
      token: newShareToken(),
      staff_id: share.staffId,
      corp_id: share.corpId,
      parent_id: share.parentId,
      sharer_type: share.sharerType,
      sharer_staff_id: share.sharerStaffId,
      sharer_visitor_id: share.sharerVisitorId,
      channel: share.channel,
      recipient_external_userid: share.recipientExternalUserid,
      referrer_external_userid: share.referrerExternalUserid,
      referrer_staff_id: share.referrerStaffId,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function shareByToken(db: Db, token: string): Promise<CardShare | undefined> {
  if (!SHARE_TOKEN.test(token)) return undefined;
  return db.selectFrom('card_shares').selectAll().where('token', '=', token).executeTakeFirst();
}

// ---- events -------------------------------------------------------------------------------

export interface NewCardEvent {
  staffId: string;
  kind: CardEventKind;
  shareId?: string | null;
  visitorId?: string | null;
  productId?: string | null;
  corpId?: string | null;
  externalUserid?: string | null;
  referrerExternalUserid?: string | null;
  referrerStaffId?: string | null;
}

export async function recordCardEvent(db: Db, e: NewCardEvent): Promise<void> {
  await db
    .insertInto('card_events')
    .values({
      staff_id: e.staffId,
      kind: e.kind,
      share_id: e.shareId ?? null,
      visitor_id: e.visitorId ?? null,
      product_id: e.productId ?? null,
      corp_id: e.corpId ?? null,
      external_userid: e.externalUserid ?? null,
      referrer_external_userid: e.referrerExternalUserid ?? null,
      referrer_staff_id: e.referrerStaffId ?? null,
    })
    .execute();
}

/** How this visitor has seen the card before: ever, and within the last `recentMinutes`. */
export async function earlierViews(db: Db, staffId: string, visitorId: string, recentMinutes: number): Promise<{ ever: boolean; recent: boolean }> {
  const row = await db
    .selectFrom('card_events')
    .select([
      sql<boolean>`true`.as('ever'),
      sql<boolean>`max(at) > now() - make_interval(mins => ${recentMinutes})`.as('recent'),
    ])
    .where('staff_id', '=', staffId)
    .where('visitor_id', '=', visitorId)
    .where('kind', '=', 'view')
    .having(sql<boolean>`count(*) > 0`)
    .executeTakeFirst();
  return { ever: Boolean(row?.ever), recent: Boolean(row?.recent) };
}

// ---- statistics ---------------------------------------------------------------------------

/**
 * Whose cards a caller sees in statistics: the whole bank (admin, ops, compliance), a branch
 * manager's branch, an account manager's own card.
 */
export interface CardScope {
  all: boolean;
  branchId: string | null;
  staffId: string | null;
}

export function cardScope(actor: Actor): CardScope {
  switch (actor.role) {
    case 'admin':
    case 'ops':
    case 'compliance':
      return { all: true, branchId: null, staffId: null };
    case 'branch_manager':
      return { all: false, branchId: actor.branchId ?? '\u0000none', staffId: null };
    case 'account_manager':
      return { all: false, branchId: null, staffId: actor.id };
  }
}

export interface StatsQuery {
  /** Inclusive days in Asia/Shanghai, YYYY-MM-DD. */
  from: string;
  to: string;
  staffId?: string;
}

export interface Counts {
  views: number;
  uniqueViews: number;
  shares: number;
  scans: number;
  added: number;
  productViews: number;
}

const countColumns = sql<string>`
  count(*) FILTER (WHERE e.kind = 'view')::int AS views,
  count(DISTINCT e.visitor_id) FILTER (WHERE e.kind = 'view')::int AS "uniqueViews",
  count(*) FILTER (WHERE e.kind = 'share')::int AS shares,
  count(*) FILTER (WHERE e.kind = 'scan')::int AS scans,
  count(*) FILTER (WHERE e.kind = 'added')::int AS added,
  count(*) FILTER (WHERE e.kind = 'product_view')::int AS "productViews"`;

function scopeSql(scope: CardScope, staffId?: string) {
  const parts = [sql`true`];
  if (scope.staffId) parts.push(sql`s.id = ${scope.staffId}`);
  if (scope.branchId) parts.push(sql`s.branch_id = ${scope.branchId}`);
  if (staffId) parts.push(sql`s.id = ${staffId}`);
  return sql.join(parts, sql` AND `);
}

const range = (q: StatsQuery) =>
  sql`e.at >= (${q.from}::date)::timestamp AT TIME ZONE 'Asia/Shanghai' AND e.at < ((${q.to}::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai')`;

export async function cardStats(db: Db, scope: CardScope, q: StatsQuery) {
  const where = sql`${range(q)} AND ${scopeSql(scope, q.staffId)}`;
  const days = await sql<Counts & { day: string }>`
    SELECT to_char(d.day, 'YYYY-MM-DD') AS day,
           coalesce(c.views, 0) AS views, coalesce(c."uniqueViews", 0) AS "uniqueViews", coalesce(c.shares, 0) AS shares,
           coalesce(c.scans, 0) AS scans, coalesce(c.added, 0) AS added, coalesce(c."productViews", 0) AS "productViews"
    FROM generate_series(${q.from}::date, ${q.to}::date, interval '1 day') AS d(day)
    LEFT JOIN (
      SELECT (e.at AT TIME ZONE 'Asia/Shanghai')::date AS day, ${countColumns}
      FROM card_events e JOIN staff s ON s.id = e.staff_id
      WHERE ${where}
      GROUP BY 1
    ) c ON c.day = d.day::date
    ORDER BY d.day`.execute(db);
  const members = await sql<Counts & { staffId: string; name: string; branchName: string | null }>`
    SELECT s.id AS "staffId", s.display_name AS name, b.name AS "branchName",
           coalesce(c.views, 0) AS views, coalesce(c."uniqueViews", 0) AS "uniqueViews", coalesce(c.shares, 0) AS shares,
           coalesce(c.scans, 0) AS scans, coalesce(c.added, 0) AS added, coalesce(c."productViews", 0) AS "productViews"
    FROM staff s
    LEFT JOIN branches b ON b.id = s.branch_id
    LEFT JOIN (
      SELECT e.staff_id, ${countColumns}
      FROM card_events e JOIN staff s ON s.id = e.staff_id
      WHERE ${where}
      GROUP BY e.staff_id
    ) c ON c.staff_id = s.id
    WHERE s.active AND s.wecom_userid IS NOT NULL AND ${scopeSql(scope, q.staffId)}
    ORDER BY coalesce(c.added, 0) DESC, coalesce(c.views, 0) DESC, s.display_name`.execute(db);
  const totals = await sql<Counts>`
    SELECT ${countColumns} FROM card_events e JOIN staff s ON s.id = e.staff_id WHERE ${where}`.execute(db);
  return { days: days.rows, members: members.rows, totals: totals.rows[0]! };
}

export interface Referral {
  at: Date;
  staffId: string;
  memberName: string;
  corpId: string;
  externalUserid: string;
  contactName: string | null;
  customerId: string | null;
  shareToken: string | null;
  referrer: { type: 'customer'; externalUserid: string; name: string | null; customerId: string | null } | { type: 'member'; staffId: string; name: string | null } | null;
}

/** Customers who added a member through a card in the range, newest first, with the referrer. */
export async function listReferrals(db: Db, scope: CardScope, q: StatsQuery & { limit: number }): Promise<Referral[]> {
  const rows = await sql<{
    at: Date; staff_id: string; member_name: string; corp_id: string; external_userid: string; contact_name: string | null; customer_id: string | null;
    token: string | null; referrer_external_userid: string | null; referrer_name: string | null; referrer_customer_id: string | null;
    referrer_staff_id: string | null; referrer_staff_name: string | null;
  }>`
    SELECT e.at, e.staff_id, s.display_name AS member_name, e.corp_id, e.external_userid, ec.name AS contact_name, ec.customer_id,
           sh.token, e.referrer_external_userid, rc.name AS referrer_name, rc.customer_id AS referrer_customer_id,
           e.referrer_staff_id, rs.display_name AS referrer_staff_name
    FROM card_events e
    JOIN staff s ON s.id = e.staff_id
    LEFT JOIN external_contacts ec ON ec.corp_id = e.corp_id AND ec.external_userid = e.external_userid
    LEFT JOIN card_shares sh ON sh.id = e.share_id
    LEFT JOIN external_contacts rc ON rc.corp_id = e.corp_id AND rc.external_userid = e.referrer_external_userid
    LEFT JOIN staff rs ON rs.id = e.referrer_staff_id
    WHERE e.kind = 'added' AND ${range(q)} AND ${scopeSql(scope, q.staffId)}
    ORDER BY e.at DESC, e.id DESC
    LIMIT ${q.limit}`.execute(db);
  return rows.rows.map((r) => ({
    at: r.at,
    staffId: r.staff_id,
    memberName: r.member_name,
    corpId: r.corp_id,
    externalUserid: r.external_userid,
    contactName: r.contact_name,
    customerId: r.customer_id,
    shareToken: r.token,
    referrer: r.referrer_external_userid
      ? { type: 'customer', externalUserid: r.referrer_external_userid, name: r.referrer_name, customerId: r.referrer_customer_id }
      : r.referrer_staff_id
        ? { type: 'member', staffId: r.referrer_staff_id, name: r.referrer_staff_name }
        : null,
  }));
}
