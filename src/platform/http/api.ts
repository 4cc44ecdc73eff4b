import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Role } from '../db/schema.js';
import { AppError, forbidden, unauthenticated, type FieldIssue } from '../errors.js';
import type { Actor, AppState } from './context.js';

/**
 * Routes are data: method, path, who may call, zod schemas for params, query and body, and a
 * handler. The same data drives validation and the OpenAPI document, so neither can drift.
 */
type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type AnyObject = z.ZodType<Record<string, unknown>>;

export interface HandlerInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  actor: Actor | undefined;
  ctx: Context & { state: AppState };
}

export interface RouteSpec<P extends AnyObject, Q extends AnyObject, B extends z.ZodType> {
  method: Method;
  /** Koa-style path below the API prefix, e.g. `/customers/:id`. */
  path: string;
  summary: string;
  tag: string;
  /** `public`: no session; `any`: any logged-in staff; otherwise the roles allowed. */
  auth: 'public' | 'any' | readonly Role[];
  params?: P;
  query?: Q;
  body?: B;
  response?: z.ZodType;
  /** Status on success; default 200 (204 when the handler returns undefined). */
  status?: number;
  handler: (input: HandlerInput<z.output<P>, z.output<Q>, z.output<B>>) => Promise<unknown>;
}

type StoredRoute = RouteSpec<AnyObject, AnyObject, z.ZodType>;

function issuesOf(where: string, error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
}

function check<S extends z.ZodType>(where: string, schema: S | undefined, value: unknown): z.output<S> | undefined {
  if (!schema) return undefined;
  const result = schema.safeParse(value);
  if (!result.success) throw new AppError('invalid', `invalid ${where}`, { issues: issuesOf(where, result.error) });
  return result.data;
}

export class Api {
  readonly router: Router<AppState>;
  private readonly specs: StoredRoute[] = [];

  constructor(readonly prefix = '/api/v1') {
    this.router = new Router<AppState>({ prefix });
  }

  route<P extends AnyObject, Q extends AnyObject, B extends z.ZodType>(spec: RouteSpec<P, Q, B>): void {
    this.specs.push(spec as unknown as StoredRoute);
    this.router[spec.method](spec.path, async (ctx) => {
      ctx.state.routeName = `${this.prefix}${spec.path}`;
      const actor = ctx.state.actor;
      if (spec.auth !== 'public') {
        if (!actor) throw unauthenticated();
        if (spec.auth !== 'any' && !spec.auth.includes(actor.role)) throw forbidden(`role ${actor.role} may not ${spec.summary}`);
      }
      const params = check('params', spec.params, ctx.params) ?? {};
      const query = check('query', spec.query, ctx.query) ?? {};
      const rawBody = (ctx.request as { body?: unknown }).body;
      const body = spec.body ? check('body', spec.body, rawBody ?? {}) : undefined;
      const result = await spec.handler({ params, query, body, actor, ctx: ctx as Context & { state: AppState } } as HandlerInput<
        z.output<P>,
        z.output<Q>,
        z.output<B>
      >);
      if (ctx.body !== undefined && ctx.body !== null && result === undefined) return; // handler wrote the body itself
      if (result === undefined) {
        ctx.status = 204;
        return;
      }
      ctx.status = spec.status ?? 200;
      ctx.body = result;
    });
  }

  list(): readonly { method: Method; path: string }[] {
    return this.specs.map((s) => ({ method: s.method, path: `${this.prefix}${s.path}` }));
  }

  /** OpenAPI 3.1 document from the registered routes. */
  openapi(info: { title: string; version: string }): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    const json = (schema: z.ZodType) =>
      z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
    for (const spec of this.specs) {
      const path = `${this.prefix}${spec.path}`.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const parameters: unknown[] = [];
      for (const [where, schema] of [['path', spec.params], ['query', spec.query]] as const) {
        if (!schema) continue;
        const object = json(schema) as { properties?: Record<string, unknown>; required?: string[] };
        for (const [name, property] of Object.entries(object.properties ?? {})) {
          parameters.push({ name, in: where, required: where === 'path' || (object.required ?? []).includes(name), schema: property });
        }
      }
      const operation: Record<string, unknown> = {
        summary: spec.summary,
        tags: [spec.tag],
        operationId: `${spec.method}_${spec.path.replace(/[/:{}-]+/g, '_').replace(/^_|_$/g, '')}`,
        parameters,
        responses: {
          [String(spec.status ?? 200)]: {
            description: 'success',
            ...(spec.response ? { content: { 'application/json': { schema: json(spec.response) } } } : {}),
          },
          '400': { description: 'invalid input; `error.issues` names each field', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
          ...(spec.auth === 'public' ? {} : { '401': { description: 'login required' }, '403': { description: 'role not allowed' } }),
        },
        ...(spec.auth === 'public' ? { security: [] } : { 'x-roles': spec.auth === 'any' ? 'any' : spec.auth }),
      };
      if (spec.body) operation.requestBody = { required: true, content: { 'application/json': { schema: json(spec.body) } } };
      (paths[path] ??= {})[spec.method] = operation;
    }
    return {
      openapi: '3.1.0',
      info,
      servers: [{ url: '/' }],
      security: [{ session: [] }],
      components: {
        securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: 'scrm_session' } },
        schemas: {
          Error: {
            type: 'object',
            properties: {
              error: {
                type: 'object',
                properties: {
                  kind: { type: 'string' },
                  message: { type: 'string' },
                  issues: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
                  requestId: { type: 'string' },
                },
              },
            },
          },
        },
      },
      paths,
    };
  }
}
