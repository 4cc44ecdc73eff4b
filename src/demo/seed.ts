import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import type { Config } from '../platform/config.js';
import type { FieldCipher } from '../platform/crypto.js';
import type { Db } from '../platform/db/database.js';
import type { Logger } from '../platform/logger.js';
import { hashPassword } from '../auth/index.js';
import { upsertCustomers, type CustomerInput } from '../customers/index.js';
import { BRANCHES, DEMO_STAFF } from './branches.js';
import { generateCustomers, type SyntheticCustomer } from './synthetic.js';

/** The sandbox corp: every demo WeCom row carries it. */
export const DEMO_CORP_ID = 'wwxinghe0000sandbox';

const toInput = (c: SyntheticCustomer): CustomerInput => ({
  cifNo: c.cifNo,
  name: c.name,
  gender: c.gender,
  mobile: c.mobile,
  idNumber: c.idNumber,
  birthDate: c.birthDate,
  branchId: c.branchId,
  aum: c.aum,
  riskLevel: c.riskLevel,
  riskAssessedAt: c.riskAssessedAt,
  products: c.products,
  segments: c.segments,
  lastTxnAt: c.lastTxnAt,
  marketingConsent: c.marketingConsent,
});

/**
 * The sandbox admin password: DEMO_ADMIN_PASSWORD when set, else one generated on first start and
 * kept in DATA_DIR so it can be printed again on every start.
 */
function demoPassword(config: Config): string {
  if (config.DEMO_ADMIN_PASSWORD) return config.DEMO_ADMIN_PASSWORD;
  const file = path.resolve(config.DATA_DIR, 'demo-admin-password');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(path.dirname(file), { recursive: true });
  const generated = randomBytes(9).toString('base64url');
  writeFileSync(file, generated + '\n', { mode: 0o600 });
  return generated;
}

/** Inserts customers (and their WeCom contacts and follow relations) in batches, each batch in one transaction. */
export async function insertSyntheticCustomers(db: Db, cipher: FieldCipher, customers: Iterable<SyntheticCustomer>, batchSize = 500): Promise<number> {
  let batch: SyntheticCustomer[] = [];
  let total = 0;
  const flush = async () => {
    if (!batch.length) return;
    const rows = batch;
    batch = [];
    await db.transaction().execute(async (trx) => {
      await upsertCustomers(trx, cipher, rows.map(toInput));
      const linked = rows.filter((c) => c.wecom);
      if (!linked.length) return;
      const ids = await trx.selectFrom('customers').select(['id', 'cif_no']).where('cif_no', 'in', linked.map((c) => c.cifNo)).execute();
      const idOf = new Map(ids.map((r) => [r.cif_no, r.id]));
      await trx
        .insertInto('external_contacts')
        .values(
          linked.map((c) => ({
            corp_id: DEMO_CORP_ID,
            external_userid: c.wecom!.externalUserid,
            name: c.name,
            gender: c.gender === 'M' ? 1 : 2,
            unionid: c.wecom!.unionid,
            avatar: null,
            customer_id: idOf.get(c.cifNo) ?? null,
          })),
        )
        .onConflict((oc) => oc.columns(['corp_id', 'external_userid']).doNothing())
        .execute();
      await trx
        .insertInto('follow_relations')
        .values(
          linked.map((c) => ({
            corp_id: DEMO_CORP_ID,
            userid: c.wecom!.followerUserid,
            external_userid: c.wecom!.externalUserid,
            remark: c.name,
            description: null,
            remark_mobiles: [c.mobile],
            add_way: 1,
            state: c.wecom!.state,
            added_at: c.wecom!.addedAt,
            deleted_at: null,
            deleted_by: null,
          })),
        )
        .onConflict((oc) => oc.columns(['corp_id', 'userid', 'external_userid']).doNothing())
        .execute();
    });
    total += rows.length;
  };
  for (const c of customers) {
    batch.push(c);
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  return total;
}

/** Branches and demo staff, every account with the given password. Idempotent. */
export async function seedDemoStaff(db: Db, password: string): Promise<void> {
  const passwordHash = await hashPassword(password);
  await db.insertInto('branches').values(BRANCHES.map((b) => ({ ...b }))).onConflict((oc) => oc.column('id').doNothing()).execute();
  for (const s of DEMO_STAFF) {
    await db
      .insertInto('staff')
      .values({
        username: s.username,
        display_name: s.displayName,
        role: s.role,
        branch_id: s.branchId,
        corp_id: s.wecomUserid ? DEMO_CORP_ID : null,
        wecom_userid: s.wecomUserid,
        title: s.title,
        password_hash: passwordHash,
      })
      // The password follows DEMO_ADMIN_PASSWORD when it changes between starts.
      .onConflict((oc) => oc.column('username').doUpdateSet({ password_hash: passwordHash }))
      .execute();
  }
}

/**
 * The demo bank's history, which the churn model learns from: every customer's balance 90 days ago
 * (`attrs.aum90dAgo`) and, for about one in twelve, the core system's mark that the customer was lost
 * (`attrs.churned`), with the signs that usually come with it (a balance 40–90 % lower than 90 days
 * ago, no transaction for months). Deterministic: drawn from a hash of the CIF number.
 */
export async function plantDemoHistory(db: Db): Promise<void> {
  await sql`
    WITH h AS (SELECT id, abs(hashtext(cif_no)) AS x FROM customers)
    UPDATE customers c SET
      attrs = c.attrs || CASE WHEN h.x % 12 = 0
        THEN jsonb_build_object('aum90dAgo', round(c.aum / (0.1 + (h.x / 12 % 50) / 100.0), 2), 'churned', true)
        ELSE jsonb_build_object('aum90dAgo', round(c.aum * (0.95 + (h.x / 12 % 11) / 100.0), 2)) END,
      last_txn_at = CASE WHEN h.x % 12 = 0 AND h.x % 3 <> 0 THEN now() - make_interval(days => 120 + (h.x % 200)::int) ELSE c.last_txn_at END
    FROM h WHERE h.id = c.id`.execute(db);
}

/**
 * Seeds the demo bank in sandbox mode: branches, staff (all with the demo password), and
 * DEMO_CUSTOMERS synthetic customers with their history when there are none.
 */
export async function seedDemoBank(deps: { db: Db; cipher: FieldCipher; logger: Logger; config: Config }): Promise<{ adminPassword: string; customers: number; seeded: boolean }> {
  const { db, cipher, logger, config } = deps;
  const password = demoPassword(config);
  await seedDemoStaff(db, password);
  const existing = await db.selectFrom('customers').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
  let customers = existing.n;
  if (existing.n === 0 && config.DEMO_CUSTOMERS > 0) {
    const started = Date.now();
    customers = await insertSyntheticCustomers(db, cipher, generateCustomers(config.DEMO_CUSTOMERS));
    await plantDemoHistory(db);
    logger.info({ customers, ms: Date.now() - started }, 'seeded demo customers');
  }
  return { adminPassword: password, customers, seeded: existing.n === 0 && customers > 0 };
}
