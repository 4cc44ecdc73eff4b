import { sql, type Kysely } from 'kysely';

/**
 * The compliance gate: versioned rule sets (a version is never edited; a change is a new version,
 * and exactly one version is active) and the review queue for staff free text that looks like
 * marketing and did not pass. Version 1 is seeded by the compliance module on first start.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE compliance_rule_sets (
      version integer PRIMARY KEY CHECK (version > 0),
      based_on integer REFERENCES compliance_rule_sets(version),
      note text NOT NULL,
      created_by uuid REFERENCES staff(id),
      created_at timestamptz NOT NULL DEFAULT now(),
      active boolean NOT NULL DEFAULT false
    )`.execute(db);
  await sql`CREATE UNIQUE INDEX compliance_rule_sets_one_active ON compliance_rule_sets (active) WHERE active`.execute(db);

  await sql`
    CREATE TABLE compliance_rules (
      rule_set_version integer NOT NULL REFERENCES compliance_rule_sets(version),
      rule_id text NOT NULL,
      position integer NOT NULL,
      kind text NOT NULL CHECK (kind IN ('block','warn','disclosure','context_allow')),
      pattern text NOT NULL,
      pinyin text,
      category text NOT NULL,
      note text,
      PRIMARY KEY (rule_set_version, rule_id)
    )`.execute(db);

  // Versions are history: rules never change, and a version's header changes only in `active`.
  await sql`
    CREATE FUNCTION compliance_rules_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'compliance rule versions are immutable: publish a new version';
    END $$`.execute(db);
  await sql`
    CREATE FUNCTION compliance_rule_sets_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND ROW(NEW.version, NEW.based_on, NEW.note, NEW.created_by, NEW.created_at)
         IS NOT DISTINCT FROM ROW(OLD.version, OLD.based_on, OLD.note, OLD.created_by, OLD.created_at) THEN
        RETURN NEW;
      END IF;
      RAISE EXCEPTION 'compliance rule versions are immutable: publish a new version';
    END $$`.execute(db);
  await sql`CREATE TRIGGER compliance_rules_immutable BEFORE UPDATE OR DELETE ON compliance_rules FOR EACH ROW EXECUTE FUNCTION compliance_rules_immutable()`.execute(db);
  await sql`CREATE TRIGGER compliance_rule_sets_immutable BEFORE UPDATE OR DELETE ON compliance_rule_sets FOR EACH ROW EXECUTE FUNCTION compliance_rule_sets_immutable()`.execute(db);

  await sql`
    CREATE TABLE compliance_reviews (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      text text NOT NULL,
      author_id uuid REFERENCES staff(id),
      source text NOT NULL,
      verdict text NOT NULL CHECK (verdict IN ('warn','block')),
      findings jsonb NOT NULL DEFAULT '[]'::jsonb,
      product_ids text[] NOT NULL DEFAULT '{}',
      rule_set_version integer REFERENCES compliance_rule_sets(version),
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','approved','rejected')),
      reviewer_id uuid REFERENCES staff(id),
      decision_note text,
      decided_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      CHECK ((status = 'pending') = (decided_at IS NULL))
    )`.execute(db);
  await sql`CREATE INDEX compliance_reviews_status ON compliance_reviews (status, created_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['compliance_reviews', 'compliance_rules', 'compliance_rule_sets']) {
    await sql`DROP TABLE IF EXISTS ${sql.table(table)} CASCADE`.execute(db);
  }
  await sql`DROP FUNCTION IF EXISTS compliance_rules_immutable()`.execute(db);
  await sql`DROP FUNCTION IF EXISTS compliance_rule_sets_immutable()`.execute(db);
}
