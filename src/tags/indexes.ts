import { sql } from 'kysely';
import type { Db } from '../platform/db/database.js';
import type { Logger } from '../platform/logger.js';

/**
 * One partial covering index per fact tag (docs/benchmarks.md, "Segments"): `customers (id) INCLUDE (…) WHERE
 * tag_nos @> ARRAY[n]`. A segment whose selective condition is a fact tag ("客群:临近退休 且 90天内无联系") is then
 * counted from that index alone, its other conditions checked on each entry, instead of visiting the heap page of
 * every tagged customer (the GIN index on tag_nos can find them but cannot return a column). The filter compiler
 * writes a single resolved tag as exactly this predicate (filters/tags.ts), which is how the planner matches it.
 *
 * Fact tags are the bank-wide facts (AUM tier, 代发, 社保, 临近退休, …) most segments start from; the set is small
 * and changes only when the nightly job creates one. Indexes are built and dropped CONCURRENTLY (writes go on), by
 * the nightly tag job after the fact tags (jobs.ts); an index left invalid by an interrupted build is rebuilt.
 * The name carries a version of the column list, so changing it here replaces every index on the next run.
 */
const VERSION = 'v1';
/** Only names of this shape are managed here (customers_tag_nos, the GIN index of migration 0009, is not one). */
const TAG_INDEX_NAME = /^customers_tag_[0-9]+_v[0-9]+$/;
/** The columns the filter grammar reads from the customer row (fields in filters/sources.ts), beside the key id. */
const INCLUDED = ['aum', 'branch_id', 'risk_level', 'risk_assessed_at', 'churn_band', 'last_contact_at', 'marketing_consent', 'birth_date', 'gender', 'last_txn_at', 'tag_nos'] as const;

export const tagIndexName = (tagNo: number) => `customers_tag_${tagNo}_${VERSION}`;

export interface TagIndexResult {
  created: string[];
  dropped: string[];
}

/** The tags that get an index: live tags of fact groups. */
async function indexedTags(db: Db): Promise<number[]> {
  const rows = await db.selectFrom('tags as t').innerJoin('tag_groups as g', 'g.id', 't.group_id')
    .select('t.tag_no').where('g.layer', '=', 'fact').where('t.deleted_at', 'is', null).orderBy('t.tag_no').execute();
  return rows.map((r) => r.tag_no);
}

/**
 * Brings the indexes in line with the fact tags. One connection holds a session advisory lock throughout, so two
 * processes never build or drop the same index at once (the second returns having done nothing).
 */
export async function syncTagIndexes(db: Db, logger?: Logger): Promise<TagIndexResult> {
  return db.connection().execute(async (conn) => {
    const { rows } = await sql<{ ok: boolean }>`SELECT pg_try_advisory_lock(hashtext('tags.indexes')) AS ok`.execute(conn);
    if (!rows[0]?.ok) return { created: [], dropped: [] };
    try {
      return await sync(conn, logger);
    } finally {
      await sql`SELECT pg_advisory_unlock(hashtext('tags.indexes'))`.execute(conn);
    }
  });
}

async function sync(db: Db, logger?: Logger): Promise<TagIndexResult> {
  const wanted = new Map((await indexedTags(db)).map((n) => [tagIndexName(n), n]));
  const { rows: existing } = await sql<{ name: string; valid: boolean }>`
    SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    WHERE i.indrelid = 'customers'::regclass AND c.relname ~ ${TAG_INDEX_NAME.source}`.execute(db);
  const result: TagIndexResult = { created: [], dropped: [] };
  for (const index of existing) {
    if (wanted.has(index.name) && index.valid) {
      wanted.delete(index.name);
      continue;
    }
    // Names come from pg_class and match the prefix; sql.id quotes them anyway.
    await sql`DROP INDEX CONCURRENTLY IF EXISTS ${sql.id(index.name)}`.execute(db);
    result.dropped.push(index.name);
  }
  for (const [name, tagNo] of wanted) {
    if (!Number.isSafeInteger(tagNo) || tagNo <= 0) throw new Error(`tag index: tag number ${tagNo} is not a positive integer`);
    const started = Date.now();
    await sql`CREATE INDEX CONCURRENTLY IF NOT EXISTS ${sql.id(name)} ON customers (id) INCLUDE (${sql.join(INCLUDED.map((c) => sql.id(c)))})
      WHERE tag_nos @> ${sql.raw(`ARRAY[${tagNo}]::integer[]`)}`.execute(db);
    result.created.push(name);
    logger?.info({ index: name, tagNo, ms: Date.now() - started }, 'tag index built');
  }
  return result;
}
