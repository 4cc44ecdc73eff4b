import { sql, type Kysely } from 'kysely';
import { getCreateIndexesSQL, getCreateTableSQL, getUpdateTimestampTriggerSQL } from '@agendajs/postgres-backend';

/** Staff, sessions, audit, settings, the customer core and the job table. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE EXTENSION IF NOT EXISTS pgcrypto`.execute(db);

  await sql`
    CREATE TABLE branches (
      id text PRIMARY KEY,
      name text NOT NULL,
      city text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);

  await sql`
    CREATE TABLE staff (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      username text NOT NULL UNIQUE,
      display_name text NOT NULL,
      role text NOT NULL CHECK (role IN ('admin','ops','compliance','branch_manager','account_manager')),
      branch_id text REFERENCES branches(id),
      corp_id text,
      wecom_userid text,
      title text,
      password_hash text,
      active boolean NOT NULL DEFAULT true,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CHECK (role NOT IN ('branch_manager','account_manager') OR branch_id IS NOT NULL)
    )`.execute(db);
  await sql`CREATE UNIQUE INDEX staff_wecom_member ON staff (corp_id, wecom_userid) WHERE wecom_userid IS NOT NULL`.execute(db);

  await sql`
    CREATE TABLE sessions (
      id text PRIMARY KEY,
      staff_id uuid NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      revoked_at timestamptz,
      ip text,
      user_agent text
    )`.execute(db);
  await sql`CREATE INDEX sessions_staff ON sessions (staff_id)`.execute(db);

  await sql`
    CREATE TABLE login_attempts (
      id bigserial PRIMARY KEY,
      username text NOT NULL,
      ip text NOT NULL,
      success boolean NOT NULL,
      at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX login_attempts_recent ON login_attempts (username, at DESC)`.execute(db);
  await sql`CREATE INDEX login_attempts_ip ON login_attempts (ip, at DESC)`.execute(db);

  await sql`
    CREATE TABLE audit_log (
      id bigserial PRIMARY KEY,
      at timestamptz NOT NULL DEFAULT now(),
      actor_type text NOT NULL CHECK (actor_type IN ('staff','customer','system','sop','anonymous')),
      actor_id text,
      action text NOT NULL,
      target_type text,
      target_id text,
      ip text,
      request_id text,
      outcome text NOT NULL CHECK (outcome IN ('success','failure','denied')),
      detail jsonb NOT NULL DEFAULT '{}'::jsonb
    )`.execute(db);
  await sql`CREATE INDEX audit_log_at ON audit_log (at DESC)`.execute(db);
  await sql`CREATE INDEX audit_log_target ON audit_log (target_type, target_id, at DESC)`.execute(db);
  await sql`CREATE INDEX audit_log_actor ON audit_log (actor_type, actor_id, at DESC)`.execute(db);
  // Append-only: the table refuses updates and deletes whoever asks.
  await sql`
    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
    END $$`.execute(db);
  await sql`
    CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`.execute(db);
  await sql`
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()`.execute(db);

  await sql`
    CREATE TABLE settings (
      key text PRIMARY KEY,
      value jsonb NOT NULL,
      version integer NOT NULL DEFAULT 1,
      updated_by uuid REFERENCES staff(id),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);

  await sql`
    CREATE TABLE customers (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      cif_no text NOT NULL UNIQUE,
      name text NOT NULL,
      gender text CHECK (gender IN ('M','F')),
      mobile_enc text,
      mobile_hash text,
      id_number_enc text,
      id_number_hash text,
      birth_date date,
      branch_id text REFERENCES branches(id),
      aum numeric(18,2) NOT NULL DEFAULT 0,
      risk_level text CHECK (risk_level IN ('R1','R2','R3','R4','R5')),
      risk_assessed_at date,
      products text[] NOT NULL DEFAULT '{}',
      segments text[] NOT NULL DEFAULT '{}',
      last_txn_at timestamptz,
      marketing_consent boolean NOT NULL DEFAULT false,
      attrs jsonb NOT NULL DEFAULT '{}'::jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX customers_mobile_hash ON customers (mobile_hash)`.execute(db);
  await sql`CREATE INDEX customers_id_number_hash ON customers (id_number_hash)`.execute(db);
  await sql`CREATE INDEX customers_branch ON customers (branch_id)`.execute(db);
  await sql`CREATE INDEX customers_segments ON customers USING gin (segments)`.execute(db);
  await sql`CREATE INDEX customers_products ON customers USING gin (products)`.execute(db);

  await sql`
    CREATE TABLE external_contacts (
      corp_id text NOT NULL,
      external_userid text NOT NULL,
      name text NOT NULL,
      type smallint NOT NULL DEFAULT 1,
      gender smallint,
      unionid text,
      avatar text,
      customer_id uuid REFERENCES customers(id) ON DELETE SET NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (corp_id, external_userid)
    )`.execute(db);
  await sql`CREATE INDEX external_contacts_customer ON external_contacts (customer_id)`.execute(db);
  await sql`CREATE INDEX external_contacts_unionid ON external_contacts (unionid) WHERE unionid IS NOT NULL`.execute(db);

  await sql`
    CREATE TABLE follow_relations (
      corp_id text NOT NULL,
      userid text NOT NULL,
      external_userid text NOT NULL,
      remark text,
      description text,
      remark_mobiles text[] NOT NULL DEFAULT '{}',
      add_way integer,
      state text,
      added_at timestamptz,
      deleted_at timestamptz,
      deleted_by text CHECK (deleted_by IN ('member','customer','transfer')),
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (corp_id, userid, external_userid),
      FOREIGN KEY (corp_id, external_userid) REFERENCES external_contacts(corp_id, external_userid) ON DELETE CASCADE
    )`.execute(db);
  await sql`CREATE INDEX follow_relations_contact ON follow_relations (corp_id, external_userid)`.execute(db);

  // The job table of agenda's PostgreSQL backend (v3 schema), created here so that the schema has one
  // owner; the backend runs with ensureSchema: false. A later backend version with new columns gets
  // a new migration.
  await sql.raw(getCreateTableSQL('agenda_jobs')).execute(db);
  for (const statement of getCreateIndexesSQL('agenda_jobs')) await sql.raw(statement).execute(db);
  await sql.raw(getUpdateTimestampTriggerSQL('agenda_jobs')).execute(db);
  // The backstop for deterministic job ids: one job per (name, key).
  await sql`CREATE UNIQUE INDEX agenda_jobs_job_key ON agenda_jobs (name, (data->>'jobKey')) WHERE data ? 'jobKey'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['agenda_jobs', 'follow_relations', 'external_contacts', 'customers', 'settings', 'audit_log', 'login_attempts', 'sessions', 'staff', 'branches']) {
    await sql`DROP TABLE IF EXISTS ${sql.table(table)} CASCADE`.execute(db);
  }
  await sql`DROP FUNCTION IF EXISTS audit_log_append_only()`.execute(db);
}
