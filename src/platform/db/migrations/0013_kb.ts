import { sql, type Kysely } from 'kysely';

/**
 * The knowledge base: the bank's FAQ entries (ids like kb-001, kept from the seed data) and every
 * saved version of each. An entry is never deleted, only retired; `version` counts its saves and
 * `kb_entry_versions` holds each one as it was saved, so history and "who changed what" survive.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE kb_entries (
      id text PRIMARY KEY CHECK (id ~ '^kb-[0-9]{3,}$'),
      category text NOT NULL CHECK (length(category) BETWEEN 1 AND 20),
      question text NOT NULL CHECK (length(question) > 0),
      alt_questions text[] NOT NULL DEFAULT '{}',
      answer text NOT NULL CHECK (length(answer) > 0),
      product_ids text[] NOT NULL DEFAULT '{}',
      needs_disclaimer boolean NOT NULL DEFAULT false,
      handoff boolean NOT NULL DEFAULT false,
      status text NOT NULL DEFAULT 'active' CHECK (status IN ('active','retired')),
      version integer NOT NULL DEFAULT 1 CHECK (version > 0),
      updated_by uuid REFERENCES staff(id),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX kb_entries_category ON kb_entries (category, id)`.execute(db);

  await sql`
    CREATE TABLE kb_entry_versions (
      entry_id text NOT NULL REFERENCES kb_entries(id),
      version integer NOT NULL CHECK (version > 0),
      change text NOT NULL CHECK (change IN ('seed','create','update','retire','restore')),
      category text NOT NULL,
      question text NOT NULL,
      alt_questions text[] NOT NULL,
      answer text NOT NULL,
      product_ids text[] NOT NULL,
      needs_disclaimer boolean NOT NULL,
      handoff boolean NOT NULL,
      status text NOT NULL CHECK (status IN ('active','retired')),
      note text,
      changed_by uuid REFERENCES staff(id),
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (entry_id, version)
    )`.execute(db);

  // Versions are history: a saved version never changes.
  await sql`
    CREATE FUNCTION kb_entry_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'knowledge-base versions are immutable: save a new version';
    END $$`.execute(db);
  await sql`
    CREATE TRIGGER kb_entry_versions_immutable BEFORE UPDATE OR DELETE ON kb_entry_versions
      FOR EACH ROW EXECUTE FUNCTION kb_entry_versions_immutable()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS kb_entry_versions`.execute(db);
  await sql`DROP TABLE IF EXISTS kb_entries`.execute(db);
  await sql`DROP FUNCTION IF EXISTS kb_entry_versions_immutable()`.execute(db);
}
