import { sql } from 'kysely';
import type { Db } from '../../platform/db/database.js';
import { conflict } from '../../platform/errors.js';
import type { ImportFormat } from './source.js';

/**
 * The import row: claimed (new or resumed) under an advisory lock held for the whole run, its
 * progress moved forward in each batch's transaction (see writers.ts), and finished.
 */
export interface Totals {
  processed: number;
  inserted: number;
  updated: number;
  unchanged: number;
  rejected: number;
}

export interface Claim {
  id: string;
  resumed: boolean;
  format: ImportFormat;
  fileName: string;
  byteOffset: number;
  lineNumber: number;
  totals: Totals;
}

const lockKey = (sha256: string) => sql<bigint>`hashtextextended(${`customers.import:${sha256}`}, 0)`;

/**
 * Takes the file's advisory lock on this connection (held until release or disconnect, so a
 * crashed process frees it) and resumes the latest unfinished import of the same file, or starts one.
 */
export async function claimImport(conn: Db, input: { sha256: string; fileName: string; format: ImportFormat; createdBy: string | null }): Promise<Claim> {
  const { rows } = await sql<{ ok: boolean }>`SELECT pg_try_advisory_lock(${lockKey(input.sha256)}) AS ok`.execute(conn);
  if (!rows[0]?.ok) {
    const running = await conn.selectFrom('imports').select('id').where('sha256', '=', input.sha256).where('status', '=', 'running').orderBy('started_at', 'desc').executeTakeFirst();
    throw conflict(`an import of this file is already running${running ? ` (${running.id})` : ''}`);
  }
  const open = await conn
    .selectFrom('imports')
    .selectAll()
    .where('sha256', '=', input.sha256)
    .where('status', 'in', ['running', 'failed'])
    .orderBy('started_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  const row = open
    ? await conn.updateTable('imports').set({ status: 'running', error: null, finished_at: null }).where('id', '=', open.id).returningAll().executeTakeFirstOrThrow()
    : await conn
        .insertInto('imports')
        .values({ file_name: input.fileName, format: input.format, sha256: input.sha256, status: 'running', created_by: input.createdBy })
        .returningAll()
        .executeTakeFirstOrThrow();
  return {
    id: row.id,
    resumed: Boolean(open),
    format: row.format,
    fileName: row.file_name,
    byteOffset: Number(row.byte_offset),
    lineNumber: row.line_number,
    totals: { processed: row.processed_rows, inserted: row.inserted_rows, updated: row.updated_rows, unchanged: row.unchanged_rows, rejected: row.rejected_rows },
  };
}

/** The claim again, at the resume point and counts of the last committed batch (after a failed attempt). */
export async function reloadClaim(conn: Db, claim: Claim): Promise<Claim> {
  const row = await conn.selectFrom('imports').selectAll().where('id', '=', claim.id).executeTakeFirstOrThrow();
  return {
    ...claim,
    byteOffset: Number(row.byte_offset),
    lineNumber: row.line_number,
    totals: { processed: row.processed_rows, inserted: row.inserted_rows, updated: row.updated_rows, unchanged: row.unchanged_rows, rejected: row.rejected_rows },
  };
}

export async function releaseImport(conn: Db, sha256: string): Promise<void> {
  await sql`SELECT pg_advisory_unlock(${lockKey(sha256)})`.execute(conn);
}

/** Moves the import's counts and resume point to the end of a batch (in that batch's transaction). */
export async function saveProgress(conn: Db, importId: string, totals: Totals, at: { end: number; endLine: number }): Promise<void> {
  await conn
    .updateTable('imports')
    .set({
      processed_rows: totals.processed,
      inserted_rows: totals.inserted,
      updated_rows: totals.updated,
      unchanged_rows: totals.unchanged,
      rejected_rows: totals.rejected,
      byte_offset: at.end,
      line_number: at.endLine,
    })
    .where('id', '=', importId)
    .execute();
}

export async function finishImport(db: Db, id: string, outcome: { status: 'done' } | { status: 'failed'; error: string }): Promise<void> {
  await db
    .updateTable('imports')
    .set({
      status: outcome.status,
      error: outcome.status === 'failed' ? outcome.error.slice(0, 2000) : null,
      ...(outcome.status === 'done' ? { total_rows: sql<number>`processed_rows` } : {}),
      finished_at: new Date(),
    })
    .where('id', '=', id)
    .execute();
}

export async function loadBranchIds(db: Db): Promise<Set<string>> {
  return new Set((await db.selectFrom('branches').select('id').execute()).map((b) => b.id));
}
