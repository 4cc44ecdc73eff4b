import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../../platform/db/database.js';
import type { FieldCipher } from '../../platform/crypto.js';
import type { Reason, ValidRow } from './validate.js';

/**
 * A batch of checked rows and rejections, and the two statements that apply it:
 * - `changedRows` (the probe) compares the batch with the stored customers and returns which rows are
 *   new or differ — by the lookup hashes for mobile and ID, never the ciphertext, whose IV differs on
 *   every encryption — so rows that did not change are never encrypted, written or locked;
 * - `mergeBatch` encrypts the rows it is given and upserts them by CIF number (re-checking that each
 *   differs), and records the rejections. Both run inside the batch's transaction (see writers.ts).
 */
export class Batch {
  readonly rows: ValidRow[] = [];
  readonly mobileHash: (string | null)[] = [];
  readonly idHash: (string | null)[] = [];
  readonly rejLine: number[] = [];
  readonly rejCif: (string | null)[] = [];
  readonly rejReasons: string[] = [];
  records = 0;
  /** Resume point after the last record of the batch. */
  end = 0;
  endLine = 0;

  constructor(readonly cipher: FieldCipher) {}

  get accepted(): number {
    return this.rows.length;
  }

  add(row: ValidRow): void {
    this.rows.push(row);
    this.mobileHash.push(row.mobile ? this.cipher.lookupHash('mobile', row.mobile) : null);
    this.idHash.push(row.idNumber ? this.cipher.lookupHash('id_number', row.idNumber) : null);
  }

  reject(line: number, cifNo: string | null, reasons: Reason[]): void {
    this.rejLine.push(line);
    this.rejCif.push(cifNo);
    this.rejReasons.push(JSON.stringify(reasons));
  }
}

/**
 * A PostgreSQL array literal (pg's own serialiser runs two regex replaces on every element). `plain`
 * columns hold values already checked to contain no quote or backslash (codes, dates, hashes, base64).
 */
function lit(values: readonly (string | number | boolean | null)[], plain = false): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i) out += ',';
    if (v === null || v === undefined) out += 'NULL';
    else if (typeof v !== 'string') out += String(v);
    else if (plain) out += '"' + v + '"';
    else out += '"' + (/["\\]/.test(v) ? v.replace(/["\\]/g, '\\$&') : v) + '"';
  }
  return out + '}';
}

/** The batch's rows (those at `which`, else all) as a relation `src`, typed like the customers table. */
function source(b: Batch, which: readonly number[] | undefined, encrypt: boolean): RawBuilder<unknown> {
  const n = which ? which.length : b.rows.length;
  const c = Array.from({ length: 16 }, () => new Array<string | boolean | null>(n));
  for (let k = 0; k < n; k++) {
    const i = which ? which[k]! : k;
    const r = b.rows[i]!;
    c[0]![k] = r.cifNo; c[1]![k] = r.name; c[2]![k] = r.gender;
    c[3]![k] = encrypt && r.mobile ? b.cipher.encrypt(r.mobile) : null; c[4]![k] = b.mobileHash[i]!;
    c[5]![k] = encrypt && r.idNumber ? b.cipher.encrypt(r.idNumber) : null; c[6]![k] = b.idHash[i]!;
    c[7]![k] = r.birthDate; c[8]![k] = r.branchId; c[9]![k] = r.aum; c[10]![k] = r.riskLevel; c[11]![k] = r.riskAssessedAt;
    c[12]![k] = r.products; c[13]![k] = r.segments; c[14]![k] = r.lastTxnAt; c[15]![k] = r.marketingConsent;
  }
  // Name and branch id are escaped; every other column was validated to a code, number, date, hash or base64.
  const [cif, name, gender, mobileEnc, mobileHash, idEnc, idHash, birth, branch, aum, risk, riskAt, products, segments, txn, consent] = c.map((col, k) => lit(col, k !== 1 && k !== 8));
  return sql`
    SELECT s.ord, s.cif_no, s.name, s.gender, s.mobile_enc, s.mobile_hash, s.id_number_enc, s.id_number_hash,
           s.birth_date::date AS birth_date, s.branch_id, s.aum::numeric(18,2) AS aum, s.risk_level,
           s.risk_assessed_at::date AS risk_assessed_at, string_to_array(s.products, '|') AS products,
           string_to_array(s.segments, '|') AS segments, s.last_txn_at::timestamptz AS last_txn_at, s.marketing_consent
    FROM unnest(${cif}::text[], ${name}::text[], ${gender}::text[], ${mobileEnc}::text[], ${mobileHash}::text[], ${idEnc}::text[],
                ${idHash}::text[], ${birth}::text[], ${branch}::text[], ${aum}::text[], ${risk}::text[], ${riskAt}::text[],
                ${products}::text[], ${segments}::text[], ${txn}::text[], ${consent}::boolean[]) WITH ORDINALITY
      AS s(cif_no, name, gender, mobile_enc, mobile_hash, id_number_enc, id_number_hash, birth_date, branch_id, aum,
           risk_level, risk_assessed_at, products, segments, last_txn_at, marketing_consent, ord)`;
}

// What decides whether a stored customer differs from the file (attrs and timestamps are not the file's).
const COMPARED = ['name', 'gender', 'mobile_hash', 'id_number_hash', 'birth_date', 'branch_id', 'aum', 'risk_level', 'risk_assessed_at', 'products', 'segments', 'last_txn_at', 'marketing_consent'];
const WRITTEN = ['name', 'gender', 'mobile_enc', 'mobile_hash', 'id_number_enc', 'id_number_hash', 'birth_date', 'branch_id', 'aum', 'risk_level', 'risk_assessed_at', 'products', 'segments', 'last_txn_at', 'marketing_consent'];
const tuple = (alias: string) => sql.raw(`(${COMPARED.map((c) => `${alias}.${c}`).join(', ')})`);
const columns = sql.raw(['cif_no', ...WRITTEN].join(', '));
const setClause = sql.raw([...WRITTEN.map((c) => `${c} = excluded.${c}`), 'updated_at = now()'].join(', '));
// The columns an SOP may watch (definition.ts WATCHED_ATTRIBUTES; aum_tier derives from aum).
const WATCHED = ['aum', 'risk_level', 'marketing_consent', 'branch_id'];
const watched = (alias: string, prefix = '') => sql.raw(`(${WATCHED.map((c) => `${alias}.${prefix}${c}`).join(', ')})`);
// LIMIT 1 keeps the lookup a per-row index probe: never a hash join that scans every customer per batch.
// The stored values of the watched columns come along (was_*), so the merge can say what it changed.
const CHANGED = sql`
  SELECT src.*, ${sql.raw(WATCHED.map((w) => `c.${w} AS was_${w}`).join(', '))}
  FROM src LEFT JOIN LATERAL (SELECT * FROM customers c WHERE c.cif_no = src.cif_no LIMIT 1) c ON true
  WHERE c.cif_no IS NULL OR ${tuple('c')} IS DISTINCT FROM ${tuple('src')}`;

/** A stored customer whose watched columns the merge changed: [id, then from and to of each in WATCHED order]. */
export type WatchedChange = [id: string, fromAum: number, toAum: number, fromRisk: string | null, toRisk: string | null, fromConsent: boolean, toConsent: boolean, fromBranch: string | null, toBranch: string | null];

export interface MergeResult {
  inserted: number;
  updated: number;
  /** Updated customers whose watched columns changed, with the values before and after; new customers are not here. */
  watched: WatchedChange[];
}

/** Positions (in `b.rows`) of the rows that are new or differ from the stored customer. */
export async function changedRows(conn: Db, b: Batch): Promise<number[]> {
  if (!b.rows.length) return [];
  const { rows } = await sql<{ i: number }>`WITH src AS (${source(b, undefined, false)}) SELECT (ord - 1)::int AS i FROM (${CHANGED}) changed`.execute(conn);
  return rows.map((r) => r.i).sort((x, y) => x - y);
}

/**
 * Upserts the rows at `which` (all when undefined) and records the rejections; returns what changed.
 * The values before come from the statement's own comparison (its snapshot), not from a query per row;
 * so only another import updating the same customer at the same moment (its merge waits for the row
 * lock, then updates the newer version) could report a `from` that had already changed.
 */
export async function mergeBatch(conn: Db, importId: string, b: Batch, which?: readonly number[]): Promise<MergeResult> {
  const { rows } = await sql<{ inserted: number; updated: number; watched: WatchedChange[] | null }>`
    WITH src AS (${source(b, which, true)}),
    changed AS (${CHANGED}),
    merged AS (
      INSERT INTO customers AS c (${columns})
      SELECT ${columns} FROM changed ORDER BY cif_no
      ON CONFLICT (cif_no) DO UPDATE SET ${setClause}
      WHERE ${tuple('c')} IS DISTINCT FROM ${tuple('excluded')}
      RETURNING (xmax = 0) AS inserted, c.id, c.cif_no, ${sql.raw(WATCHED.map((w) => `c.${w}`).join(', '))}
    ), rejected AS (
      INSERT INTO import_rejections (import_id, line_number, cif_no, reasons)
      SELECT ${importId}::uuid, t.line, t.cif, t.reasons::jsonb
      FROM unnest(${lit(b.rejLine)}::int[], ${lit(b.rejCif)}::text[], ${lit(b.rejReasons)}::text[]) AS t(line, cif, reasons)
      ON CONFLICT (import_id, line_number) DO UPDATE SET cif_no = excluded.cif_no, reasons = excluded.reasons
    )
    SELECT (count(*) FILTER (WHERE inserted))::int AS inserted, (count(*) FILTER (WHERE NOT inserted))::int AS updated,
      (SELECT json_agg(json_build_array(m.id, ${sql.raw(WATCHED.map((w) => `o.was_${w}, m.${w}`).join(', '))}))
         FROM merged m JOIN changed o ON o.cif_no = m.cif_no
        WHERE NOT m.inserted AND ${watched('o', 'was_')} IS DISTINCT FROM ${watched('m')}) AS watched
    FROM merged`.execute(conn);
  return { inserted: rows[0]?.inserted ?? 0, updated: rows[0]?.updated ?? 0, watched: rows[0]?.watched ?? [] };
}
