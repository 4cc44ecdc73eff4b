import { sql, type Kysely } from 'kysely';

/**
 * SOP automation, the material library, mass sends and the outbox dispatcher.
 *
 * - `materials`: texts, images, links, mini-programs, files and product cards; draft → pending
 *   (submitted to compliance) → approved → retired. Only approved materials go into sends.
 * - `sop_templates` / `sop_template_versions`: a template's draft and its published versions; an
 *   enrollment keeps the version it began with.
 * - `sop_enrollments`: one per (template version, customer, occurrence) under a unique run key.
 * - `sop_step_runs`: one row per step an enrollment reaches (unique per enrollment and step), with
 *   its status, the step run that led to it, what caused it and when it is due.
 * - `sop_tasks`: work for an account manager (from an SOP step or a mass send), shown in the sidebar.
 * - `mass_sends`: a send to a segment or snapshot, fanned out as one outbox row per recipient.
 * - `outbox_batches`: one provider call claimed by one dispatcher (a lease), with the rows it
 *   carries; a batch whose dispatcher died is resolved against WeCom before anything is re-sent.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE materials (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      kind text NOT NULL CHECK (kind IN ('text','image','link','miniprogram','file','product')),
      title text NOT NULL,
      text text NOT NULL DEFAULT '',
      attachment jsonb,
      product_ids text[] NOT NULL DEFAULT '{}',
      labels text[] NOT NULL DEFAULT '{}',
      status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft','pending','approved','rejected','retired')),
      version integer NOT NULL DEFAULT 1,
      disclosures text[] NOT NULL DEFAULT '{}',
      verdict text CHECK (verdict IN ('pass','warn','block')),
      findings jsonb,
      review_note text,
      created_by uuid REFERENCES staff(id) ON DELETE SET NULL,
      submitted_at timestamptz,
      reviewed_by uuid REFERENCES staff(id) ON DELETE SET NULL,
      reviewed_at timestamptz,
      retired_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX materials_status ON materials (status, updated_at DESC)`.execute(db);

  await sql`
    CREATE TABLE sop_templates (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      key text NOT NULL UNIQUE,
      name text NOT NULL,
      description text NOT NULL DEFAULT '',
      status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft','active','paused','archived')),
      draft jsonb NOT NULL,
      current_version integer,
      source text NOT NULL DEFAULT 'console' CHECK (source IN ('file','console')),
      -- Date and schedule triggers: the last occurrence fired, so a missed minute is caught up, never repeated.
      fired_until timestamptz,
      created_by uuid REFERENCES staff(id) ON DELETE SET NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`
    CREATE TABLE sop_template_versions (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      template_id uuid NOT NULL REFERENCES sop_templates(id) ON DELETE CASCADE,
      version integer NOT NULL,
      definition jsonb NOT NULL,
      published_by uuid REFERENCES staff(id) ON DELETE SET NULL,
      published_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (template_id, version)
    )`.execute(db);

  await sql`
    CREATE TABLE sop_enrollments (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      template_id uuid NOT NULL REFERENCES sop_templates(id) ON DELETE CASCADE,
      version_id uuid NOT NULL REFERENCES sop_template_versions(id) ON DELETE CASCADE,
      -- A WeCom contact not (yet) linked to a bank customer can be enrolled too (a new-customer journey).
      customer_id uuid REFERENCES customers(id) ON DELETE CASCADE,
      corp_id text,
      member_userid text,
      external_userid text,
      run_key text NOT NULL UNIQUE,
      occurrence text NOT NULL DEFAULT '',
      status text NOT NULL DEFAULT 'active' CHECK (status IN ('active','paused','completed','exited','cancelled','failed')),
      exit_reason text,
      trigger jsonb NOT NULL DEFAULT '{}',
      cause_type text NOT NULL,
      cause_id text,
      started_at timestamptz NOT NULL DEFAULT now(),
      ended_at timestamptz,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX sop_enrollments_template ON sop_enrollments (template_id, status)`.execute(db);
  await sql`CREATE INDEX sop_enrollments_customer ON sop_enrollments (customer_id, status)`.execute(db);
  await sql`CREATE INDEX sop_enrollments_contact ON sop_enrollments (corp_id, external_userid, status)`.execute(db);

  await sql`
    CREATE TABLE sop_step_runs (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      enrollment_id uuid NOT NULL REFERENCES sop_enrollments(id) ON DELETE CASCADE,
      step_id text NOT NULL,
      kind text NOT NULL,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','waiting','running','done','failed','skipped','cancelled')),
      parent_id uuid REFERENCES sop_step_runs(id) ON DELETE SET NULL,
      cause_type text NOT NULL,
      cause_id text,
      run_at timestamptz NOT NULL DEFAULT now(),
      started_at timestamptz,
      finished_at timestamptz,
      attempts integer NOT NULL DEFAULT 0,
      delivery text,
      outbox_id uuid,
      result jsonb,
      error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (enrollment_id, step_id)
    )`.execute(db);
  await sql`CREATE INDEX sop_step_runs_due ON sop_step_runs (run_at) WHERE status IN ('pending','waiting')`.execute(db);

  await sql`
    CREATE TABLE sop_tasks (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      corp_id text,
      member_userid text NOT NULL,
      customer_id uuid REFERENCES customers(id) ON DELETE CASCADE,
      external_userid text,
      enrollment_id uuid REFERENCES sop_enrollments(id) ON DELETE CASCADE,
      step_run_id uuid UNIQUE REFERENCES sop_step_runs(id) ON DELETE CASCADE,
      mass_send_id uuid,
      kind text NOT NULL DEFAULT 'todo' CHECK (kind IN ('todo','send')),
      title text NOT NULL,
      body text NOT NULL DEFAULT '',
      outbox_id uuid,
      due_at timestamptz,
      status text NOT NULL DEFAULT 'open' CHECK (status IN ('open','done','snoozed','cancelled')),
      snoozed_until timestamptz,
      done_at timestamptz,
      done_by uuid REFERENCES staff(id) ON DELETE SET NULL,
      cause_type text NOT NULL,
      cause_id text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX sop_tasks_member ON sop_tasks (member_userid, status, due_at)`.execute(db);
  await sql`CREATE INDEX sop_tasks_customer ON sop_tasks (customer_id, status)`.execute(db);

  await sql`
    CREATE TABLE mass_sends (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      corp_id text NOT NULL,
      name text NOT NULL,
      audience jsonb NOT NULL,
      snapshot_id uuid,
      material_id uuid REFERENCES materials(id),
      content jsonb NOT NULL,
      purpose text NOT NULL DEFAULT 'marketing' CHECK (purpose IN ('marketing','service')),
      scheduled_at timestamptz NOT NULL DEFAULT now(),
      status text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled','queued','sending','completed','cancelled','failed')),
      error text,
      created_by uuid REFERENCES staff(id) ON DELETE SET NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      queued_at timestamptz,
      finished_at timestamptz,
      cancelled_at timestamptz,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX mass_sends_recent ON mass_sends (created_at DESC)`.execute(db);

  await sql`
    CREATE TABLE outbox_batches (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      corp_id text NOT NULL,
      channel text NOT NULL,
      sender text,
      group_key text,
      size integer NOT NULL,
      status text NOT NULL DEFAULT 'sending' CHECK (status IN ('sending','sent','failed','released')),
      msgid text,
      fail_list jsonb,
      claimed_by text NOT NULL,
      claimed_at timestamptz NOT NULL DEFAULT now(),
      lease_until timestamptz NOT NULL,
      finished_at timestamptz,
      resolution text,
      error text
    )`.execute(db);
  await sql`CREATE INDEX outbox_batches_open ON outbox_batches (lease_until) WHERE status = 'sending'`.execute(db);
  await sql`CREATE INDEX outbox_batches_msgid ON outbox_batches (corp_id, msgid) WHERE msgid IS NOT NULL`.execute(db);

  await sql`
    ALTER TABLE outbox
      ADD COLUMN batch_id uuid REFERENCES outbox_batches(id) ON DELETE SET NULL,
      ADD COLUMN group_key text,
      ADD COLUMN delivery text CHECK (delivery IN ('awaiting','delivered','not_friend','quota_reached','unsent','cancelled')),
      ADD COLUMN delivered_at timestamptz,
      ADD COLUMN msgid text`.execute(db);
  // Claiming due rows uses outbox_pending (0002): (created_at) WHERE status IN ('pending','sending').
  await sql`CREATE INDEX outbox_batch ON outbox (batch_id) WHERE batch_id IS NOT NULL`.execute(db);
  await sql`CREATE INDEX outbox_awaiting ON outbox (corp_id, msgid) WHERE delivery = 'awaiting'`.execute(db);
  // The per-customer receiving quota counts the corp mass messages a recipient got in a period.
  await sql`CREATE INDEX outbox_quota ON outbox (corp_id, recipient, sent_at) WHERE channel = 'mass_single' AND status = 'sent'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS outbox_quota`.execute(db);
  await sql`DROP INDEX IF EXISTS outbox_awaiting`.execute(db);
  await sql`DROP INDEX IF EXISTS outbox_batch`.execute(db);
  await sql`ALTER TABLE outbox DROP COLUMN IF EXISTS msgid, DROP COLUMN IF EXISTS delivered_at, DROP COLUMN IF EXISTS delivery, DROP COLUMN IF EXISTS group_key, DROP COLUMN IF EXISTS batch_id`.execute(db);
  for (const table of ['outbox_batches', 'mass_sends', 'sop_tasks', 'sop_step_runs', 'sop_enrollments', 'sop_template_versions', 'sop_templates', 'materials']) {
    await sql`DROP TABLE IF EXISTS ${sql.table(table)}`.execute(db);
  }
}
