import { sql } from 'kysely';
import type { Db } from '../platform/db/database.js';
import { AppError, rateLimited } from '../platform/errors.js';
import { recordAudit } from '../audit/index.js';
import { verifyPassword } from './passwords.js';
import { createSession } from './sessions.js';

export interface LoginLimits {
  maxAttempts: number;
  windowMinutes: number;
  sessionTtlHours: number;
}

/**
 * Password login. Failures are counted per username and per IP in a sliding window held in the
 * database (so every web node sees the same count); past the limit the answer is 429 with
 * Retry-After, whether or not the password is right. Every outcome is audited.
 */
export async function loginWithPassword(
  db: Db,
  limits: LoginLimits,
  input: { username: string; password: string; ip: string; userAgent?: string; requestId?: string },
) {
  const username = input.username.trim().toLowerCase();
  const since = new Date(Date.now() - limits.windowMinutes * 60_000);
  const failures = await db
    .selectFrom('login_attempts')
    .select([
      sql<number>`count(*) FILTER (WHERE username = ${username})::int`.as('byUser'),
      sql<number>`count(*) FILTER (WHERE ip = ${input.ip})::int`.as('byIp'),
      sql<Date | null>`min(at) FILTER (WHERE username = ${username})`.as('oldest'),
    ])
    .where('success', '=', false)
    .where('at', '>', since)
    .where((eb) => eb.or([eb('username', '=', username), eb('ip', '=', input.ip)]))
    .executeTakeFirstOrThrow();
  const audit = (outcome: 'success' | 'failure' | 'denied', actorId: string | null, reason?: string) =>
    recordAudit(db, {
      actorType: actorId ? 'staff' : 'anonymous',
      actorId,
      action: 'auth.login',
      targetType: 'staff',
      targetId: username,
      ip: input.ip,
      requestId: input.requestId,
      outcome,
      detail: reason ? { reason } : {},
    });

  if (failures.byUser >= limits.maxAttempts || failures.byIp >= limits.maxAttempts * 4) {
    await audit('denied', null, 'rate_limited');
    const oldest = failures.oldest ? new Date(failures.oldest).getTime() : Date.now();
    const retryAfter = Math.max(1, Math.ceil((oldest + limits.windowMinutes * 60_000 - Date.now()) / 1000));
    throw rateLimited(retryAfter);
  }

  const staff = await db
    .selectFrom('staff')
    .select(['id', 'password_hash', 'active', 'role', 'display_name'])
    .where('username', '=', username)
    .executeTakeFirst();
  const ok = await verifyPassword(staff?.active ? staff.password_hash : null, input.password);
  await db.insertInto('login_attempts').values({ username, ip: input.ip, success: ok }).execute();
  if (!ok || !staff) {
    await audit('failure', null, staff ? 'bad_password' : 'unknown_user');
    throw new AppError('unauthenticated', 'wrong username or password');
  }
  const session = await createSession(db, staff.id, limits.sessionTtlHours, { ip: input.ip, userAgent: input.userAgent });
  await audit('success', staff.id);
  return { staffId: staff.id, role: staff.role, displayName: staff.display_name, ...session };
}
