import { sql } from 'kysely';
import type { Db } from '../platform/db/database.js';
import type { SopTemplateStatus } from '../platform/db/schema.js';
import { AppError, conflict, invalid, notFound } from '../platform/errors.js';
import { templateSchema, type SopTemplate } from './definition.js';

/**
 * Templates and their versions. A template's draft is edited freely; publishing freezes the draft
 * as the next version, which new enrollments use; running enrollments keep the version they began.
 */
export interface TemplateVersion {
  id: string;
  templateId: string;
  version: number;
  definition: SopTemplate;
}

export interface TemplateSummary {
  id: string;
  key: string;
  name: string;
  description: string;
  status: SopTemplateStatus;
  currentVersion: number | null;
  source: 'file' | 'console';
  trigger: SopTemplate['trigger'] | null;
  updatedAt: Date;
}

/** Bumped whenever a template is published or changes status in this process, so caches of active templates refresh. */
let generation = 0;
export const templatesGeneration = () => generation;

/** Checks a definition given as data (the console's editor): issues name the field under `path`. */
export function checkDefinition(input: unknown, path = 'body.definition'): SopTemplate {
  const parsed = templateSchema.safeParse(input);
  if (!parsed.success) {
    throw invalid(
      'invalid SOP template',
      parsed.error.issues.map((i) => ({ path: [path, ...i.path.map(String)].join('.'), message: i.message })),
    );
  }
  return parsed.data;
}

/** Creates the template or replaces its draft; file templates keep their source. */
export async function saveDraft(db: Db, definition: SopTemplate, options: { source: 'file' | 'console'; staffId?: string | null }): Promise<{ id: string; created: boolean }> {
  const existing = await db.selectFrom('sop_templates').select(['id', 'status']).where('key', '=', definition.key).executeTakeFirst();
  if (existing?.status === 'archived') throw conflict(`SOP 模板 ${definition.key} 已归档，不能再修改`);
  if (existing) {
    await db
      .updateTable('sop_templates')
      .set({ name: definition.name, description: definition.description, draft: JSON.stringify(definition), updated_at: new Date() })
      .where('id', '=', existing.id)
      .execute();
    return { id: existing.id, created: false };
  }
  const row = await db
    .insertInto('sop_templates')
    .values({ key: definition.key, name: definition.name, description: definition.description, draft: JSON.stringify(definition), source: options.source, created_by: options.staffId ?? null, current_version: null, fired_until: null })
    .onConflict((oc) => oc.column('key').doNothing())
    .returning('id')
    .executeTakeFirst();
  // Another node (two workers starting together) created it between our look and our insert: update theirs.
  if (!row) return saveDraft(db, definition, options);
  return { id: row.id, created: true };
}

/**
 * Freezes the draft as the next version and makes the template active. Publishing a draft equal to
 * the current version changes nothing. A timed trigger starts from the moment of publishing: past
 * occurrences are never fired.
 */
export async function publishTemplate(db: Db, templateId: string, staffId: string | null, now = new Date()): Promise<TemplateVersion & { created: boolean }> {
  return db.transaction().execute(async (trx) => {
    const t = await trx.selectFrom('sop_templates').selectAll().where('id', '=', templateId).forUpdate().executeTakeFirst();
    if (!t) throw notFound('SOP template');
    if (t.status === 'archived') throw conflict('已归档的模板不能发布');
    const definition = checkDefinition(t.draft, 'draft');
    if (t.current_version !== null) {
      const current = await trx.selectFrom('sop_template_versions').select(['id', 'definition']).where('template_id', '=', templateId).where('version', '=', t.current_version).executeTakeFirstOrThrow();
      if (canonical(current.definition) === canonical(definition)) {
        if (t.status !== 'active') await trx.updateTable('sop_templates').set({ status: 'active', updated_at: now }).where('id', '=', templateId).execute();
        generation++;
        return { id: current.id, templateId, version: t.current_version, definition, created: false };
      }
    }
    const version = (t.current_version ?? 0) + 1;
    const row = await trx
      .insertInto('sop_template_versions')
      .values({ template_id: templateId, version, definition: JSON.stringify(definition), published_by: staffId })
      .returning('id')
      .executeTakeFirstOrThrow();
    await trx
      .updateTable('sop_templates')
      .set({ current_version: version, status: 'active', updated_at: now, fired_until: t.fired_until ?? now })
      .where('id', '=', templateId)
      .execute();
    generation++;
    return { id: row.id, templateId, version, definition, created: true };
  });
}

export async function setTemplateStatus(db: Db, templateId: string, status: Extract<SopTemplateStatus, 'active' | 'paused' | 'archived'>): Promise<SopTemplateStatus> {
  const t = await db.selectFrom('sop_templates').select(['status', 'current_version']).where('id', '=', templateId).executeTakeFirst();
  if (!t) throw notFound('SOP template');
  if (t.status === 'archived') throw conflict('已归档的模板不能再改变状态');
  if (status === 'active' && t.current_version === null) throw conflict('模板尚未发布');
  await db.updateTable('sop_templates').set({ status, updated_at: new Date() }).where('id', '=', templateId).execute();
  generation++;
  if (status === 'archived') {
    await db.updateTable('sop_enrollments').set({ status: 'cancelled', exit_reason: '模板已归档', ended_at: new Date(), updated_at: new Date() }).where('template_id', '=', templateId).where('status', 'in', ['active', 'paused']).execute();
  }
  return status;
}

export async function currentVersion(db: Db, templateId: string): Promise<TemplateVersion | undefined> {
  const row = await db
    .selectFrom('sop_templates as t')
    .innerJoin('sop_template_versions as v', (j) => j.onRef('v.template_id', '=', 't.id').onRef('v.version', '=', 't.current_version'))
    .select(['v.id', 'v.template_id', 'v.version', 'v.definition'])
    .where('t.id', '=', templateId)
    .executeTakeFirst();
  return row && { id: row.id, templateId: row.template_id, version: row.version, definition: row.definition as SopTemplate };
}

/** JSON with object keys sorted: jsonb does not keep key order, so stored and given values compare this way. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

const versionCache = new Map<string, TemplateVersion>();

/** Versions never change once published, so they are cached by id for the engine's hot path. */
export async function versionById(db: Db, versionId: string): Promise<TemplateVersion> {
  const cached = versionCache.get(versionId);
  if (cached) return cached;
  const row = await db.selectFrom('sop_template_versions').select(['id', 'template_id', 'version', 'definition']).where('id', '=', versionId).executeTakeFirst();
  if (!row) throw notFound('SOP template version');
  const version = { id: row.id, templateId: row.template_id, version: row.version, definition: row.definition as SopTemplate };
  if (versionCache.size > 1000) versionCache.clear();
  versionCache.set(versionId, version);
  return version;
}

/** Active templates with their current version (the triggers' view). */
export async function activeVersions(db: Db, triggerType?: SopTemplate['trigger']['type']): Promise<(TemplateVersion & { key: string; firedUntil: Date | null })[]> {
  let q = db
    .selectFrom('sop_templates as t')
    .innerJoin('sop_template_versions as v', (j) => j.onRef('v.template_id', '=', 't.id').onRef('v.version', '=', 't.current_version'))
    .select(['v.id', 'v.template_id', 'v.version', 'v.definition', 't.key', 't.fired_until'])
    .where('t.status', '=', 'active');
  if (triggerType) q = q.where(sql`v.definition->'trigger'->>'type'`, '=', triggerType);
  const rows = await q.execute();
  return rows.map((r) => ({ id: r.id, templateId: r.template_id, version: r.version, definition: r.definition as SopTemplate, key: r.key, firedUntil: r.fired_until ? new Date(r.fired_until) : null }));
}

export async function listTemplates(db: Db): Promise<TemplateSummary[]> {
  const rows = await db.selectFrom('sop_templates').selectAll().where('status', '!=', 'archived').orderBy('key').execute();
  return rows.map((r) => ({
    id: r.id,
    key: r.key,
    name: r.name,
    description: r.description,
    status: r.status,
    currentVersion: r.current_version,
    source: r.source,
    trigger: (r.draft as SopTemplate | null)?.trigger ?? null,
    updatedAt: r.updated_at,
  }));
}

export async function getTemplate(db: Db, idOrKey: string) {
  const isUuid = /^[0-9a-f-]{36}$/i.test(idOrKey);
  const row = await db.selectFrom('sop_templates').selectAll().where(isUuid ? 'id' : 'key', '=', idOrKey).executeTakeFirst();
  if (!row) throw notFound('SOP template');
  const versions = await db.selectFrom('sop_template_versions').select(['id', 'version', 'published_at', 'published_by']).where('template_id', '=', row.id).orderBy('version', 'desc').execute();
  return { ...row, versions };
}

/** Brings the files of templates/sop in as drafts (their key is their identity); published versions are untouched. */
export async function importTemplates(db: Db, templates: readonly SopTemplate[]): Promise<{ created: number; updated: number }> {
  let created = 0;
  let updated = 0;
  for (const definition of templates) {
    const existing = await db.selectFrom('sop_templates').select(['draft', 'status']).where('key', '=', definition.key).executeTakeFirst();
    if (existing?.status === 'archived') continue;
    if (existing && canonical(existing.draft) === canonical(definition)) continue;
    const result = await saveDraft(db, definition, { source: 'file' });
    if (result.created) created++;
    else updated++;
  }
  return { created, updated };
}

export { AppError };
