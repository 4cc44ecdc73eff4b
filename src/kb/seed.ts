import { sql } from 'kysely';
import type { Db } from '../platform/db/database.js';
import { loadBankEntries, type BankEntry } from './bank.js';
import { recordKbVersion } from './store.js';

/**
 * Seeds the knowledge base from the bank's FAQ (data/bank/kb.jsonl) when the table is empty, in
 * every mode: it is the bank's content, not demo data. Ids are kept (kb-001 …) and each entry gets
 * its version 1 in the history. Under a transaction-scoped advisory lock, so nodes starting
 * together seed once.
 */
export async function seedKnowledgeBase(db: Db, entries: readonly BankEntry[] = loadBankEntries()): Promise<{ seeded: boolean; count: number }> {
  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext('kb.seed'))`.execute(trx);
    if (await trx.selectFrom('kb_entries').select('id').limit(1).executeTakeFirst()) return { seeded: false, count: 0 };
    for (const e of entries) {
      const row = await trx
        .insertInto('kb_entries')
        .values({
          id: e.id, category: e.category, question: e.question, alt_questions: e.altQuestions, answer: e.answer,
          product_ids: e.productIds, needs_disclaimer: e.needsDisclaimer, handoff: e.handoff, updated_by: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await recordKbVersion(trx, row, 'seed', 'data/bank/kb.jsonl', null);
    }
    return { seeded: true, count: entries.length };
  });
}
