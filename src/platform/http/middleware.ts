import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import { AppError, HTTP_STATUS } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { AppState } from './context.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,100}$/;

/** Request id (accepted from the caller when well-formed), a child logger, access log and metrics. */
export function requestContext(logger: Logger, metrics: Metrics): Middleware<AppState> {
  return async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    const requestId = REQUEST_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.state.log = logger.child({ requestId });
    ctx.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = ctx.state.routeName ?? (ctx.status === 404 ? 'unmatched' : ctx.path.split('/').slice(0, 3).join('/'));
      metrics.httpRequests.inc({ method: ctx.method, route, status: String(ctx.status) });
      metrics.httpDuration.observe({ method: ctx.method, route }, seconds);
      if (!ctx.path.startsWith('/healthz') && ctx.path !== '/metrics') {
        ctx.state.log.info(
          { method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(seconds * 1000), actor: ctx.state.actor?.id },
          'request',
        );
      }
    }
  };
}

/** The one place where errors become HTTP answers. Unknown errors are a plain 500 that leaks nothing. */
export function errorHandler(): Middleware<AppState> {
  return async (ctx, next) => {
    try {
      await next();
    } catch (raw) {
      const error = toAppError(raw);
      if (error) {
        ctx.status = HTTP_STATUS[error.kind];
        if (error.details.retryAfterSeconds) ctx.set('Retry-After', String(error.details.retryAfterSeconds));
        ctx.body = {
          error: {
            kind: error.kind,
            message: error.message,
            ...(error.details.issues?.length ? { issues: error.details.issues } : {}),
            requestId: ctx.state.requestId,
          },
        };
        if (ctx.status >= 500) ctx.state.log.warn({ err: raw }, 'request failed');
        return;
      }
      ctx.state.log.error({ err: raw }, 'unhandled error');
      ctx.status = 500;
      ctx.body = { error: { kind: 'internal', message: 'internal error', requestId: ctx.state.requestId } };
    }
  };
}

/** Errors thrown by Koa's own parts (body parser) carry an HTTP status; map them to typed errors. */
function toAppError(raw: unknown): AppError | undefined {
  if (raw instanceof AppError) return raw;
  const e = raw as { status?: number; type?: string; message?: string; expose?: boolean; code?: string };
  if (e?.status === 413 || e?.type === 'entity.too.large') return new AppError('too_large', 'request body too large');
  if (e?.status === 415) return new AppError('invalid', 'unsupported content type', { issues: [{ path: 'body', message: 'expected application/json' }] });
  if (e?.status === 400 && e.expose) {
    return new AppError('invalid', 'malformed request body', { issues: [{ path: 'body', message: e.message ?? 'malformed' }] });
  }
  // The database is down or refusing connections: say so, retryable.
  if (e?.code && ['ECONNREFUSED', 'ECONNRESET', '57P01', '57P03', '08006', '08001'].includes(e.code)) {
    return new AppError('unavailable', 'database unavailable, try again shortly', { retryAfterSeconds: 5 });
  }
  if (e?.message && /Connection terminated|timeout exceeded when trying to connect/.test(e.message)) {
    return new AppError('unavailable', 'database unavailable, try again shortly', { retryAfterSeconds: 5 });
  }
  return undefined;
}
