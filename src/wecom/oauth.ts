import { randomBytes } from 'node:crypto';
import Router from '@koa/router';
import type { Db } from '../platform/db/database.js';
import type { Logger } from '../platform/logger.js';
import type { AppState } from '../platform/http/context.js';
import { recordAudit } from '../audit/index.js';
import { SESSION_COOKIE, createSession } from '../auth/index.js';
import { wecomApi } from './api.js';
import { WeComApiError, type WeComGateway } from './client/index.js';

/**
 * Member sign-in from inside WeCom (REFERENCE §5): redirect to WeCom's authorize URL, exchange the
 * single-use code for the member's userid, open a session for the staff account bound to that
 * member. The state parameter must match an httpOnly cookie set at the start (CSRF).
 */
const STATE_COOKIE = 'scrm_oauth';

export interface OAuthDeps {
  db: Db;
  gateway: WeComGateway;
  logger: Logger;
  /** Where the authorize page lives for a corp (WeCom, or the sandbox for the sandbox corp). */
  authorizeBase: (corpId: string) => string;
  publicUrl?: string;
  /**
   * The sandbox corp, when running against the sandbox: its authorize page may be told which member
   * signs in (`&userid=` from `/wecom/oauth/start?member=`), so the sidebar's simulated context can pick
   * the member itself. WeCom's own page never gets the hint.
   */
  sandboxCorpId?: string;
  secureCookies: boolean;
  sessionTtlHours: number;
}

const safeNext = (next: unknown) => (typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') && !next.includes('\\') ? next : '/');

function page(title: string, message: string): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${title}</title></head><body style="font-family:sans-serif;padding:24px"><h3>${title}</h3><p>${message}</p></body></html>`;
}

export function oauthRouter(deps: OAuthDeps): Router<AppState> {
  const router = new Router<AppState>();

  router.get('/wecom/oauth/start', async (ctx) => {
    const corpId = String(ctx.query.corpId ?? '');
    const corp = corpId ? await deps.gateway.registry.get(corpId) : undefined;
    if (!corp) {
      ctx.status = 404;
      ctx.type = 'html';
      ctx.body = page('无法登录', '未找到该企业的配置，请联系管理员。');
      return;
    }
    const state = randomBytes(16).toString('base64url');
    const next = safeNext(ctx.query.next);
    ctx.cookies.set(STATE_COOKIE, `${state}.${Buffer.from(next).toString('base64url')}`, { httpOnly: true, sameSite: 'lax', secure: deps.secureCookies, maxAge: 10 * 60_000, path: '/wecom/oauth' });
    const base = deps.publicUrl ?? `${ctx.protocol}://${ctx.host}`;
    const redirect = `${base}/wecom/oauth/callback?corpId=${encodeURIComponent(corpId)}`;
    const url = new URL('/connect/oauth2/authorize', deps.authorizeBase(corpId));
    url.searchParams.set('appid', corpId);
    url.searchParams.set('redirect_uri', redirect);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('scope', 'snsapi_base');
    url.searchParams.set('state', state);
    if (corp.agentId) url.searchParams.set('agentid', String(corp.agentId));
    if (deps.sandboxCorpId === corpId && typeof ctx.query.member === 'string' && /^[A-Za-z0-9_.@-]{1,64}$/.test(ctx.query.member)) {
      url.searchParams.set('userid', ctx.query.member);
    }
    ctx.redirect(`${url.toString()}#wechat_redirect`);
  });

  router.get('/wecom/oauth/callback', async (ctx) => {
    const corpId = String(ctx.query.corpId ?? '');
    const code = String(ctx.query.code ?? '');
    const [expected, encodedNext] = (ctx.cookies.get(STATE_COOKIE) ?? '').split('.');
    ctx.cookies.set(STATE_COOKIE, '', { expires: new Date(0), path: '/wecom/oauth' });
    ctx.type = 'html';
    if (!expected || ctx.query.state !== expected || !code || !corpId) {
      ctx.status = 400;
      ctx.body = page('登录已失效', '请从企业微信重新打开本页面。');
      return;
    }
    let who: { userid?: string; openid?: string };
    try {
      who = await wecomApi(deps.gateway.client(corpId, 'agent')).userIdFromCode(code);
    } catch (error) {
      // 40029: the code was used already or is older than five minutes.
      if (!(error instanceof WeComApiError)) throw error;
      deps.logger.warn({ corpId, errcode: error.errcode }, 'OAuth code refused by WeCom');
      ctx.status = 403;
      ctx.body = page('授权已失效', '请从企业微信重新打开本页面。');
      return;
    }
    const staff = who.userid
      ? await deps.db.selectFrom('staff').select(['id', 'role']).where('corp_id', '=', corpId).where('wecom_userid', '=', who.userid).where('active', '=', true).executeTakeFirst()
      : undefined;
    await recordAudit(deps.db, {
      actorType: staff ? 'staff' : 'anonymous',
      actorId: staff?.id ?? null,
      action: 'auth.oauth',
      targetType: 'wecom_member',
      targetId: who.userid ?? who.openid,
      ip: ctx.ip,
      requestId: ctx.state.requestId,
      outcome: staff ? 'success' : 'denied',
      detail: { corpId },
    });
    if (!staff) {
      ctx.status = 403;
      ctx.body = page('暂无权限', '您的企业微信账号尚未开通本系统，请联系管理员。');
      return;
    }
    const session = await createSession(deps.db, staff.id, deps.sessionTtlHours, { ip: ctx.ip, userAgent: ctx.get('user-agent') });
    ctx.cookies.set(SESSION_COOKIE, session.token, { httpOnly: true, sameSite: 'lax', secure: deps.secureCookies, expires: session.expiresAt, path: '/' });
    ctx.redirect(safeNext(encodedNext ? Buffer.from(encodedNext, 'base64url').toString() : '/'));
  });

  return router;
}
