import { z } from 'zod';
import { recordAudit } from '../audit/index.js';
import { rolesFor } from '../auth/index.js';
import type { FieldCipher } from '../platform/crypto.js';
import type { Db } from '../platform/db/database.js';
import type { Api } from '../platform/http/api.js';
import type { Role } from '../platform/db/schema.js';
import { invalid } from '../platform/errors.js';
import { loadSegment } from './compile.js';
import {
  SEGMENT_METHODS, createSegmentSchema, customerRefsSchema, memberChangesSchema, memberInputProblems, segmentDefinitionSchema, updateSegmentSchema,
} from './definition.js';
import { unsavedMembers } from './members.js';
import { editedMembers, explicitMembers } from './editing.js';
import { countSegment, listSnapshots, previewSegment, snapshotSegment } from './query.js';
import { createSegment, deleteSegment, listSegments, updateSegment, viewsOf, type WriteContext } from './store.js';

/** Read: every role that reads customers, each within its scope. Write: the roles that manage SOPs (admin, ops). */
const READ: readonly Role[] = rolesFor('customers.read');
const WRITE: readonly Role[] = rolesFor('sop.manage');
const TAG = 'segments';

export function registerSegmentRoutes(api: Api, deps: { db: Db; cipher: FieldCipher }): void {
  const { db, cipher } = deps;
  const idParams = z.object({ id: z.uuid() });
  const context = (input: { actor: unknown; ctx: { ip: string; state: { requestId: string } } }): WriteContext => ({
    actor: input.actor as WriteContext['actor'], ip: input.ctx.ip, requestId: input.ctx.state.requestId,
  });

  api.route({
    method: 'get', path: '/segments', summary: 'list segments', tag: TAG, auth: READ,
    query: z.object({
      q: z.string().trim().min(1).max(100).optional(),
      method: z.enum(SEGMENT_METHODS).optional(),
      limit: z.coerce.number().int().min(1).max(200).default(50),
      offset: z.coerce.number().int().min(0).max(100_000).default(0),
    }),
    handler: async ({ query, actor }) => listSegments(db, actor!, { search: query.q, method: query.method, limit: query.limit, offset: query.offset }),
  });

  api.route({
    method: 'post', path: '/segments', summary: 'create a segment (audited)', tag: TAG, auth: WRITE, status: 201,
    body: createSegmentSchema,
    handler: async (input) => createSegment(db, input.body, context(input)),
  });

  /**
   * An unsaved definition and its explicit members; with segmentId, the stored segment's members with these
   * changes applied as saving them would (the console's editor counts and previews an edit before it is saved).
   */
  const unsavedBody = z.strictObject({
    definition: segmentDefinitionSchema, members: memberChangesSchema.optional(), cifs: customerRefsSchema.optional(), segmentId: z.uuid().optional(),
  });
  const unsavedSource = async (body: z.output<typeof unsavedBody>, actor: WriteContext['actor']) => {
    const problems = memberInputProblems(body.definition.method, body, false);
    if (problems.length) throw invalid('invalid segment', problems);
    const { lists, report } = body.segmentId
      ? await editedMembers(db, actor, body.segmentId, body.definition.method, body)
      : await unsavedMembers(db, actor, body);
    return { source: { definition: body.definition, members: lists, path: 'body.definition' }, report };
  };

  api.route({
    method: 'post', path: '/segments/count', summary: 'count the customers an unsaved definition (or an edit of a segment) selects, in the caller’s scope', tag: TAG, auth: READ,
    body: unsavedBody,
    handler: async ({ body, actor }) => {
      const { source, report } = await unsavedSource(body, actor!);
      const count = await countSegment(db, source, actor!);
      return { count, unknownCount: report.unknownCount, unknown: report.unknown };
    },
  });

  api.route({
    method: 'post', path: '/segments/preview', summary: 'a page of the customers an unsaved definition (or an edit of a segment) selects, in the caller’s scope (mobiles masked)', tag: TAG, auth: READ,
    body: unsavedBody.extend({
      limit: z.number().int().min(1).max(200).default(50),
      offset: z.number().int().min(0).max(100_000).default(0),
    }),
    handler: async ({ body, actor }) => {
      const { source } = await unsavedSource(body, actor!);
      return previewSegment(db, cipher, source, actor!, { limit: body.limit, offset: body.offset });
    },
  });

  api.route({
    method: 'get', path: '/segments/:id', summary: 'one segment with its live count in the caller’s scope', tag: TAG, auth: READ,
    params: idParams,
    handler: async ({ params, actor }) => {
      const [segment] = await viewsOf(db, [await loadSegment(db, params.id)], actor!);
      return { ...segment!, count: await countSegment(db, params.id, actor!) };
    },
  });

  api.route({
    method: 'patch', path: '/segments/:id', summary: 'change a segment, its members or its imported list (audited)', tag: TAG, auth: WRITE,
    params: idParams, body: updateSegmentSchema,
    handler: async (input) => updateSegment(db, input.params.id, input.body, context(input)),
  });

  api.route({
    method: 'delete', path: '/segments/:id', summary: 'delete a segment (soft; audited)', tag: TAG, auth: WRITE,
    params: idParams,
    handler: async (input) => {
      await deleteSegment(db, input.params.id, context(input));
      return undefined;
    },
  });

  api.route({
    method: 'get', path: '/segments/:id/preview', summary: 'a page of the segment’s customers in the caller’s scope (mobiles masked)', tag: TAG, auth: READ,
    params: idParams,
    query: z.object({
      limit: z.coerce.number().int().min(1).max(200).default(50),
      offset: z.coerce.number().int().min(0).max(100_000).default(0),
    }),
    handler: async ({ params, query, actor }) => previewSegment(db, cipher, params.id, actor!, query),
  });

  api.route({
    method: 'get', path: '/segments/:id/members', summary: 'a page of the segment’s hand-picked members, or with include=false its exclusions, in the caller’s scope (mobiles masked)', tag: TAG, auth: READ,
    params: idParams,
    query: z.object({
      include: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
      limit: z.coerce.number().int().min(1).max(200).default(50),
      offset: z.coerce.number().int().min(0).max(100_000).default(0),
    }),
    handler: async ({ params, query, actor }) => explicitMembers(db, cipher, params.id, actor!, query),
  });

  api.route({
    method: 'post', path: '/segments/:id/snapshots', summary: 'freeze the segment’s current customers for a campaign (audited)', tag: TAG, auth: WRITE,
    status: 201, params: idParams,
    handler: async (input) => {
      const { actor, ctx, params } = input;
      return db.transaction().execute(async (trx) => {
        const result = await snapshotSegment(trx, params.id, actor!);
        await recordAudit(trx, {
          actorType: 'staff', actorId: actor!.id, action: 'segments.snapshot', targetType: 'segment', targetId: params.id,
          ip: ctx.ip, requestId: ctx.state.requestId, outcome: 'success', detail: { snapshotId: result.snapshotId, count: result.count },
        });
        return result;
      });
    },
  });

  api.route({
    method: 'get', path: '/segments/:id/snapshots', summary: 'the segment’s snapshots, newest first', tag: TAG, auth: READ,
    params: idParams,
    handler: async ({ params, actor }) => ({ items: await listSnapshots(db, params.id, actor!) }),
  });
}
