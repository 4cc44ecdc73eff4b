import { sql, type Kysely } from 'kysely';

/** WeCom link: corps, the callback inbox, tokens and quotas, synced directory, tags, groups, contact ways, sync runs, outbox. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE corps (
      corp_id text PRIMARY KEY,
      name text NOT NULL,
      agent_id integer,
      callback_token_enc text NOT NULL,
      callback_aes_key_enc text NOT NULL,
      agent_secret_enc text,
      contact_secret_enc text,
      api_base text NOT NULL,
      source text NOT NULL CHECK (source IN ('env','console','sandbox')),
      active boolean NOT NULL DEFAULT true,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);

  // The callback inbox: one row per distinct event; a replay only bumps seen_count.
  await sql`
    CREATE TABLE wecom_events (
      id bigserial PRIMARY KEY,
      corp_id text NOT NULL,
      dedupe_key text NOT NULL,
      event text NOT NULL,
      change_type text,
      payload jsonb NOT NULL,
      status text NOT NULL DEFAULT 'received' CHECK (status IN ('received','processed','failed','ignored')),
      error text,
      seen_count integer NOT NULL DEFAULT 1,
      received_at timestamptz NOT NULL DEFAULT now(),
      last_seen_at timestamptz NOT NULL DEFAULT now(),
      processed_at timestamptz,
      UNIQUE (corp_id, dedupe_key)
    )`.execute(db);
  await sql`CREATE INDEX wecom_events_recent ON wecom_events (corp_id, received_at DESC)`.execute(db);
  await sql`CREATE INDEX wecom_events_pending ON wecom_events (received_at) WHERE status = 'received'`.execute(db);

  await sql`
    CREATE TABLE wecom_tokens (
      corp_id text NOT NULL,
      kind text NOT NULL,
      value_enc text NOT NULL,
      expires_at timestamptz NOT NULL,
      refreshed_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (corp_id, kind)
    )`.execute(db);

  // Counters for quotas that WeCom counts per hour (jsapi tickets) and that must hold across nodes.
  await sql`
    CREATE TABLE wecom_quota_usage (
      corp_id text NOT NULL,
      api text NOT NULL,
      window_start timestamptz NOT NULL,
      used integer NOT NULL DEFAULT 0,
      PRIMARY KEY (corp_id, api, window_start)
    )`.execute(db);

  await sql`
    CREATE TABLE wecom_departments (
      corp_id text NOT NULL,
      id integer NOT NULL,
      name text NOT NULL,
      parent_id integer NOT NULL DEFAULT 0,
      sort_order bigint NOT NULL DEFAULT 0,
      synced_at timestamptz NOT NULL DEFAULT now(),
      deleted_at timestamptz,
      PRIMARY KEY (corp_id, id)
    )`.execute(db);

  await sql`
    CREATE TABLE wecom_members (
      corp_id text NOT NULL,
      userid text NOT NULL,
      name text NOT NULL,
      departments integer[] NOT NULL DEFAULT '{}',
      main_department integer,
      position text,
      status smallint NOT NULL DEFAULT 1,
      synced_at timestamptz NOT NULL DEFAULT now(),
      deleted_at timestamptz,
      PRIMARY KEY (corp_id, userid)
    )`.execute(db);

  await sql`
    CREATE TABLE wecom_tag_groups (
      corp_id text NOT NULL,
      group_id text NOT NULL,
      name text NOT NULL,
      sort_order bigint NOT NULL DEFAULT 0,
      created_at timestamptz,
      deleted_at timestamptz,
      synced_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (corp_id, group_id)
    )`.execute(db);
  await sql`
    CREATE TABLE wecom_tags (
      corp_id text NOT NULL,
      tag_id text NOT NULL,
      group_id text NOT NULL,
      name text NOT NULL,
      sort_order bigint NOT NULL DEFAULT 0,
      created_at timestamptz,
      deleted_at timestamptz,
      synced_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (corp_id, tag_id)
    )`.execute(db);
  // Corp tags as WeCom holds them: per follow relation (member, customer).
  await sql`
    CREATE TABLE wecom_contact_tags (
      corp_id text NOT NULL,
      userid text NOT NULL,
      external_userid text NOT NULL,
      tag_id text NOT NULL,
      source text NOT NULL CHECK (source IN ('wecom','member','rule','model','sop','import')),
      cause text,
      assigned_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (corp_id, userid, external_userid, tag_id)
    )`.execute(db);
  await sql`CREATE INDEX wecom_contact_tags_tag ON wecom_contact_tags (corp_id, tag_id)`.execute(db);

  await sql`
    CREATE TABLE wecom_groups (
      corp_id text NOT NULL,
      chat_id text NOT NULL,
      name text,
      owner text,
      notice text,
      status smallint NOT NULL DEFAULT 0,
      member_version text,
      created_at timestamptz,
      dismissed_at timestamptz,
      synced_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (corp_id, chat_id)
    )`.execute(db);
  await sql`
    CREATE TABLE wecom_group_members (
      corp_id text NOT NULL,
      chat_id text NOT NULL,
      member_id text NOT NULL,
      type smallint NOT NULL,
      unionid text,
      name text,
      join_time timestamptz,
      join_scene smallint,
      invitor text,
      PRIMARY KEY (corp_id, chat_id, member_id),
      FOREIGN KEY (corp_id, chat_id) REFERENCES wecom_groups(corp_id, chat_id) ON DELETE CASCADE
    )`.execute(db);

  // Channel QR codes (联系我). `state` attributes every customer a code brings.
  await sql`
    CREATE TABLE wecom_contact_ways (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      corp_id text NOT NULL,
      config_id text,
      type smallint NOT NULL CHECK (type IN (1,2)),
      scene smallint NOT NULL CHECK (scene IN (1,2)),
      state text NOT NULL CHECK (char_length(state) BETWEEN 1 AND 30),
      name text NOT NULL,
      remark text,
      members text[] NOT NULL,
      skip_verify boolean NOT NULL DEFAULT true,
      qr_code text,
      welcome_text text,
      welcome_attachments jsonb NOT NULL DEFAULT '[]'::jsonb,
      created_by uuid,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      deleted_at timestamptz
    )`.execute(db);
  await sql`CREATE UNIQUE INDEX wecom_contact_ways_state ON wecom_contact_ways (corp_id, state) WHERE deleted_at IS NULL`.execute(db);
  await sql`CREATE UNIQUE INDEX wecom_contact_ways_config ON wecom_contact_ways (corp_id, config_id) WHERE config_id IS NOT NULL`.execute(db);
  await sql`ALTER TABLE follow_relations ADD COLUMN contact_way_id uuid REFERENCES wecom_contact_ways(id) ON DELETE SET NULL`.execute(db);
  await sql`ALTER TABLE follow_relations ADD COLUMN tags_synced_at timestamptz`.execute(db);
  // Set whenever a sync sees the relation in WeCom; a reconcile retires those it no longer sees.
  await sql`ALTER TABLE follow_relations ADD COLUMN synced_at timestamptz`.execute(db);
  await sql`ALTER TABLE external_contacts ADD COLUMN synced_at timestamptz`.execute(db);

  // WeChat customer service: the sync_msg cursor per account, so each message is pulled once.
  await sql`
    CREATE TABLE wecom_kf_cursors (
      corp_id text NOT NULL,
      open_kfid text NOT NULL,
      cursor text NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (corp_id, open_kfid)
    )`.execute(db);

  await sql`
    CREATE TABLE wecom_sync_runs (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      corp_id text NOT NULL,
      kind text NOT NULL CHECK (kind IN ('full','contacts','tags','groups','directory')),
      status text NOT NULL CHECK (status IN ('running','done','failed')),
      checkpoint jsonb NOT NULL DEFAULT '{}'::jsonb,
      report jsonb NOT NULL DEFAULT '{}'::jsonb,
      error text,
      cause text NOT NULL,
      started_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX wecom_sync_runs_recent ON wecom_sync_runs (corp_id, started_at DESC)`.execute(db);

  // Every outbound message is a row before it is a call (the SOP issue extends this table).
  await sql`
    CREATE TABLE outbox (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      idempotency_key text NOT NULL UNIQUE,
      corp_id text NOT NULL,
      channel text NOT NULL,
      recipient text NOT NULL,
      sender text,
      payload jsonb NOT NULL,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','sending','sent','failed','expired','cancelled','blocked')),
      attempts integer NOT NULL DEFAULT 0,
      errcode integer,
      last_error text,
      result jsonb,
      cause_type text NOT NULL,
      cause_id text,
      not_before timestamptz,
      expires_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      sent_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX outbox_pending ON outbox (created_at) WHERE status IN ('pending','sending')`.execute(db);
  await sql`CREATE INDEX outbox_recipient ON outbox (corp_id, recipient, created_at DESC)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE follow_relations DROP COLUMN IF EXISTS contact_way_id, DROP COLUMN IF EXISTS tags_synced_at, DROP COLUMN IF EXISTS synced_at`.execute(db);
  await sql`ALTER TABLE external_contacts DROP COLUMN IF EXISTS synced_at`.execute(db);
  for (const table of ['wecom_kf_cursors', 'outbox', 'wecom_sync_runs', 'wecom_contact_ways', 'wecom_group_members', 'wecom_groups', 'wecom_contact_tags', 'wecom_tags', 'wecom_tag_groups', 'wecom_members', 'wecom_departments', 'wecom_quota_usage', 'wecom_tokens', 'wecom_events', 'corps']) {
    await sql`DROP TABLE IF EXISTS ${sql.table(table)} CASCADE`.execute(db);
  }
}
