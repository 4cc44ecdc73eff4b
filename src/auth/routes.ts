import type { Middleware } from 'koa';
import { z } from 'zod';
import type { Api } from '../platform/http/api.js';
import type { AppState } from '../platform/http/context.js';
import type { Db } from '../platform/db/database.js';
import { ROLES } from '../platform/db/schema.js';
import { conflict, invalid, notFound } from '../platform/errors.js';
import { auditBy, recordAudit } from '../audit/index.js';
import { loginWithPassword, type LoginLimits } from './login.js';
import { hashPassword } from './passwords.js';
import { rolesFor } from './policy.js';
import { SESSION_COOKIE, resolveSession, revokeSession, revokeStaffSessions } from './sessions.js';

/** Resolves the session cookie into `ctx.state.actor` for every request. */
export function sessionMiddleware(db: Db): Middleware<AppState> {
  return async (ctx, next) => {
    const token = ctx.cookies.get(SESSION_COOKIE);
    if (token) ctx.state.actor = await resolveSession(db, token);
    await next();
  };
}

const actorView = z.object({
  id: z.string(),
  username: z.string(),
  displayName: z.string(),
  role: z.enum(ROLES),
  branchId: z.string().nullable(),
  wecomUserid: z.string().nullable(),
});

const staffInput = z.object({
  username: z.string().trim().toLowerCase().regex(/^[a-z0-9_.-]{3,40}$/, '3–40 of a-z, 0-9, _ . -'),
  displayName: z.string().trim().min(1).max(40),
  role: z.enum(ROLES),
  branchId: z.string().max(40).nullable().default(null),
  corpId: z.string().max(64).nullable().default(null),
  wecomUserid: z.string().max(64).nullable().default(null),
  title: z.string().max(40).nullable().default(null),
  password: z.string().min(10, 'at least 10 characters').max(200).optional(),
});

export function registerAuthRoutes(api: Api, deps: { db: Db; limits: LoginLimits; secureCookies: boolean }): void {
  const { db } = deps;
  /**
   * The corp of a WeCom binding: the one given, or the only corp configured; and the member may be
   * bound to one staff account only (409 naming who has it).
   */
  async function bindingCorp(wecomUserid: string, corpId: string | null | undefined, staffId?: string): Promise<string> {
    let corp = corpId ?? null;
    if (!corp) {
      const corps = await db.selectFrom('corps').select('corp_id').where('active', '=', true).execute();
      if (corps.length !== 1) throw invalid('invalid body', [{ path: 'body.corpId', message: `${corps.length} WeCom corps are configured: name the corp of the member` }]);
      corp = corps[0]!.corp_id;
    }
    let q = db.selectFrom('staff').select('username').where('corp_id', '=', corp).where('wecom_userid', '=', wecomUserid);
    if (staffId) q = q.where('id', '!=', staffId);
    const taken = await q.executeTakeFirst();
    if (taken) throw conflict(`WeCom member ${wecomUserid} is already bound to ${taken.username}`);
    return corp;
  }

  api.route({
    method: 'post',
    path: '/auth/login',
    summary: 'log in with username and password; sets the session cookie',
    tag: 'auth',
    auth: 'public',
    body: z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(200) }),
    response: z.object({ staff: actorView, expiresAt: z.string() }),
    handler: async ({ body, ctx }) => {
      const session = await loginWithPassword(db, deps.limits, {
        ...body,
        ip: ctx.ip,
        userAgent: ctx.get('user-agent'),
        requestId: ctx.state.requestId,
      });
      ctx.cookies.set(SESSION_COOKIE, session.token, {
        httpOnly: true,
        sameSite: 'lax',
        secure: deps.secureCookies,
        expires: session.expiresAt,
        path: '/',
        overwrite: true,
      });
      const actor = (await resolveSession(db, session.token))!;
      return { staff: pickActor(actor), expiresAt: session.expiresAt.toISOString() };
    },
  });

  api.route({
    method: 'post',
    path: '/auth/logout',
    summary: 'end the current session',
    tag: 'auth',
    auth: 'any',
    handler: async ({ actor, ctx }) => {
      await revokeSession(db, actor!.sessionId);
      ctx.cookies.set(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'lax', secure: deps.secureCookies, expires: new Date(0), path: '/' });
      await recordAudit(db, auditBy(actor!, { ip: ctx.ip, requestId: ctx.state.requestId })('auth.logout', { outcome: 'success' }));
      return undefined;
    },
  });

  api.route({
    method: 'get',
    path: '/auth/me',
    summary: 'who is logged in',
    tag: 'auth',
    auth: 'any',
    response: actorView,
    handler: async ({ actor }) => pickActor(actor!),
  });

  api.route({
    method: 'get',
    path: '/auth/session',
    summary: 'the session, if any: pages ask this instead of /auth/me to learn whether to show the login',
    tag: 'auth',
    auth: 'public',
    response: z.object({ staff: actorView.nullable() }),
    handler: async ({ actor }) => ({ staff: actor ? pickActor(actor) : null }),
  });

  api.route({
    method: 'get',
    path: '/branches',
    summary: "the bank's branches (for pickers and labels)",
    tag: 'staff',
    auth: 'any',
    handler: async () => ({ items: await db.selectFrom('branches').select(['id', 'name', 'city']).orderBy('id').execute() }),
  });

  api.route({
    method: 'get',
    path: '/staff',
    summary: 'list staff (branch managers see their branch)',
    tag: 'staff',
    auth: rolesFor('staff.read'),
    handler: async ({ actor }) => {
      let q = db
        .selectFrom('staff')
        .select(['id', 'username', 'display_name', 'role', 'branch_id', 'corp_id', 'wecom_userid', 'title', 'active'])
        .orderBy('username');
      if (actor!.role === 'branch_manager') q = q.where('branch_id', '=', actor!.branchId);
      return { items: await q.execute() };
    },
  });

  api.route({
    method: 'post',
    path: '/staff',
    summary: 'create a staff account',
    tag: 'staff',
    auth: rolesFor('staff.manage'),
    status: 201,
    body: staffInput,
    handler: async ({ body, actor, ctx }) => {
      if ((body.role === 'branch_manager' || body.role === 'account_manager') && !body.branchId) {
        throw invalid('invalid body', [{ path: 'body.branchId', message: `required for role ${body.role}` }]);
      }
      if (body.branchId && !(await db.selectFrom('branches').select('id').where('id', '=', body.branchId).executeTakeFirst())) {
        throw invalid('invalid body', [{ path: 'body.branchId', message: 'unknown branch' }]);
      }
      const corpId = body.wecomUserid ? await bindingCorp(body.wecomUserid, body.corpId) : body.corpId;
      const passwordHash = body.password ? await hashPassword(body.password) : null;
      const row = await db
        .insertInto('staff')
        .values({
          username: body.username,
          display_name: body.displayName,
          role: body.role,
          branch_id: body.branchId,
          corp_id: corpId,
          wecom_userid: body.wecomUserid,
          title: body.title,
          password_hash: passwordHash,
        })
        .onConflict((oc) => oc.column('username').doNothing())
        .returning(['id'])
        .executeTakeFirst();
      if (!row) throw conflict(`username ${body.username} is taken`);
      await recordAudit(
        db,
        auditBy(actor!, { ip: ctx.ip, requestId: ctx.state.requestId })('staff.create', {
          targetType: 'staff',
          targetId: row.id,
          outcome: 'success',
          detail: { username: body.username, role: body.role, branchId: body.branchId },
        }),
      );
      return { id: row.id };
    },
  });

  api.route({
    method: 'patch',
    path: '/staff/:id',
    summary: 'change a staff account (role, branch, WeCom member, active)',
    tag: 'staff',
    auth: rolesFor('staff.manage'),
    params: z.object({ id: z.uuid() }),
    body: z
      .object({
        role: z.enum(ROLES).optional(),
        branchId: z.string().max(40).nullable().optional(),
        wecomUserid: z.string().max(64).nullable().optional(),
        /** The corp of the WeCom member; defaults to the account's corp, else the only corp configured. */
        corpId: z.string().max(64).nullable().optional(),
        active: z.boolean().optional(),
        password: z.string().min(10, 'at least 10 characters').max(200).optional(),
      })
      .refine((b) => Object.keys(b).length > 0, 'nothing to change'),
    handler: async ({ params, body, actor, ctx }) => {
      const before = await db.selectFrom('staff').selectAll().where('id', '=', params.id).executeTakeFirst();
      if (!before) throw notFound('staff');
      const role = body.role ?? before.role;
      const branchId = body.branchId === undefined ? before.branch_id : body.branchId;
      if ((role === 'branch_manager' || role === 'account_manager') && !branchId) {
        throw invalid('invalid body', [{ path: 'body.branchId', message: `required for role ${role}` }]);
      }
      if (body.branchId && body.branchId !== before.branch_id && !(await db.selectFrom('branches').select('id').where('id', '=', body.branchId).executeTakeFirst())) {
        throw invalid('invalid body', [{ path: 'body.branchId', message: 'unknown branch' }]);
      }
      const corpId = body.wecomUserid ? await bindingCorp(body.wecomUserid, body.corpId ?? before.corp_id, params.id) : body.corpId;
      await db
        .updateTable('staff')
        .set({
          role,
          branch_id: branchId,
          ...(body.wecomUserid !== undefined ? { wecom_userid: body.wecomUserid } : {}),
          ...(corpId !== undefined ? { corp_id: corpId } : {}),
          ...(body.active !== undefined ? { active: body.active } : {}),
          ...(body.password ? { password_hash: await hashPassword(body.password) } : {}),
          updated_at: new Date(),
        })
        .where('id', '=', params.id)
        .execute();
      // A role or status change takes effect now, not when the old session expires.
      if (body.role || body.active === false || body.password || body.branchId !== undefined) await revokeStaffSessions(db, params.id);
      const { password: _omit, ...changed } = body;
      await recordAudit(
        db,
        auditBy(actor!, { ip: ctx.ip, requestId: ctx.state.requestId })('staff.update', {
          targetType: 'staff',
          targetId: params.id,
          outcome: 'success',
          detail: { changed: { ...changed, ...(body.password ? { password: 'changed' } : {}) }, before: { role: before.role, branchId: before.branch_id, active: before.active } },
        }),
      );
      return undefined;
    },
  });
}

function pickActor(a: { id: string; username: string; displayName: string; role: (typeof ROLES)[number]; branchId: string | null; wecomUserid: string | null }) {
  return { id: a.id, username: a.username, displayName: a.displayName, role: a.role, branchId: a.branchId, wecomUserid: a.wecomUserid };
}
