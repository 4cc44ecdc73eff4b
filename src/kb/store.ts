import { sql, type Selectable } from 'kysely';
import type { Db } from '../platform/db/database.js';
import type { KbChange, KbEntryRow, KbEntryStatus, KbEntryVersionRow } from '../platform/db/schema.js';
import { AppError } from '../platform/errors.js';

/** Rows of kb_entries and kb_entry_versions, as the API and the search index see them. */
export interface KbEntry {
  id: string;
  category: string;
  question: string;
  altQuestions: string[];
  answer: string;
  productIds: string[];
  needsDisclaimer: boolean;
  handoff: boolean;
  status: KbEntryStatus;
  version: number;
  updatedBy: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface KbEntryVersion {
  entryId: string;
  version: number;
  change: KbChange;
  category: string;
  question: string;
  altQuestions: string[];
  answer: string;
  productIds: string[];
  needsDisclaimer: boolean;
  handoff: boolean;
  status: KbEntryStatus;
  note: string | null;
  changedBy: string | null;
  createdAt: string;
}

/** The content of an entry: what a save writes. */
export interface KbContent {
  category: string;
  question: string;
  altQuestions: string[];
  answer: string;
  productIds: string[];
  needsDisclaimer: boolean;
  handoff: boolean;
}

export const KB_STATUSES = ['active', 'retired'] as const;

export const kbEntryNotFound = (id: string) => new AppError('not_found', `知识库条目 ${id} 不存在`);

export function toKbEntry(row: Selectable<KbEntryRow>): KbEntry {
  return {
    id: row.id,
    category: row.category,
    question: row.question,
    altQuestions: row.alt_questions,
    answer: row.answer,
    productIds: row.product_ids,
    needsDisclaimer: row.needs_disclaimer,
    handoff: row.handoff,
    status: row.status,
    version: row.version,
    updatedBy: row.updated_by,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

function toKbEntryVersion(row: Selectable<KbEntryVersionRow>): KbEntryVersion {
  return {
    entryId: row.entry_id,
    version: row.version,
    change: row.change,
    category: row.category,
    question: row.question,
    altQuestions: row.alt_questions,
    answer: row.answer,
    productIds: row.product_ids,
    needsDisclaimer: row.needs_disclaimer,
    handoff: row.handoff,
    status: row.status,
    note: row.note,
    changedBy: row.changed_by,
    createdAt: row.created_at.toISOString(),
  };
}

export async function loadKbEntryRow(db: Db, id: string, forUpdate = false): Promise<Selectable<KbEntryRow>> {
  let query = db.selectFrom('kb_entries').selectAll().where('id', '=', id);
  if (forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (!row) throw kbEntryNotFound(id);
  return row;
}

export async function getKbEntry(db: Db, id: string): Promise<KbEntry> {
  return toKbEntry(await loadKbEntryRow(db, id));
}

export interface KbEntryQuery {
  status?: KbEntryStatus | 'any';
  category?: string;
  /** Substring of the question, an alternative question or the answer. */
  q?: string;
  limit: number;
  offset: number;
}

export async function listKbEntries(db: Db, query: KbEntryQuery): Promise<{ items: KbEntry[]; total: number }> {
  let base = db.selectFrom('kb_entries');
  const status = query.status ?? 'active';
  if (status !== 'any') base = base.where('status', '=', status);
  if (query.category) base = base.where('category', '=', query.category);
  if (query.q) {
    const like = `%${query.q.replace(/[\\%_]/g, '\\$&')}%`;
    base = base.where((eb) =>
      eb.or([
        eb('question', 'like', like),
        eb('answer', 'like', like),
        eb.exists(sql`(SELECT 1 FROM unnest(kb_entries.alt_questions) AS alt WHERE alt LIKE ${like})`),
      ]),
    );
  }
  const [rows, count] = await Promise.all([
    base.selectAll().orderBy('id').limit(query.limit).offset(query.offset).execute(),
    base.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { items: rows.map(toKbEntry), total: Number(count.n) };
}

/** Every active entry, in id order: what the search index is built from. */
export async function loadActiveKbEntries(db: Db): Promise<KbEntry[]> {
  const rows = await db.selectFrom('kb_entries').selectAll().where('status', '=', 'active').orderBy('id').execute();
  return rows.map(toKbEntry);
}

/**
 * A fingerprint of the table that changes with every save: each save adds a row or raises a
 * version, so count and the sum of versions never repeat an earlier pair.
 */
export async function kbRevision(db: Db): Promise<string> {
  const row = await db
    .selectFrom('kb_entries')
    .select([sql<string>`count(*)`.as('n'), sql<string>`coalesce(sum(version), 0)`.as('v')])
    .executeTakeFirstOrThrow();
  return `${row.n}:${row.v}`;
}

export async function listKbEntryVersions(db: Db, id: string): Promise<KbEntryVersion[]> {
  await loadKbEntryRow(db, id);
  const rows = await db.selectFrom('kb_entry_versions').selectAll().where('entry_id', '=', id).orderBy('version', 'desc').execute();
  return rows.map(toKbEntryVersion);
}

/** Writes the version row for an entry row just saved. */
export async function recordKbVersion(db: Db, row: Selectable<KbEntryRow>, change: KbChange, note: string | null, changedBy: string | null): Promise<void> {
  await db
    .insertInto('kb_entry_versions')
    .values({
      entry_id: row.id,
      version: row.version,
      change,
      category: row.category,
      question: row.question,
      alt_questions: row.alt_questions,
      answer: row.answer,
      product_ids: row.product_ids,
      needs_disclaimer: row.needs_disclaimer,
      handoff: row.handoff,
      status: row.status,
      note,
      changed_by: changedBy,
    })
    .execute();
}

/** The next free id (kb-061 after kb-060); callers hold the lock that serialises creation. */
export async function nextKbId(db: Db): Promise<string> {
  const row = await db
    .selectFrom('kb_entries')
    .select(sql<number | null>`max(substring(id from 4)::int)`.as('n'))
    .executeTakeFirstOrThrow();
  return `kb-${String((row.n ?? 0) + 1).padStart(3, '0')}`;
}
