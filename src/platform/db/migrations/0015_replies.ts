import { sql, type Kysely } from 'kysely';

/**
 * The reply engine: auto-reply rules, their per-customer cooldowns, and one row per inbound
 * customer message with what the engine decided (the row is the message's idempotency: a message
 * redelivered by a channel is answered once).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE reply_rules (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL,
      match_type text NOT NULL CHECK (match_type IN ('exact','keyword','regex','intent')),
      pattern text NOT NULL,
      channels text[] NOT NULL DEFAULT '{}',
      active_from text,
      active_to text,
      cooldown_minutes integer NOT NULL DEFAULT 0,
      reply_text text NOT NULL,
      priority integer NOT NULL DEFAULT 100,
      enabled boolean NOT NULL DEFAULT true,
      created_by uuid REFERENCES staff(id) ON DELETE SET NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`
    CREATE TABLE reply_cooldowns (
      rule_id uuid NOT NULL REFERENCES reply_rules(id) ON DELETE CASCADE,
      subject text NOT NULL,
      last_at timestamptz NOT NULL,
      PRIMARY KEY (rule_id, subject)
    )`.execute(db);
  await sql`
    CREATE TABLE reply_log (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      channel text NOT NULL,
      message_id text NOT NULL,
      corp_id text,
      conversation text NOT NULL,
      sender text NOT NULL,
      customer_id uuid REFERENCES customers(id) ON DELETE SET NULL,
      external_userid text,
      member_userid text,
      text text NOT NULL,
      intents jsonb NOT NULL DEFAULT '[]',
      decision text NOT NULL CHECK (decision IN ('rule','kb','ai','handoff','ignored','none')),
      reason text,
      rule_id uuid,
      kb_id text,
      assistant_audit_id text,
      outbox_id uuid,
      alert_outbox_id uuid,
      received_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (channel, message_id)
    )`.execute(db);
  await sql`CREATE INDEX reply_log_recent ON reply_log (received_at DESC)`.execute(db);
  await sql`CREATE INDEX reply_log_customer ON reply_log (customer_id, received_at DESC) WHERE customer_id IS NOT NULL`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS reply_log`.execute(db);
  await sql`DROP TABLE IF EXISTS reply_cooldowns`.execute(db);
  await sql`DROP TABLE IF EXISTS reply_rules`.execute(db);
}
