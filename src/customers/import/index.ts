import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../../platform/db/database.js';
import type { FieldCipher } from '../../platform/crypto.js';
import type { Logger } from '../../platform/logger.js';
import { getSetting } from '../../settings/index.js';
import { CifIndex } from './seen.js';
import { formatOf, readCsvHeader, readRecords, sha256File, type ImportFormat } from './source.js';
import { Batch } from './batch.js';
import { claimImport, finishImport, loadBranchIds, reloadClaim, releaseImport, type Claim, type Totals } from './store.js';
import { OrderedWriters } from './writers.js';
import { PRODUCT_IDS, validateRecord, type Refs } from './validate.js';

/**
 * Importing the bank's customer files (DESIGN "Bank data in"): a file is streamed, each row checked,
 * and rows applied in batches, each batch in one transaction with the import's progress, upserting
 * by CIF number. Unchanged rows (compared through the lookup hashes, never the ciphertext) are left
 * alone, so a re-run changes nothing. Importing a file whose earlier import of the same content
 * (sha256) is unfinished — crashed ('running' with nobody holding its lock) or 'failed' (an error or
 * an abort) — resumes it from the saved byte offset; importing a file whose import is done runs a new,
 * full pass that reports every row unchanged (and repairs any row changed since).
 *
 * Every stored customer a batch changes in a watched attribute (AUM and its tier, risk level, consent, branch) is
 * recorded in `import_changes` in that batch's transaction; the service's follow-up job publishes each as a
 * `customer.updated` event caused by the import (followup.ts), from a web or a command-line import alike. New
 * customers get none.
 */
export interface ImportDeps {
  db: Db;
  cipher: FieldCipher;
  logger: Logger;
}

export interface ImportInput {
  path: string;
  /** By the file's extension (.csv, .jsonl, .ndjson) when absent. */
  format?: ImportFormat;
  /** Shown in the import row; the path's base name by default. */
  fileName?: string;
  /** The file's sha256 when the caller already has it (computed during an upload); else a first pass hashes it. */
  sha256?: string;
  createdBy?: string;
  /** Rows per transaction; default 5,000. */
  batchSize?: number;
  /** Called after each committed batch; throwing from it stops the import (resumable). */
  onProgress?: (progress: ImportProgress) => void;
  /** Aborting stops after the batches being written commit; the import is left resumable. */
  signal?: AbortSignal;
  /** Database connections applying batches at once, committing in file order (default 2; 1 = one after another). */
  connections?: number;
}

export interface ImportProgress {
  importId: string;
  fileName: string;
  processedRows: number;
  inserted: number;
  updated: number;
  unchanged: number;
  rejected: number;
  byteOffset: number;
  totalBytes: number;
  lineNumber: number;
  /** 0–100 by bytes. */
  percent: number;
  elapsedSeconds: number;
}

export interface ImportSummary extends ImportProgress {
  status: 'done';
  format: ImportFormat;
  sha256: string;
  /** True when this run continued an interrupted import of the same file. */
  resumed: boolean;
  /** Counts are for the whole import, including the part done before a resume. */
  totalRows: number;
  seconds: number;
}

export interface StartedImport {
  /** Resolves once the import row exists (new or resumed); rejects if the import cannot start. */
  claimed: Promise<{ id: string; resumed: boolean }>;
  done: Promise<ImportSummary>;
}

export const DEFAULT_BATCH_SIZE = 5_000;
export const DEFAULT_CONNECTIONS = 2;
const YIELD_EVERY = 500;

export async function importCustomers(deps: ImportDeps, input: ImportInput): Promise<ImportSummary> {
  return startImport(deps, input).done;
}

/** Starts an import and reports its id as soon as it has one (the web layer answers with it). */
export function startImport(deps: ImportDeps, input: ImportInput): StartedImport {
  let announce!: (c: { id: string; resumed: boolean }) => void;
  let refuse!: (e: unknown) => void;
  const claimed = new Promise<{ id: string; resumed: boolean }>((resolve, reject) => ((announce = resolve), (refuse = reject)));
  claimed.catch(() => undefined); // a caller that only awaits `done` sees the same error there
  const done = run(deps, input, announce);
  done.catch(refuse);
  return { claimed, done };
}

/** deadlock_detected, serialization_failure, lock_not_available (lock_timeout). */
const LOCK_CONFLICTS = new Set(['40P01', '40001', '55P03']);
const LOCK_ATTEMPTS = 3;
const isLockConflict = (error: unknown) => LOCK_CONFLICTS.has((error as { code?: string } | null)?.code ?? '');

const chinaToday = () => new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);

async function run(deps: ImportDeps, input: ImportInput, announce: (c: { id: string; resumed: boolean }) => void): Promise<ImportSummary> {
  const started = performance.now();
  const totalBytes = (await stat(input.path)).size;
  const format = input.format ?? formatOf(input.path);
  const sha256 = input.sha256 ?? (await sha256File(input.path));
  const fileName = input.fileName ?? path.basename(input.path);
  // One connection for the whole run: it holds the file's advisory lock and runs every batch.
  return deps.db.connection().execute(async (conn) => {
    const claim = await claimImport(conn, { sha256, fileName, format, createdBy: input.createdBy ?? null });
    const log = deps.logger.child({ importId: claim.id });
    log.info({ fileName, format: claim.format, bytes: totalBytes, resumed: claim.resumed, from: claim.byteOffset }, 'customer import started');
    announce({ id: claim.id, resumed: claim.resumed });
    try {
      const count = Math.max(1, Math.min(4, Math.floor(input.connections ?? DEFAULT_CONNECTIONS)));
      let progress: ImportProgress;
      for (let current = claim, attempt = 1; ; attempt++) {
        try {
          progress = await withConnections(deps.db, count - 1, (more) => apply([conn, ...more], deps, input, current, { totalBytes, started }));
          break;
        } catch (error) {
          // A batch PostgreSQL chose as a deadlock's victim (another writer locked the same customers in another
          // order), or one that waited too long for a lock: resume from the last committed batch, as a re-run would.
          if (!isLockConflict(error) || attempt >= LOCK_ATTEMPTS || input.signal?.aborted) throw error;
          log.warn({ err: error, attempt }, 'customer import batch lost a lock conflict; resuming from the last committed batch');
          await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
          current = await reloadClaim(conn, claim);
        }
      }
      await finishImport(conn, claim.id, { status: 'done' });
      const summary: ImportSummary = {
        ...progress, status: 'done', format: claim.format, sha256, resumed: claim.resumed,
        totalRows: progress.processedRows, seconds: (performance.now() - started) / 1000,
      };
      log.info({ ...summary, sha256: undefined }, 'customer import done');
      return summary;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // The connection may be the thing that failed; the pool has others.
      await finishImport(conn, claim.id, { status: 'failed', error: message })
        .catch(() => finishImport(deps.db, claim.id, { status: 'failed', error: message }))
        .catch((e: unknown) => log.warn({ err: e }, 'could not mark the import failed'));
      if (input.signal?.aborted) log.info('customer import stopped on request; importing the same file again resumes it');
      else log.warn({ err: error }, 'customer import stopped; importing the same file again resumes it');
      throw error;
    } finally {
      await releaseImport(conn, sha256).catch(() => undefined);
    }
  });
}

async function apply(connections: Db[], deps: ImportDeps, input: ImportInput, claim: Claim, file: { totalBytes: number; started: number }): Promise<ImportProgress> {
  const conn = connections[0]!;
  const { cipher } = deps;
  const batchSize = Math.max(1, Math.min(50_000, Math.floor(input.batchSize ?? DEFAULT_BATCH_SIZE)));
  const refs: Refs = { branches: await loadBranchIds(conn), products: PRODUCT_IDS, today: chinaToday() };
  const header = claim.format === 'csv' ? await readCsvHeader(input.path) : undefined;
  const seen = new CifIndex();
  let from = { offset: header?.end ?? 0, line: header?.endLine ?? 0 };
  if (claim.byteOffset > from.offset) {
    // Resuming: re-check the committed part (no encryption, no writes) to know which CIF numbers it accepted.
    for await (const records of readRecords(input.path, claim.format, header, { ...from, until: claim.byteOffset })) {
      for (const record of records) validateRecord(record, refs, seen);
    }
    from = { offset: claim.byteOffset, line: claim.lineNumber };
  }

  const totals: Totals = { ...claim.totals };
  let progress = snapshot(claim, totals, from.offset, from.line, file);
  const checkAbort = () => {
    if (input.signal?.aborted) throw input.signal.reason instanceof Error ? input.signal.reason : new Error('import aborted');
  };
  // AUM tiers by the thresholds in force when the import starts.
  const thresholds = await getSetting(conn, 'customers.aumTiers');
  const onCommit = (b: Batch) => {
    progress = snapshot(claim, totals, b.end, b.endLine, file);
    input.onProgress?.(progress);
  };
  const writers = new OrderedWriters(connections, claim.id, totals, onCommit, thresholds, checkAbort);

  // Reading and checking the next batch overlaps with the database applying earlier ones.
  let batch = new Batch(cipher);
  try {
    checkAbort();
    for await (const records of readRecords(input.path, claim.format, header, from)) {
      for (let i = 0; i < records.length; i++) {
        const record = records[i]!;
        const checked = validateRecord(record, refs, seen);
        if (checked.row) batch.add(checked.row);
        else batch.reject(record.line, checked.cifNo, checked.reasons);
        batch.records++;
        batch.end = record.end;
        batch.endLine = record.endLine;
        if (batch.records >= batchSize) {
          await writers.submit(batch);
          batch = new Batch(cipher);
        }
        // Let the database's answers in now and then, so no connection waits on this loop for long.
        if (i % YIELD_EVERY === YIELD_EVERY - 1) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    if (batch.records) await writers.submit(batch);
    await writers.drain();
  } catch (error) {
    await writers.settle(); // every transaction ended before the connections go back to the pool
    throw error;
  }
  return progress;
}

/** Runs `fn` with `n` more connections of the pool, each held for the whole call. */
function withConnections<T>(db: Db, n: number, fn: (connections: Db[]) => Promise<T>, held: Db[] = []): Promise<T> {
  if (held.length >= n) return fn(held);
  return db.connection().execute((conn) => withConnections(db, n, fn, [...held, conn]));
}

function snapshot(claim: Claim, t: Totals, byteOffset: number, lineNumber: number, file: { totalBytes: number; started: number }): ImportProgress {
  return {
    importId: claim.id,
    fileName: claim.fileName,
    processedRows: t.processed,
    inserted: t.inserted,
    updated: t.updated,
    unchanged: t.unchanged,
    rejected: t.rejected,
    byteOffset,
    totalBytes: file.totalBytes,
    lineNumber,
    percent: file.totalBytes ? Math.min(100, Math.round((byteOffset / file.totalBytes) * 1000) / 10) : 100,
    elapsedSeconds: Math.round((performance.now() - file.started) / 100) / 10,
  };
}

export { getImport, listRejections, listImports, type ImportView, type RejectionView } from './queries.js';
export { ImportFileError, formatOf, type ImportFormat } from './source.js';
export { SEGMENTS, type Reason } from './validate.js';
