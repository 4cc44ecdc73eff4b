import { sql, type Kysely } from 'kysely';

/**
 * The AI assistant (src/assistant):
 *
 * - `assistant_audit`: one row per assistant task (a customer answer, suggested replies, a summary,
 *   a next best action, a polished draft) with what was sent to the model (redacted), what it
 *   answered, the tools it called, token counts, latency, the decision and the compliance gate's
 *   verdict. The row is written when the task starts (decision NULL) and completed when it ends,
 *   so a task that never finished is visible too. Rows older than ASSISTANT_AUDIT_RETENTION_DAYS
 *   are deleted by a nightly job; this table is therefore not append-only (unlike audit_log).
 * - `appointments`: branch appointments customers book through the assistant's `book_appointment`
 *   tool. One booking per task, branch and date (a model repeating the call books once).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE assistant_audit (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      purpose text NOT NULL CHECK (purpose IN ('answer','suggest','summary','next_best_action','polish')),
      mode text NOT NULL CHECK (mode IN ('llm','retrieval_only')),
      channel text,
      staff_id uuid REFERENCES staff(id) ON DELETE SET NULL,
      customer_id uuid REFERENCES customers(id) ON DELETE SET NULL,
      corp_id text,
      external_userid text,
      model text,
      prompt jsonb NOT NULL DEFAULT '[]',
      model_answer text,
      answer text,
      tool_calls jsonb NOT NULL DEFAULT '[]',
      citations text[] NOT NULL DEFAULT '{}',
      dropped_citations text[] NOT NULL DEFAULT '{}',
      prompt_tokens integer NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
      completion_tokens integer NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
      model_calls integer NOT NULL DEFAULT 0 CHECK (model_calls >= 0),
      latency_ms integer CHECK (latency_ms >= 0),
      decision text CHECK (decision IN ('answered','blocked','handoff','fallback','error')),
      reason text,
      gate_verdict text CHECK (gate_verdict IN ('pass','warn','block')),
      gate_findings jsonb NOT NULL DEFAULT '[]',
      created_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX assistant_audit_created ON assistant_audit (created_at)`.execute(db);
  await sql`CREATE INDEX assistant_audit_customer ON assistant_audit (customer_id, created_at) WHERE customer_id IS NOT NULL`.execute(db);

  await sql`
    CREATE TABLE appointments (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      customer_id uuid REFERENCES customers(id),
      corp_id text,
      external_userid text,
      branch_id text NOT NULL REFERENCES branches(id),
      date date NOT NULL,
      purpose text NOT NULL CHECK (length(purpose) BETWEEN 1 AND 200),
      status text NOT NULL DEFAULT 'requested' CHECK (status IN ('requested','confirmed','cancelled','done')),
      source text NOT NULL CHECK (source IN ('assistant','member')),
      audit_id uuid REFERENCES assistant_audit(id) ON DELETE SET NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CHECK (customer_id IS NOT NULL OR (corp_id IS NOT NULL AND external_userid IS NOT NULL))
    )`.execute(db);
  await sql`CREATE UNIQUE INDEX appointments_once_per_task ON appointments (audit_id, branch_id, date) WHERE audit_id IS NOT NULL`.execute(db);
  await sql`CREATE INDEX appointments_branch_date ON appointments (branch_id, date)`.execute(db);
  await sql`CREATE INDEX appointments_customer ON appointments (customer_id, date) WHERE customer_id IS NOT NULL`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS appointments`.execute(db);
  await sql`DROP TABLE IF EXISTS assistant_audit`.execute(db);
}
