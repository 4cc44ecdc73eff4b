import type Koa from 'koa';
import type { Core } from './core.js';

/**
 * The OAuth2 authorize page WeCom shows inside its client (REFERENCE §5). In the sandbox the person
 * at the keyboard picks which member they are; the page then redirects to `redirect_uri?code&state`
 * as WeCom does. `&userid=` skips the page (tests and scripted rehearsals).
 */
const SCOPES = new Set(['snsapi_base', 'snsapi_privateinfo', 'snsapi_userinfo']);

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escape(title)}</title><style>
body{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;background:#f2f3f5;margin:0;padding:24px;color:#1d2129}
.card{max-width:420px;margin:0 auto;background:#fff;border-radius:8px;padding:20px 24px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h1{font-size:18px;margin:0 0 4px}p{color:#86909c;font-size:13px;margin:0 0 16px}
a.m{display:flex;justify-content:space-between;padding:12px 8px;border-top:1px solid #f0f0f0;color:#1d2129;text-decoration:none}
a.m:hover{background:#f7f8fa}span.t{color:#86909c;font-size:13px}.err{color:#f53f3f}
</style></head><body><div class="card">${body}</div></body></html>`;
}

function errorPage(ctx: Koa.Context, message: string): void {
  ctx.status = 400;
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = page('授权失败', `<h1>模拟企业微信授权</h1><p class="err">${escape(message)}</p>`);
}

export function oauthMiddleware(core: Core): Koa.Middleware {
  return async (ctx) => {
    const q = ctx.query;
    const one = (k: string) => (typeof q[k] === 'string' ? (q[k] as string) : '');
    const { world } = core;
    if (one('appid') !== world.corpId) return errorPage(ctx, '参数错误：appid 与企业 CorpID 不一致');
    let redirect: URL;
    try {
      redirect = new URL(one('redirect_uri'));
      if (redirect.protocol !== 'http:' && redirect.protocol !== 'https:') throw new Error('scheme');
    } catch {
      return errorPage(ctx, '参数错误：redirect_uri 无效');
    }
    if (one('response_type') !== 'code') return errorPage(ctx, '参数错误：response_type 须为 code');
    const scope = one('scope') || 'snsapi_base';
    if (!SCOPES.has(scope)) return errorPage(ctx, '参数错误：scope 无效');
    if (one('agentid') && one('agentid') !== String(world.agentId)) return errorPage(ctx, '参数错误：agentid 与应用不一致');
    const userid = one('userid');
    if (userid) {
      if (!world.member(userid)) return errorPage(ctx, `成员 ${userid} 不存在`);
      redirect.searchParams.set('code', core.credentials.issueCode(userid, scope, core.clock.now()));
      redirect.searchParams.set('state', one('state'));
      ctx.redirect(redirect.toString());
      return;
    }
    const self = new URL(ctx.href);
    const items = [...world.members.values()]
      .map((m) => {
        self.searchParams.set('userid', m.userid);
        const dept = world.departments.find((d) => d.id === m.main_department)?.name ?? '';
        return `<a class="m" href="${escape(self.pathname + self.search)}"><span>${escape(m.name)}（${escape(m.userid)}）</span><span class="t">${escape(dept)} · ${escape(m.position)}</span></a>`;
      })
      .join('');
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = page('模拟企业微信授权', `<h1>模拟企业微信授权</h1><p>沙箱环境：请选择以哪位成员的身份登录「${escape(world.corpId)}」，选择后将跳转回应用。</p>${items}`);
  };
}
