import { sql } from 'kysely';
import type { Db } from '../platform/db/database.js';
import { conflict, invalid, notFound, type FieldIssue } from '../platform/errors.js';
import { listIssues, ruleInputSchema, toRule, type Rule, type RuleInput } from './rules.js';
import { SEED_NOTE, SEED_RULES } from './seed.js';

/**
 * Rule sets in PostgreSQL. A version is written once (rules and header in one transaction) and
 * never edited (the tables refuse it); publishing writes version n+1 and moves `active` to it.
 */
export interface RuleSetVersion {
  version: number;
  basedOn: number | null;
  note: string;
  createdBy: string | null;
  createdAt: Date;
  active: boolean;
  rules: Rule[];
}

type Executor = Pick<Db, 'insertInto' | 'selectFrom' | 'updateTable'>;

async function insertVersion(trx: Executor, header: { version: number; basedOn: number | null; note: string; createdBy: string | null }, rules: readonly Rule[]) {
  await trx
    .insertInto('compliance_rule_sets')
    .values({ version: header.version, based_on: header.basedOn, note: header.note, created_by: header.createdBy, active: true })
    .execute();
  if (rules.length) {
    await trx
      .insertInto('compliance_rules')
      .values(rules.map((r, position) => ({ rule_set_version: header.version, rule_id: r.id, position, kind: r.kind, pattern: r.pattern, pinyin: r.pinyin, category: r.category, note: r.note })))
      .execute();
  }
}

/** Writes version 1 from the seed list when no version exists; safe when several nodes start at once. */
export async function ensureSeeded(db: Db): Promise<void> {
  const any = await db.selectFrom('compliance_rule_sets').select('version').limit(1).executeTakeFirst();
  if (any) return;
  await db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext('compliance_rule_sets'))`.execute(trx);
    const again = await trx.selectFrom('compliance_rule_sets').select('version').limit(1).executeTakeFirst();
    if (again) return;
    await insertVersion(trx, { version: 1, basedOn: null, note: SEED_NOTE, createdBy: null }, SEED_RULES.map(toRule));
  });
}

async function loadVersion(db: Db, where: { version: number } | { active: true }): Promise<RuleSetVersion | undefined> {
  let query = db.selectFrom('compliance_rule_sets').selectAll();
  query = 'version' in where ? query.where('version', '=', where.version) : query.where('active', '=', true);
  const header = await query.executeTakeFirst();
  if (!header) return undefined;
  const rows = await db.selectFrom('compliance_rules').selectAll().where('rule_set_version', '=', header.version).orderBy('position').execute();
  return {
    version: header.version,
    basedOn: header.based_on,
    note: header.note,
    createdBy: header.created_by,
    createdAt: header.created_at,
    active: header.active,
    rules: rows.map((r) => ({ id: r.rule_id, kind: r.kind, pattern: r.pattern, pinyin: r.pinyin, category: r.category, note: r.note })),
  };
}

export async function loadActiveRuleSet(db: Db): Promise<RuleSetVersion> {
  const active = await loadVersion(db, { active: true });
  if (active) return active;
  await ensureSeeded(db);
  const seeded = await loadVersion(db, { active: true });
  if (!seeded) throw new Error('no active compliance rule set after seeding');
  return seeded;
}

export async function loadRuleSet(db: Db, version: number): Promise<RuleSetVersion> {
  const found = await loadVersion(db, { version });
  if (!found) throw notFound(`rule set version ${version}`);
  return found;
}

export async function listVersions(db: Db) {
  const rows = await db
    .selectFrom('compliance_rule_sets as s')
    .leftJoin('staff', 'staff.id', 's.created_by')
    .select(['s.version', 's.based_on', 's.note', 's.created_by', 'staff.username as created_by_username', 's.created_at', 's.active'])
    .select((eb) => eb.selectFrom('compliance_rules as r').whereRef('r.rule_set_version', '=', 's.version').select(eb.fn.countAll<string>().as('n')).as('rule_count'))
    .orderBy('s.version', 'desc')
    .execute();
  return rows.map((r) => ({
    version: r.version,
    basedOn: r.based_on,
    note: r.note,
    createdBy: r.created_by,
    createdByUsername: r.created_by_username,
    createdAt: r.created_at,
    active: r.active,
    ruleCount: Number(r.rule_count ?? 0),
  }));
}

export interface RuleChange {
  note: string;
  /** The version the editor started from; publishing fails with 409 when another was published since. */
  baseVersion?: number;
  /** Either the full list … */
  rules?: RuleInput[];
  /** … or a diff against the active version (add replaces a rule with the same id). */
  diff?: { add: RuleInput[]; remove: string[] };
}

/** Validates a change against the active version and publishes it as the next version. */
export async function publishRuleSet(db: Db, change: RuleChange, createdBy: string): Promise<{ version: RuleSetVersion; added: string[]; removed: string[] }> {
  await ensureSeeded(db);
  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext('compliance_rule_sets'))`.execute(trx);
    const current = await loadVersion(trx as unknown as Db, { active: true });
    if (!current) throw new Error('no active compliance rule set');
    if (change.baseVersion !== undefined && change.baseVersion !== current.version) {
      throw conflict(`rule set version ${current.version} was published after version ${change.baseVersion}; reload and edit again`);
    }
    const next = applyChange(current.rules, change);
    const nextVersion = current.version + 1;
    await trx.updateTable('compliance_rule_sets').set({ active: false }).where('version', '=', current.version).execute();
    await insertVersion(trx, { version: nextVersion, basedOn: current.version, note: change.note, createdBy }, next);
    const before = new Set(current.rules.map((r) => r.id));
    const after = new Set(next.map((r) => r.id));
    return {
      version: (await loadVersion(trx as unknown as Db, { version: nextVersion }))!,
      added: [...after].filter((id) => !before.has(id)),
      removed: [...before].filter((id) => !after.has(id)),
    };
  });
}

/** The new rule list, or an `invalid` error whose issues name the offending fields. */
export function applyChange(current: readonly Rule[], change: RuleChange): Rule[] {
  const where = change.rules ? 'body.rules' : 'body.diff.add';
  const issues: FieldIssue[] = [];
  const inputs: RuleInput[] = (change.rules ?? change.diff?.add ?? []).flatMap((input, i) => {
    const parsed = ruleInputSchema.safeParse(input);
    if (parsed.success) return [parsed.data];
    for (const issue of parsed.error.issues) issues.push({ path: [where, i, ...issue.path].join('.'), message: issue.message });
    return [];
  });
  if (issues.length) throw invalid('invalid rules', issues);
  let next: Rule[];
  if (change.rules) {
    next = inputs.map(toRule);
  } else {
    const remove = change.diff?.remove ?? [];
    const known = new Set(current.map((r) => r.id));
    remove.forEach((id, i) => {
      if (!known.has(id)) issues.push({ path: `body.diff.remove.${i}`, message: `no rule ${id} in the active version` });
    });
    if (issues.length) throw invalid('invalid rules', issues);
    const added = inputs.map(toRule);
    const replaced = new Set([...remove, ...added.map((r) => r.id)]);
    next = [...current.filter((r) => !replaced.has(r.id)), ...added];
  }
  // Duplicates are named where they were written; a missing block or disclosure rule, on the result.
  for (const issue of listIssues(inputs)) if (issue.index >= 0) issues.push({ path: `${where}.${issue.index}.${issue.field}`, message: issue.message });
  for (const issue of listIssues(next)) if (issue.index < 0) issues.push({ path: change.rules ? 'body.rules' : 'body.diff', message: issue.message });
  if (issues.length) throw invalid('invalid rules', issues);
  return next;
}
