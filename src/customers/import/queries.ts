import { sql, type Selectable } from 'kysely';
import type { Db } from '../../platform/db/database.js';
import type { ImportRow } from '../../platform/db/schema.js';
import type { Reason } from './validate.js';

/** Reading imports back: status and counts, and the rejected rows with their reasons. */
export interface ImportView {
  id: string;
  fileName: string;
  format: 'csv' | 'jsonl';
  sha256: string;
  status: 'running' | 'done' | 'failed';
  totalRows: number;
  processedRows: number;
  inserted: number;
  updated: number;
  unchanged: number;
  rejected: number;
  /** Resume point: the end of the last committed batch. */
  byteOffset: number;
  lineNumber: number;
  error: string | null;
  createdBy: string | null;
  startedAt: Date;
  finishedAt: Date | null;
}

export interface RejectionView {
  lineNumber: number;
  cifNo: string | null;
  reasons: Reason[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function view(r: Selectable<ImportRow>): ImportView {
  return {
    id: r.id,
    fileName: r.file_name,
    format: r.format,
    sha256: r.sha256,
    status: r.status,
    totalRows: r.total_rows,
    processedRows: r.processed_rows,
    inserted: r.inserted_rows,
    updated: r.updated_rows,
    unchanged: r.unchanged_rows,
    rejected: r.rejected_rows,
    byteOffset: Number(r.byte_offset),
    lineNumber: r.line_number,
    error: r.error,
    createdBy: r.created_by,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

export async function getImport(db: Db, id: string): Promise<ImportView | null> {
  if (!UUID.test(id)) return null;
  const r = await db.selectFrom('imports').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? view(r) : null;
}

/** Rejected rows in file order. */
export async function listRejections(db: Db, id: string, page: { limit: number; offset: number }): Promise<{ total: number; items: RejectionView[] }> {
  if (!UUID.test(id)) return { total: 0, items: [] };
  const [rows, count] = await Promise.all([
    db
      .selectFrom('import_rejections')
      .select(['line_number', 'cif_no', 'reasons'])
      .where('import_id', '=', id)
      .orderBy('line_number')
      .limit(page.limit)
      .offset(page.offset)
      .execute(),
    db.selectFrom('import_rejections').select(sql<number>`count(*)::int`.as('n')).where('import_id', '=', id).executeTakeFirstOrThrow(),
  ]);
  return {
    total: count.n,
    items: rows.map((r) => ({ lineNumber: r.line_number, cifNo: r.cif_no, reasons: r.reasons as Reason[] })),
  };
}

/** The latest imports, newest first. */
export async function listImports(db: Db, page: { limit: number; offset: number }): Promise<ImportView[]> {
  const rows = await db.selectFrom('imports').selectAll().orderBy('started_at', 'desc').limit(page.limit).offset(page.offset).execute();
  return rows.map(view);
}
