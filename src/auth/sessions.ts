import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../platform/db/database.js';
import type { Actor } from '../platform/http/context.js';

export const SESSION_COOKIE = 'scrm_session';

/** Only the SHA-256 of a session token is stored: a leaked table opens no session. */
const idOf = (token: string) => createHash('sha256').update(token).digest('hex');

export async function createSession(db: Db, staffId: string, ttlHours: number, meta: { ip: string; userAgent?: string }) {
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(Date.now() + ttlHours * 3600_000);
  await db
    .insertInto('sessions')
    .values({ id: idOf(token), staff_id: staffId, expires_at: expiresAt, ip: meta.ip, user_agent: meta.userAgent?.slice(0, 300) ?? null, revoked_at: null })
    .execute();
  return { token, expiresAt };
}

/** The actor behind a session token, or undefined when it is unknown, revoked, expired or the staff is inactive. */
export async function resolveSession(db: Db, token: string | undefined): Promise<Actor | undefined> {
  if (!token || token.length > 100) return undefined;
  const id = idOf(token);
  const row = await db
    .selectFrom('sessions as s')
    .innerJoin('staff as st', 'st.id', 's.staff_id')
    .select(['s.id as sessionId', 'st.id', 'st.username', 'st.display_name', 'st.role', 'st.branch_id', 'st.corp_id', 'st.wecom_userid'])
    .where('s.id', '=', id)
    .where('s.revoked_at', 'is', null)
    .where('s.expires_at', '>', new Date())
    .where('st.active', '=', true)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    role: row.role,
    branchId: row.branch_id,
    corpId: row.corp_id,
    wecomUserid: row.wecom_userid,
    sessionId: row.sessionId,
  };
}

export async function revokeSession(db: Db, sessionId: string): Promise<void> {
  await db.updateTable('sessions').set({ revoked_at: new Date() }).where('id', '=', sessionId).execute();
}

export async function revokeStaffSessions(db: Db, staffId: string): Promise<void> {
  await db.updateTable('sessions').set({ revoked_at: new Date() }).where('staff_id', '=', staffId).where('revoked_at', 'is', null).execute();
}

/** Reads one cookie from a raw Cookie header (socket.io handshakes have no Koa context). */
export function cookieFromHeader(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}
