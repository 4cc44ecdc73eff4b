import { sql, type Kysely } from 'kysely';

/** Customer 360: tags in three layers, scores, the timeline, segments and imports. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE tag_groups (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL UNIQUE,
      layer text NOT NULL CHECK (layer IN ('fact','rule','model','manual')),
      exclusive boolean NOT NULL DEFAULT false,
      description text,
      created_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`
    CREATE TABLE tags (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      group_id uuid NOT NULL REFERENCES tag_groups(id),
      name text NOT NULL,
      rule jsonb,
      description text,
      wecom_corp_id text,
      wecom_tag_id text,
      created_by uuid,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      deleted_at timestamptz
    )`.execute(db);
  await sql`CREATE UNIQUE INDEX tags_group_name ON tags (group_id, name) WHERE deleted_at IS NULL`.execute(db);
  await sql`CREATE UNIQUE INDEX tags_wecom ON tags (wecom_corp_id, wecom_tag_id) WHERE wecom_tag_id IS NOT NULL AND deleted_at IS NULL`.execute(db);

  await sql`
    CREATE TABLE customer_tags (
      customer_id uuid NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
      tag_id uuid NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
      source text NOT NULL CHECK (source IN ('fact','rule','model','member','sop','import','wecom')),
      cause text,
      assigned_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (customer_id, tag_id)
    )`.execute(db);
  await sql`CREATE INDEX customer_tags_tag ON customer_tags (tag_id, customer_id)`.execute(db);

  await sql`
    CREATE TABLE customer_scores (
      customer_id uuid PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
      recency_score smallint,
      frequency_score smallint,
      monetary_score smallint,
      rfm_class text,
      churn_probability real,
      churn_band text CHECK (churn_band IN ('low','medium','high')),
      churn_reasons jsonb NOT NULL DEFAULT '[]'::jsonb,
      propensity jsonb NOT NULL DEFAULT '[]'::jsonb,
      computed_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX customer_scores_churn ON customer_scores (churn_probability)`.execute(db);
  await sql`CREATE INDEX customer_scores_rfm ON customer_scores (rfm_class)`.execute(db);

  await sql`
    CREATE TABLE timeline_events (
      id bigserial PRIMARY KEY,
      customer_id uuid REFERENCES customers(id) ON DELETE CASCADE,
      corp_id text,
      external_userid text,
      at timestamptz NOT NULL DEFAULT now(),
      kind text NOT NULL,
      summary text NOT NULL,
      detail jsonb NOT NULL DEFAULT '{}'::jsonb,
      cause_type text NOT NULL,
      cause_id text
    )`.execute(db);
  await sql`CREATE INDEX timeline_customer ON timeline_events (customer_id, at DESC)`.execute(db);
  await sql`CREATE INDEX timeline_contact ON timeline_events (corp_id, external_userid, at DESC)`.execute(db);

  // Contact ↔ customer links: the current one lives on external_contacts.customer_id; this is the history.
  await sql`
    CREATE TABLE customer_links (
      id bigserial PRIMARY KEY,
      corp_id text NOT NULL,
      external_userid text NOT NULL,
      customer_id uuid REFERENCES customers(id) ON DELETE CASCADE,
      action text NOT NULL CHECK (action IN ('link','unlink')),
      method text NOT NULL CHECK (method IN ('mobile','unionid','manual','import')),
      reason text,
      actor_type text NOT NULL,
      actor_id text,
      at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX customer_links_contact ON customer_links (corp_id, external_userid, at DESC)`.execute(db);

  await sql`
    CREATE TABLE segments (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL,
      method text NOT NULL CHECK (method IN ('fixed','rule','derived','score','imported','custom')),
      definition jsonb NOT NULL,
      description text,
      refresh_cron text,
      member_count integer,
      refreshed_at timestamptz,
      created_by uuid,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      deleted_at timestamptz
    )`.execute(db);
  await sql`CREATE UNIQUE INDEX segments_name ON segments (name) WHERE deleted_at IS NULL`.execute(db);
  // Fixed, imported and custom segments keep explicit members; include = false excludes.
  await sql`
    CREATE TABLE segment_members (
      segment_id uuid NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
      customer_id uuid NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
      include boolean NOT NULL DEFAULT true,
      added_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (segment_id, customer_id)
    )`.execute(db);
  await sql`
    CREATE TABLE segment_snapshots (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      segment_id uuid NOT NULL REFERENCES segments(id),
      definition jsonb NOT NULL,
      member_count integer NOT NULL,
      created_by text,
      created_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`
    CREATE TABLE segment_snapshot_members (
      snapshot_id uuid NOT NULL REFERENCES segment_snapshots(id) ON DELETE CASCADE,
      customer_id uuid NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
      PRIMARY KEY (snapshot_id, customer_id)
    )`.execute(db);

  await sql`
    CREATE TABLE imports (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      file_name text NOT NULL,
      format text NOT NULL CHECK (format IN ('csv','jsonl')),
      sha256 text NOT NULL,
      status text NOT NULL CHECK (status IN ('running','done','failed')),
      total_rows integer NOT NULL DEFAULT 0,
      processed_rows integer NOT NULL DEFAULT 0,
      inserted_rows integer NOT NULL DEFAULT 0,
      updated_rows integer NOT NULL DEFAULT 0,
      unchanged_rows integer NOT NULL DEFAULT 0,
      rejected_rows integer NOT NULL DEFAULT 0,
      byte_offset bigint NOT NULL DEFAULT 0,
      line_number integer NOT NULL DEFAULT 0,
      error text,
      created_by text,
      started_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz
    )`.execute(db);
  await sql`
    CREATE TABLE import_rejections (
      import_id uuid NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
      line_number integer NOT NULL,
      cif_no text,
      reasons jsonb NOT NULL,
      PRIMARY KEY (import_id, line_number)
    )`.execute(db);

  // A customer's WeChat unionid as the bank knows it (from its app or mini-program login), for linking.
  await sql`ALTER TABLE customers ADD COLUMN unionid text`.execute(db);
  await sql`CREATE INDEX customers_unionid ON customers (unionid) WHERE unionid IS NOT NULL`.execute(db);

  // Fields the filter grammar compares often.
  await sql`CREATE INDEX customers_aum ON customers (aum)`.execute(db);
  await sql`CREATE INDEX customers_risk ON customers (risk_level)`.execute(db);
  await sql`CREATE INDEX customers_last_txn ON customers (last_txn_at)`.execute(db);
  await sql`CREATE INDEX customers_birth_md ON customers (((EXTRACT(MONTH FROM birth_date) * 100 + EXTRACT(DAY FROM birth_date))::int))`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['import_rejections', 'imports', 'segment_snapshot_members', 'segment_snapshots', 'segment_members', 'segments', 'customer_links', 'timeline_events', 'customer_scores', 'customer_tags', 'tags', 'tag_groups']) {
    await sql`DROP TABLE IF EXISTS ${sql.table(table)} CASCADE`.execute(db);
  }
  await sql`ALTER TABLE customers DROP COLUMN IF EXISTS unionid`.execute(db);
  for (const index of ['customers_aum', 'customers_risk', 'customers_last_txn', 'customers_birth_md']) await sql`DROP INDEX IF EXISTS ${sql.ref(index)}`.execute(db);
}
