import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { testCipher, testDatabase } from '../../../test/harness.js';
import { createLogger } from '../../platform/logger.js';
import type { DatabaseHandle, Db } from '../../platform/db/database.js';
import type { FieldCipher } from '../../platform/crypto.js';
import { BRANCHES } from '../../demo/branches.js';
import type { ImportDeps } from './index.js';

/** Test support for the import tests: a fresh database with the demo branches, files, and a comparable dump. */
export interface ImportFixture {
  handle: DatabaseHandle;
  db: Db;
  cipher: FieldCipher;
  deps: ImportDeps;
}

export async function importFixture(): Promise<ImportFixture> {
  const handle = await testDatabase();
  await handle.db.insertInto('branches').values(BRANCHES.map((b) => ({ id: b.id, name: b.name, city: b.city }))).execute();
  const cipher = testCipher();
  return { handle, db: handle.db, cipher, deps: { db: handle.db, cipher, logger: createLogger({ level: 'silent' }) } };
}

const dir = mkdtempSync(path.join(tmpdir(), 'scrm-import-'));
let counter = 0;

export function writeTemp(name: string, content: string | Buffer): string {
  const file = path.join(dir, `${++counter}-${name}`);
  writeFileSync(file, content);
  return file;
}

/** Every customer with mobile and ID decrypted and without ids and timestamps, by CIF number. */
export async function dumpCustomers(db: Db, cipher: FieldCipher) {
  const rows = await db
    .selectFrom('customers')
    .select(['cif_no', 'name', 'gender', 'mobile_enc', 'mobile_hash', 'id_number_enc', 'id_number_hash', 'birth_date', 'branch_id', 'aum', 'risk_level', 'risk_assessed_at', 'products', 'segments', 'marketing_consent'])
    .select(sql<string | null>`to_char(last_txn_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`.as('last_txn_at'))
    .orderBy('cif_no')
    .execute();
  return rows.map(({ mobile_enc, id_number_enc, ...r }) => ({
    ...r,
    mobile: mobile_enc ? cipher.decrypt(mobile_enc) : null,
    id_number: id_number_enc ? cipher.decrypt(id_number_enc) : null,
  }));
}

/** What a re-run must leave alone: the stored ciphertext and updated_at of every row. */
export async function rowVersions(db: Db) {
  return db.selectFrom('customers').select(['cif_no', 'mobile_enc', 'id_number_enc', 'updated_at']).orderBy('cif_no').execute();
}

export async function rejections(db: Db, importId: string) {
  return db.selectFrom('import_rejections').select(['line_number', 'cif_no', 'reasons']).where('import_id', '=', importId).orderBy('line_number').execute();
}

/** The fields named by a rejection's reasons. */
export const fieldsOf = (reasons: unknown) => (reasons as { field: string }[]).map((r) => r.field);
