import { sql, type Kysely } from 'kysely';

/**
 * Digital business cards (src/cards):
 *
 * - `card_profiles`: what a member's public card shows beyond the staff record: photo, title,
 *   qualifications, introduction, theme and the featured products and materials. One row per
 *   member, created at the first edit; `version` counts edits.
 * - `card_shares`: one row per share link (`/card/<staffId>?s=<token>`): who shared it (a member,
 *   or a visitor re-sharing from the page, with the share it came from), to whom when known (the
 *   customer in the chat), and the referrer a customer who adds the member through it is credited
 *   to. `contact_way_id` is the share's own channel QR code (state `cs-<token>`), made lazily at
 *   the first view and retired when idle (src/cards/README.md, "Attribution").
 * - `card_events`: views, shares, scans (WeCom add events through a card's code), customers added
 *   and product-page views, for the statistics and the live feed. Rows are facts, never updated.
 * - `follow_relations` gains the card attribution of a relation: the card (member), the share and
 *   the referrer (a customer, MGM, or a colleague), set when the add event arrives.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE card_profiles (
      staff_id uuid PRIMARY KEY REFERENCES staff(id) ON DELETE CASCADE,
      photo_url text,
      title text,
      qualifications text[] NOT NULL DEFAULT '{}',
      intro text NOT NULL DEFAULT '',
      theme text NOT NULL,
      featured_product_ids text[] NOT NULL DEFAULT '{}',
      featured_material_ids uuid[] NOT NULL DEFAULT '{}',
      version integer NOT NULL DEFAULT 1,
      updated_by uuid REFERENCES staff(id) ON DELETE SET NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);

  await sql`
    CREATE TABLE card_shares (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      token text NOT NULL UNIQUE CHECK (token ~ '^[A-Za-z0-9]{10}$'),
      staff_id uuid NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
      parent_id uuid REFERENCES card_shares(id) ON DELETE SET NULL,
      sharer_type text NOT NULL CHECK (sharer_type IN ('member','visitor')),
      sharer_staff_id uuid REFERENCES staff(id) ON DELETE SET NULL,
      sharer_visitor_id text,
      channel text NOT NULL CHECK (channel IN ('chat','moments','link','forward')),
      corp_id text,
      recipient_external_userid text,
      referrer_external_userid text,
      referrer_staff_id uuid REFERENCES staff(id) ON DELETE SET NULL,
      contact_way_id uuid REFERENCES wecom_contact_ways(id) ON DELETE SET NULL,
      way_refused_at timestamptz,
      last_viewed_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      CHECK (sharer_type <> 'member' OR sharer_staff_id IS NOT NULL)
    )`.execute(db);
  await sql`CREATE INDEX card_shares_staff ON card_shares (staff_id, created_at DESC)`.execute(db);
  await sql`CREATE INDEX card_shares_live_way ON card_shares (corp_id, last_viewed_at) WHERE contact_way_id IS NOT NULL`.execute(db);

  await sql`
    CREATE TABLE card_events (
      id bigserial PRIMARY KEY,
      staff_id uuid NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
      kind text NOT NULL CHECK (kind IN ('view','share','scan','added','product_view')),
      share_id uuid REFERENCES card_shares(id) ON DELETE SET NULL,
      visitor_id text,
      product_id text,
      corp_id text,
      external_userid text,
      referrer_external_userid text,
      referrer_staff_id uuid REFERENCES staff(id) ON DELETE SET NULL,
      at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX card_events_staff_at ON card_events (staff_id, at)`.execute(db);
  await sql`CREATE INDEX card_events_at ON card_events USING brin (at)`.execute(db);
  await sql`CREATE INDEX card_events_added ON card_events (at DESC) WHERE kind = 'added'`.execute(db);
  // Has this visitor seen the card before (unique views, the quiet period of the live note)?
  await sql`CREATE INDEX card_events_visitor ON card_events (staff_id, visitor_id, at) WHERE kind = 'view'`.execute(db);

  await sql`
    ALTER TABLE follow_relations
      ADD COLUMN card_staff_id uuid REFERENCES staff(id) ON DELETE SET NULL,
      ADD COLUMN card_share_id uuid REFERENCES card_shares(id) ON DELETE SET NULL,
      ADD COLUMN referrer_external_userid text,
      ADD COLUMN referrer_staff_id uuid REFERENCES staff(id) ON DELETE SET NULL,
      ADD COLUMN card_added_at timestamptz`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE follow_relations
      DROP COLUMN IF EXISTS card_staff_id,
      DROP COLUMN IF EXISTS card_share_id,
      DROP COLUMN IF EXISTS referrer_external_userid,
      DROP COLUMN IF EXISTS referrer_staff_id,
      DROP COLUMN IF EXISTS card_added_at`.execute(db);
  await sql`DROP TABLE IF EXISTS card_events`.execute(db);
  await sql`DROP TABLE IF EXISTS card_shares`.execute(db);
  await sql`DROP TABLE IF EXISTS card_profiles`.execute(db);
}
