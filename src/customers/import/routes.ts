import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import type { Api } from '../../platform/http/api.js';
import type { Db } from '../../platform/db/database.js';
import type { FieldCipher } from '../../platform/crypto.js';
import type { JobRunner } from '../../platform/jobs.js';
import { enqueueFollowUp } from './followup.js';
import type { Logger } from '../../platform/logger.js';
import type { Role } from '../../platform/db/schema.js';
import { AppError, invalid, notFound } from '../../platform/errors.js';
import { auditBy, recordAudit } from '../../audit/index.js';
import { getImport, listImports, listRejections, startImport, type ImportFormat } from './index.js';

/**
 * The console's side of imports: upload a file (the raw request body, streamed to DATA_DIR/imports
 * with a size limit and hashed on the way), import it in the background, follow it by polling or
 * socket.io (`import.progress`, `import.done`, `import.failed` to the console room), and page
 * through its rejected rows. An upload of a file whose earlier import was interrupted resumes it.
 */
export interface ImportRouteDeps {
  db: Db;
  cipher: FieldCipher;
  logger: Logger;
  /** Where the follow-up of a finished import is queued (followup.ts); without it, the every-minute run finds it. */
  jobs?: JobRunner;
  realtime?: { toConsole(event: string, data: unknown): void };
  dataDir: string;
  /** Largest accepted upload; default 2 GiB. */
  maxUploadBytes?: number;
  batchSize?: number;
}

export interface ImportRunner {
  /** Ids of the imports this process is running. */
  running(): string[];
  /** Stops every running import after its current batch (they stay resumable). */
  abortAll(): void;
  /** Resolves when every running import has finished or stopped. */
  settled(): Promise<void>;
}

/** No permission in the matrix fits; importing the bank's files is for administrators and operations. */
const IMPORT_ROLES: readonly Role[] = ['admin', 'ops'];
const TYPES: Record<string, ImportFormat> = {
  'text/csv': 'csv',
  'application/csv': 'csv',
  'application/x-ndjson': 'jsonl',
  'application/jsonl': 'jsonl',
  'application/x-jsonlines': 'jsonl',
};
export const DEFAULT_MAX_UPLOAD = 2 * 1024 ** 3;

class TooLarge extends Error {}

/** Streams a request body to a file, counting and hashing it; never holds more than a chunk. */
async function receive(body: Readable, file: string, max: number): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (bytes > max) return done(new TooLarge());
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(body, meter, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
  } catch (error) {
    await rm(file, { force: true });
    if (error instanceof TooLarge) throw new AppError('too_large', `the file is larger than the limit of ${max} bytes`);
    throw invalid('the upload was interrupted', [{ path: 'body', message: (error as Error).message }]);
  }
  return { bytes, sha256: hash.digest('hex') };
}

export function registerImportRoutes(api: Api, deps: ImportRouteDeps): ImportRunner {
  const { db, logger } = deps;
  const max = deps.maxUploadBytes ?? DEFAULT_MAX_UPLOAD;
  const running = new Map<string, { controller: AbortController; done: Promise<unknown> }>();
  const page = z.object({
    limit: z.coerce.number().int().min(1).max(500).default(100),
    offset: z.coerce.number().int().min(0).default(0),
  });

  api.route({
    method: 'post',
    path: '/imports',
    summary: 'upload a customer file (raw text/csv or application/x-ndjson body) and import it in the background',
    tag: 'imports',
    auth: IMPORT_ROLES,
    query: z.object({ fileName: z.string().trim().min(1).max(200).optional() }),
    status: 202,
    handler: async ({ query, actor, ctx }) => {
      const format = TYPES[ctx.request.type];
      if (!format) throw invalid('unsupported content type', [{ path: 'headers.content-type', message: 'send the file as text/csv or application/x-ndjson' }]);
      const declared = Number(ctx.get('content-length'));
      if (declared > max) throw new AppError('too_large', `the file is larger than the limit of ${max} bytes`);
      const dir = path.join(deps.dataDir, 'imports');
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const file = path.join(dir, `${randomUUID()}.${format}`);
      const { bytes, sha256 } = await receive(ctx.req, file, max);
      if (bytes === 0) {
        await rm(file, { force: true });
        throw invalid('the file is empty', [{ path: 'body', message: 'the file is empty' }]);
      }
      const fileName = path.basename(query.fileName ?? `upload.${format}`);
      const controller = new AbortController();
      const started = startImport(deps, {
        path: file, format, fileName, sha256, createdBy: actor!.id, batchSize: deps.batchSize, signal: controller.signal,
        onProgress: (p) => deps.realtime?.toConsole('import.progress', p),
      });
      let claim: { id: string; resumed: boolean };
      try {
        claim = await started.claimed;
      } catch (error) {
        await rm(file, { force: true });
        throw error;
      }
      const done = started.done.then(
        async (summary) => {
          deps.realtime?.toConsole('import.done', summary);
          if (deps.jobs) await enqueueFollowUp(deps.jobs, summary.importId).catch((e: unknown) => logger.warn({ err: e, importId: summary.importId }, 'import follow-up not queued; the every-minute run will do it'));
          await rm(file, { force: true }); // the data is in the database now; keep no copy of the file
        },
        (error: unknown) => {
          // Kept so the import can be resumed from it (`npm run import -- <file>`) as well as by a new upload.
          logger.warn({ importId: claim.id, file, err: error }, 'customer import stopped; its upload is kept for a resume');
          deps.realtime?.toConsole('import.failed', { importId: claim.id, error: error instanceof Error ? error.message : String(error) });
        },
      );
      running.set(claim.id, { controller, done });
      void done.finally(() => running.delete(claim.id));
      await recordAudit(
        db,
        auditBy(actor!, { ip: ctx.ip, requestId: ctx.state.requestId })('customers.import', {
          targetType: 'import',
          targetId: claim.id,
          outcome: 'success',
          detail: { fileName, format, bytes, sha256, resumed: claim.resumed },
        }),
      );
      return { id: claim.id, status: 'running', resumed: claim.resumed, fileName, bytes };
    },
  });

  api.route({
    method: 'get',
    path: '/imports',
    summary: 'the latest customer imports',
    tag: 'imports',
    auth: IMPORT_ROLES,
    query: page,
    handler: async ({ query }) => ({ items: await listImports(db, query) }),
  });

  api.route({
    method: 'get',
    path: '/imports/:id',
    summary: 'a customer import: status, counts and resume point',
    tag: 'imports',
    auth: IMPORT_ROLES,
    params: z.object({ id: z.uuid() }),
    handler: async ({ params }) => {
      const found = await getImport(db, params.id);
      if (!found) throw notFound('import');
      return found;
    },
  });

  api.route({
    method: 'get',
    path: '/imports/:id/rejections',
    summary: 'the rejected rows of a customer import, by line, with every reason',
    tag: 'imports',
    auth: IMPORT_ROLES,
    params: z.object({ id: z.uuid() }),
    query: page,
    handler: async ({ params, query }) => {
      if (!(await getImport(db, params.id))) throw notFound('import');
      return listRejections(db, params.id, query);
    },
  });

  return {
    running: () => [...running.keys()],
    abortAll: () => running.forEach((r) => r.controller.abort()),
    settled: async () => void (await Promise.all([...running.values()].map((r) => r.done))),
  };
}
