import { sql } from 'kysely';
import { z } from 'zod';
import { auditBy, recordAudit } from '../audit/index.js';
import { can, customerScope, rolesFor } from '../auth/index.js';
import type { ComplianceGate } from '../compliance/index.js';
import { mask } from '../platform/crypto.js';
import type { Db } from '../platform/db/database.js';
import type { Api } from '../platform/http/api.js';
import type { Actor } from '../platform/http/context.js';
import { AppError, conflict, invalid } from '../platform/errors.js';
import type { SopTemplate } from './definition.js';
import { dryRun } from './dryrun.js';
import { setEnrollmentStatus } from './engine.js';
import { parseTemplate } from './load.js';
import { monitorCounts, type SopProgressSink } from './progress.js';
import { checkDefinition, getTemplate, listTemplates, publishTemplate, saveDraft, setTemplateStatus } from './store.js';
import { completeTask, listTasks, snoozeTask } from './tasks.js';

const TAG = 'sop';
const MANAGE = rolesFor('sop.manage');
const READ = [...new Set([...rolesFor('sop.manage'), 'compliance', 'branch_manager'] as const)];
/** Readers whose customers are a part of the bank (branch managers): they see only their customers' enrollments and names. */
const partial = (actor: Actor) => actor.role !== 'admin' && actor.role !== 'ops' && actor.role !== 'compliance';

export function registerSopRoutes(api: Api, deps: { db: Db; gate: ComplianceGate; progress?: SopProgressSink }): void {
  const { db } = deps;
  const idParams = z.object({ id: z.string().min(1).max(60) });
  const audit = (actor: Actor, ctx: { ip: string; state: { requestId: string } }, action: string, targetId: string, detail?: Record<string, unknown>) =>
    recordAudit(db, auditBy(actor, { ip: ctx.ip, requestId: ctx.state.requestId })(action, { targetType: 'sop_template', targetId, outcome: 'success', detail }));

  api.route({
    method: 'get', path: '/sop/templates', summary: 'list SOP templates', tag: TAG, auth: READ,
    handler: async () => ({ templates: await listTemplates(db) }),
  });

  api.route({
    method: 'get', path: '/sop/templates/:id', summary: 'one template (by id or key) with its draft and versions', tag: TAG, auth: READ, params: idParams,
    handler: async ({ params }) => getTemplate(db, params.id),
  });

  const definitionFields = {
    /** The template as data, or as the text of a YAML / JSON file. */
    definition: z.unknown().optional(),
    source: z.string().min(1).max(100_000).optional(),
    format: z.enum(['yaml', 'json']).default('yaml'),
  };
  const oneOf = (b: { definition?: unknown; source?: string }) => (b.definition === undefined) !== (b.source === undefined);
  const either = { message: 'give either definition or source', path: ['definition'] };
  const definitionBody = z.object(definitionFields).refine(oneOf, either);

  const parseBody = (body: z.output<typeof definitionBody>): SopTemplate =>
    body.source !== undefined ? parseTemplate(body.source, `body.source.${body.format}`) : checkDefinition(body.definition, 'body.definition');

  api.route({
    method: 'post', path: '/sop/templates/validate',
    summary: 'check a template without saving it; with report: true a template with problems answers 200 {ok: false, issues} (the console’s editor checks as the user types) instead of 400',
    tag: TAG, auth: MANAGE,
    body: z.object({ ...definitionFields, report: z.boolean().default(false) }).refine(oneOf, either),
    handler: async ({ body }) => {
      try {
        const template = parseBody(body);
        return { ok: true, key: template.key, steps: template.steps.length, issues: [] };
      } catch (error) {
        if (body.report && error instanceof AppError && error.kind === 'invalid' && error.details.issues?.length) return { ok: false, issues: error.details.issues };
        throw error;
      }
    },
  });

  api.route({
    method: 'post', path: '/sop/templates', summary: 'create a template or replace its draft (audited)', tag: TAG, auth: MANAGE, body: definitionBody, status: 201,
    handler: async ({ body, actor, ctx }) => {
      const template = parseBody(body);
      const saved = await saveDraft(db, template, { source: 'console', staffId: actor!.id });
      await audit(actor!, ctx, saved.created ? 'sop.template.create' : 'sop.template.update', saved.id, { key: template.key });
      return { id: saved.id, key: template.key, created: saved.created };
    },
  });

  api.route({
    method: 'post', path: '/sop/templates/:id/publish', summary: 'publish the draft as the next version (audited)', tag: TAG, auth: MANAGE, params: idParams,
    handler: async ({ params, actor, ctx }) => {
      const t = await getTemplate(db, params.id);
      const published = await publishTemplate(db, t.id, actor!.id);
      await audit(actor!, ctx, 'sop.template.publish', t.id, { version: published.version, created: published.created });
      return { id: t.id, version: published.version, created: published.created };
    },
  });

  for (const [action, status] of [['pause', 'paused'], ['resume', 'active'], ['archive', 'archived']] as const) {
    api.route({
      method: 'post', path: `/sop/templates/:id/${action}`, summary: `${action} a template (audited)`, tag: TAG, auth: MANAGE, params: idParams,
      handler: async ({ params, actor, ctx }) => {
        const t = await getTemplate(db, params.id);
        const result = await setTemplateStatus(db, t.id, status);
        await audit(actor!, ctx, `sop.template.${action}`, t.id);
        return { id: t.id, status: result };
      },
    });
  }

  api.route({
    method: 'post', path: '/sop/templates/:id/dry-run', summary: 'who would enrol on a day and what each would receive; sends nothing', tag: TAG, auth: READ, params: idParams,
    body: z.object({ date: z.iso.date(), draft: z.boolean().default(false), limit: z.number().int().min(1).max(200).default(50) }),
    handler: async ({ params, body, actor }) => {
      const t = await getTemplate(db, params.id);
      let definition: SopTemplate;
      if (body.draft || t.current_version === null) definition = checkDefinition(t.draft, 'draft');
      else {
        const v = await db.selectFrom('sop_template_versions').select('definition').where('template_id', '=', t.id).where('version', '=', t.current_version).executeTakeFirstOrThrow();
        definition = v.definition as SopTemplate;
      }
      const result = await dryRun(deps, definition, body.date, { limit: body.limit });
      const reveal = can(actor!.role, 'customers.reveal');
      // A branch manager may reveal names, but only of their own branch's customers.
      const ids = [...new Set(result.customers.map((c) => c.customerId))];
      const visible = partial(actor!) && ids.length
        ? new Set((await db.selectFrom('customers').select('customers.id').where('customers.id', 'in', ids).where(customerScope(actor!)).execute()).map((r) => r.id))
        : undefined;
      const shown = (c: { customerId: string }) => reveal && (!visible || visible.has(c.customerId));
      return { ...result, customers: result.customers.map((c) => ({ ...c, name: shown(c) ? c.name : mask.name(c.name) })) };
    },
  });

  api.route({
    method: 'get', path: '/sop/templates/:id/monitor',
    summary: 'enrollments by status and step runs by step and status, read in one snapshot at `at`; live as sop.progress on the console room',
    tag: TAG, auth: READ, params: idParams,
    handler: async ({ params }) => {
      const t = await getTemplate(db, params.id);
      return { id: t.id, key: t.key, status: t.status, ...(await monitorCounts(db, t.id)) };
    },
  });

  api.route({
    method: 'get', path: '/sop/templates/:id/enrollments', summary: 'a template’s enrollments', tag: TAG, auth: READ, params: idParams,
    query: z.object({ status: z.enum(['active', 'paused', 'completed', 'exited', 'cancelled', 'failed']).optional(), limit: z.coerce.number().int().min(1).max(200).default(50), offset: z.coerce.number().int().min(0).default(0) }),
    handler: async ({ params, query, actor }) => {
      const t = await getTemplate(db, params.id);
      let q = db
        .selectFrom('sop_enrollments as e')
        .leftJoin('customers as c', 'c.id', 'e.customer_id')
        .leftJoin('external_contacts as ec', (j) => j.onRef('ec.corp_id', '=', 'e.corp_id').onRef('ec.external_userid', '=', 'e.external_userid'))
        .select(['e.id', 'e.status', 'e.exit_reason', 'e.customer_id', 'e.member_userid', 'e.external_userid', 'e.occurrence', 'e.started_at', 'e.ended_at', 'c.name as customer_name', 'ec.name as contact_name'])
        .where('e.template_id', '=', t.id);
      if (query.status) q = q.where('e.status', '=', query.status);
      if (partial(actor!)) q = q.where(({ exists, selectFrom }) => exists(selectFrom('customers').select(sql`1`.as('one')).whereRef('customers.id', '=', 'e.customer_id').where(customerScope(actor!))));
      const rows = await q.orderBy('e.started_at', 'desc').limit(query.limit).offset(query.offset).execute();
      const reveal = can(actor!.role, 'customers.reveal');
      return { enrollments: rows.map(({ customer_name, contact_name, ...r }) => ({ ...r, name: (n => (n && !reveal ? mask.name(n) : n))(customer_name ?? contact_name) })) };
    },
  });

  api.route({
    method: 'get', path: '/sop/enrollments/:id', summary: 'one enrollment and its step runs', tag: TAG, auth: READ, params: z.object({ id: z.uuid() }),
    handler: async ({ params, actor }) => {
      const e = await db.selectFrom('sop_enrollments').selectAll().where('id', '=', params.id).executeTakeFirst();
      const outside = e && partial(actor!) && !(e.customer_id && (await db.selectFrom('customers').select('customers.id').where('customers.id', '=', e.customer_id).where(customerScope(actor!)).executeTakeFirst()));
      if (!e || outside) throw invalid('unknown enrollment', [{ path: 'params.id', message: 'no such enrollment' }]);
      const steps = await db.selectFrom('sop_step_runs').selectAll().where('enrollment_id', '=', params.id).orderBy('created_at').execute();
      return { ...e, steps };
    },
  });

  for (const action of ['pause', 'resume', 'cancel'] as const) {
    api.route({
      method: 'post', path: `/sop/enrollments/:id/${action}`, summary: `${action} one enrollment (audited)`, tag: TAG, auth: MANAGE, params: z.object({ id: z.uuid() }),
      handler: async ({ params, actor, ctx }) => {
        const status = await setEnrollmentStatus(db, params.id, action, new Date(), deps.progress);
        await recordAudit(db, auditBy(actor!, { ip: ctx.ip, requestId: ctx.state.requestId })(`sop.enrollment.${action}`, { targetType: 'sop_enrollment', targetId: params.id, outcome: 'success' }));
        return { id: params.id, status };
      },
    });
  }

  api.route({
    method: 'get', path: '/sop/tasks', summary: 'the caller’s tasks (account managers, in the sidebar)', tag: TAG, auth: 'any',
    query: z.object({ status: z.enum(['open', 'done', 'all']).default('open'), customerId: z.uuid().optional(), externalUserid: z.string().max(100).optional() }),
    handler: async ({ query, actor }) => ({ tasks: await listTasks(db, actor!, query) }),
  });

  api.route({
    method: 'post', path: '/sop/tasks/:id/done', summary: 'mark a task done (a send task: the member sent it)', tag: TAG, auth: 'any', params: z.object({ id: z.uuid() }),
    handler: async ({ params, actor }) => {
      await completeTask(db, actor!, params.id);
      return { id: params.id, status: 'done' };
    },
  });

  api.route({
    method: 'post', path: '/sop/tasks/:id/snooze', summary: 'put a task off until a time', tag: TAG, auth: 'any', params: z.object({ id: z.uuid() }),
    body: z.object({ until: z.iso.datetime({ offset: true }) }),
    handler: async ({ params, body, actor }) => {
      const until = new Date(body.until);
      if (Number.isNaN(until.getTime())) throw conflict('invalid time');
      await snoozeTask(db, actor!, params.id, until);
      return { id: params.id, status: 'snoozed', until };
    },
  });
}
