import { sql, type Kysely } from 'kysely';

/**
 * The outbox carries what the compliance gate decided and what each row belongs to: the bank
 * customer (quota, consent, timeline), the purpose (marketing or service), the verdict, and a
 * reference to the SOP step run, mass send or reply that produced it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE outbox
      ADD COLUMN customer_id uuid REFERENCES customers(id) ON DELETE SET NULL,
      ADD COLUMN purpose text NOT NULL DEFAULT 'service' CHECK (purpose IN ('marketing','service')),
      ADD COLUMN verdict text CHECK (verdict IN ('pass','warn','block')),
      ADD COLUMN findings jsonb,
      ADD COLUMN rule_set_version integer,
      ADD COLUMN review_id uuid,
      ADD COLUMN ref_type text,
      ADD COLUMN ref_id text`.execute(db);
  await sql`CREATE INDEX outbox_ref ON outbox (ref_type, ref_id) WHERE ref_type IS NOT NULL`.execute(db);
  await sql`CREATE INDEX outbox_customer ON outbox (customer_id, created_at DESC) WHERE customer_id IS NOT NULL`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS outbox_customer`.execute(db);
  await sql`DROP INDEX IF EXISTS outbox_ref`.execute(db);
  await sql`
    ALTER TABLE outbox
      DROP COLUMN IF EXISTS ref_id, DROP COLUMN IF EXISTS ref_type, DROP COLUMN IF EXISTS review_id,
      DROP COLUMN IF EXISTS rule_set_version, DROP COLUMN IF EXISTS findings, DROP COLUMN IF EXISTS verdict,
      DROP COLUMN IF EXISTS purpose, DROP COLUMN IF EXISTS customer_id`.execute(db);
}
