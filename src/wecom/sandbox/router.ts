import type { IncomingMessage } from 'node:http';
import type Koa from 'koa';
import { contactRoutes } from './api/contacts.js';
import { contactWayRoutes } from './api/contactWays.js';
import { directoryRoutes } from './api/directory.js';
import { groupRoutes } from './api/groups.js';
import { kfRoutes } from './api/kf.js';
import { massSendRoutes } from './api/massSend.js';
import { messageRoutes } from './api/messages.js';
import { tagRoutes } from './api/tags.js';
import { tokenRoutes } from './api/tokens.js';
import { settleTransfers, transferRoutes } from './api/transfer.js';
import type { ApiRoute, Core, JsonBody } from './core.js';
import { WeComError, errmsgFor } from './errors.js';
import type { Fault } from './faults.js';

/**
 * The one place every `/cgi-bin/...` call passes through, in WeCom's order: method, the request
 * body (read whole first, as a server does before it is slow to answer), injected faults, access
 * token, the secret's permission, the per-corp per-API quota, the JSON body, then the handler.
 * Business errors are HTTP 200 with an errcode (SHAPES §0).
 */
export const API_ROUTES: readonly ApiRoute[] = [
  ...tokenRoutes, ...directoryRoutes, ...contactRoutes, ...tagRoutes, ...contactWayRoutes,
  ...messageRoutes, ...massSendRoutes, ...groupRoutes, ...transferRoutes, ...kfRoutes,
];

const BODY_LIMIT = 4 * 1024 * 1024;
const STATUS_TEXT: Record<number, string> = { 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) throw new WeComError(45002, 'request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): JsonBody {
  if (!text.trim()) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new WeComError(47001);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new WeComError(47001);
  return parsed as JsonBody;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Applies a fault; true when it answered (or dropped) the call, false when the call should go on. */
async function applyFault(ctx: Koa.Context, fault: Fault, core: Core, ip: string): Promise<boolean> {
  if (fault.delayMs) await sleep(fault.delayMs);
  if (fault.drop) {
    ctx.respond = false;
    ctx.req.socket.destroy();
    return true;
  }
  if (fault.httpStatus) {
    const text = `${fault.httpStatus} ${STATUS_TEXT[fault.httpStatus] ?? 'Error'}`;
    ctx.status = fault.httpStatus;
    ctx.type = 'text/html';
    ctx.body = `<html><head><title>${text}</title></head><body><center><h1>${text}</h1></center><hr><center>nginx</center></body></html>`;
    return true;
  }
  if (fault.errcode !== undefined) {
    ctx.body = { errcode: fault.errcode, errmsg: errmsgFor(fault.errcode, fault.errmsg ?? new WeComError(fault.errcode).message, ip, core.clock.now()) };
    return true;
  }
  return false;
}

export function apiMiddleware(core: Core): Koa.Middleware {
  const routes = new Map(API_ROUTES.map((r) => [r.path, r]));
  return async (ctx) => {
    const api = ctx.path.slice('/cgi-bin/'.length);
    const route = routes.get(api);
    if (!route) {
      ctx.status = 404;
      ctx.type = 'text/plain';
      ctx.body = '404 Not Found';
      return;
    }
    const ip = (ctx.ip || '127.0.0.1').replace(/^::ffff:/, '');
    const fail = (error: WeComError) => {
      ctx.body = { errcode: error.errcode, errmsg: errmsgFor(error.errcode, error.message, ip, core.clock.now()), ...route.keepOnError, ...error.extra };
    };
    try {
      if (ctx.method !== route.method) throw new WeComError(route.method === 'GET' ? 43001 : 43002);
      // WeCom has the whole request before it is slow to answer: a call the client gave up on may still take effect.
      const raw = route.method === 'POST' ? await readBody(ctx.req) : '';
      const fault = core.faults.take(api);
      if (fault && (await applyFault(ctx, fault, core, ip))) {
        core.logger?.debug({ api, fault: fault.id }, 'sandbox fault injected');
        return;
      }
      const now = core.clock.now();
      const query: Record<string, string> = {};
      for (const [k, v] of Object.entries(ctx.query)) if (typeof v === 'string') query[k] = v;
      let token;
      if (!route.public) {
        token = core.credentials.verify(query.access_token, now);
        if (route.secrets && !route.secrets.includes(token.kind)) throw new WeComError(48002);
        if (!core.quotas.allow(token.corpId, api, now)) throw new WeComError(45009);
      }
      const body = route.method === 'POST' ? parseJson(raw) : {};
      // WeCom settles on-job transfers on its own schedule; the sandbox catches up before each call.
      settleTransfers(core);
      const result = await route.handler({ core, world: core.world, now, ...(token ? { token } : {}), query, body, ip });
      ctx.body = { errcode: 0, errmsg: 'ok', ...result };
    } catch (error) {
      if (error instanceof WeComError) return fail(error);
      core.logger?.error({ err: error, api }, 'sandbox handler failed');
      fail(new WeComError(-1));
    }
  };
}
