import { sql, type Expression, type RawBuilder, type SqlBool } from 'kysely';
import { compileFilter } from '../filters/index.js';
import type { Db } from '../platform/db/database.js';
import { EVENTS, type Cause, type EventBus } from '../platform/events.js';
import { reentersPerOccurrence, type SopTemplate } from './definition.js';
import { activeVersions, type TemplateVersion } from './store.js';

/**
 * Enrolling: one enrollment per (template version, customer) — or per occurrence for timed
 * triggers — under a unique run key, with its first step run, in one statement per call. Re-running
 * an enrollment (a retried job, a replayed event, a caught-up clock) finds the run key taken and
 * adds nothing.
 */
export interface EnrollVersion extends TemplateVersion {
  key: string;
}

export interface EnrollOptions {
  /** What this occurrence is ('' for event triggers that enter once; a date for a birthday). */
  occurrence: string;
  cause: Cause;
  now: Date;
  timezone?: string;
}

/** A customer (or a WeCom contact not yet linked to one) with what triggered them. */
export interface EnrollTarget {
  customerId?: string | null;
  corpId?: string | null;
  externalUserid?: string | null;
  memberUserid?: string | null;
  /** Facts about this occurrence the messages may use (productId, maturityDate, event details). */
  context?: Record<string, unknown>;
  occurrence?: string;
}

export interface EnrollResult {
  enrollmentIds: string[];
  /** Targets left out by the audience filter or already enrolled. */
  skipped: number;
}

const runKeyOf = (version: EnrollVersion, subject: RawBuilder<unknown> | string, occurrence: RawBuilder<unknown> | string) =>
  reentersPerOccurrence(version.definition)
    ? sql`${version.templateId} || ':' || ${subject} || ':' || ${occurrence}`
    : sql`${version.id} || ':' || ${subject}`;

/**
 * Customers chosen by a SQL selection `(customer_id uuid, occurrence text, context jsonb)`, narrowed by
 * the template's audience, each given their most recently added live WeCom relation.
 */
export async function enrollSelection(
  db: Db,
  version: EnrollVersion,
  selection: RawBuilder<{ customer_id: string; occurrence: string; context: unknown }>,
  options: EnrollOptions,
): Promise<EnrollResult> {
  const audience: Expression<SqlBool> = version.definition.audience
    ? compileFilter(version.definition.audience, { now: options.now, timezone: options.timezone, alias: 'c' })
    : sql<SqlBool>`true`;
  const first = version.definition.steps[0]!;
  const { rows } = await sql<{ id: string; customer_id: string }>`
    WITH picked AS (
      SELECT p.customer_id, p.occurrence, p.context FROM (${selection}) AS p
        JOIN customers c ON c.id = p.customer_id
       WHERE ${audience}),
    targets AS (
      SELECT p.*, r.corp_id, r.userid, r.external_userid
        FROM picked p
        LEFT JOIN LATERAL (
          SELECT fr.corp_id, fr.userid, fr.external_userid
            FROM external_contacts ec
            JOIN follow_relations fr ON fr.corp_id = ec.corp_id AND fr.external_userid = ec.external_userid AND fr.deleted_at IS NULL
           WHERE ec.customer_id = p.customer_id
           ORDER BY fr.added_at DESC NULLS LAST
           LIMIT 1) r ON true),
    enrolled AS (
      INSERT INTO sop_enrollments (template_id, version_id, customer_id, corp_id, member_userid, external_userid, run_key, occurrence, trigger, cause_type, cause_id, started_at, updated_at)
      SELECT ${version.templateId}::uuid, ${version.id}::uuid, t.customer_id, t.corp_id, t.userid, t.external_userid,
             ${runKeyOf(version, sql`t.customer_id::text`, sql`t.occurrence`)}, t.occurrence, t.context, ${options.cause.type}, ${causeId(options.cause)}, ${options.now}, ${options.now}
        FROM targets t
      ON CONFLICT (run_key) DO NOTHING
      RETURNING id, customer_id),
    first_steps AS (
      INSERT INTO sop_step_runs (enrollment_id, step_id, kind, status, cause_type, cause_id, run_at)
      SELECT e.id, ${first.id}, ${first.type}, 'pending', ${options.cause.type}, ${causeId(options.cause)}, ${options.now} FROM enrolled e
      RETURNING enrollment_id)
    SELECT e.id, e.customer_id FROM enrolled e`.execute(db);
  return { enrollmentIds: rows.map((r) => r.id), skipped: 0 };
}

const causeId = (cause: Cause) => (cause.type === 'system' ? (cause.id ?? null) : cause.id);

/** One target (an event's customer or contact): the audience applies only when a customer is known. */
export async function enrollTarget(db: Db, version: EnrollVersion, target: EnrollTarget, options: EnrollOptions): Promise<EnrollResult> {
  const occurrence = target.occurrence ?? options.occurrence;
  if (target.customerId) {
    const selection = sql<{ customer_id: string; occurrence: string; context: unknown }>`SELECT ${target.customerId}::uuid AS customer_id, ${occurrence}::text AS occurrence, ${JSON.stringify(target.context ?? {})}::jsonb AS context`;
    const result = await enrollSelection(db, version, selection, { ...options, occurrence });
    // The event named the relation it came through: keep that member rather than the latest one.
    if (result.enrollmentIds.length && target.memberUserid && target.externalUserid) {
      await db
        .updateTable('sop_enrollments')
        .set({ corp_id: target.corpId ?? null, member_userid: target.memberUserid, external_userid: target.externalUserid })
        .where('id', 'in', result.enrollmentIds)
        .execute();
    }
    return result.enrollmentIds.length ? result : { enrollmentIds: [], skipped: 1 };
  }
  // A contact not linked to a bank customer: no bank data, so no audience can be checked.
  if (!target.corpId || !target.externalUserid || version.definition.audience) return { enrollmentIds: [], skipped: 1 };
  const first = version.definition.steps[0]!;
  const subject = `contact:${target.corpId}:${target.externalUserid}`;
  const { rows } = await sql<{ id: string }>`
    WITH enrolled AS (
      INSERT INTO sop_enrollments (template_id, version_id, customer_id, corp_id, member_userid, external_userid, run_key, occurrence, trigger, cause_type, cause_id, started_at, updated_at)
      VALUES (${version.templateId}::uuid, ${version.id}::uuid, NULL, ${target.corpId}, ${target.memberUserid ?? null}, ${target.externalUserid},
              ${runKeyOf(version, subject, occurrence)}, ${occurrence}, ${JSON.stringify(target.context ?? {})}::jsonb, ${options.cause.type}, ${causeId(options.cause)}, ${options.now}, ${options.now})
      ON CONFLICT (run_key) DO NOTHING
      RETURNING id),
    first_steps AS (
      INSERT INTO sop_step_runs (enrollment_id, step_id, kind, status, cause_type, cause_id, run_at)
      SELECT e.id, ${first.id}, ${first.type}, 'pending', ${options.cause.type}, ${causeId(options.cause)}, ${options.now} FROM enrolled e
      RETURNING enrollment_id)
    SELECT id FROM enrolled`.execute(db);
  return { enrollmentIds: rows.map((r) => r.id), skipped: rows.length ? 0 : 1 };
}

/**
 * The "joined another journey" exit: customers who just entered `version` leave the journeys whose
 * exit names it (or any journey). Returns how many enrolments left each template.
 */
export async function exitJoined(db: Db, version: EnrollVersion, enrollmentIds: readonly string[], now: Date): Promise<Map<string, number>> {
  if (!enrollmentIds.length) return new Map();
  const others = (await activeVersions(db)).filter((v) => v.templateId !== version.templateId && joinsExit(v.definition, version.key));
  if (!others.length) return new Map();
  const result = await sql<{ template_id: string; n: number }>`
    WITH left_journeys AS (
      UPDATE sop_enrollments e SET status = 'exited', exit_reason = ${`加入了旅程 ${version.definition.name}`}, ended_at = ${now}, updated_at = ${now}
       WHERE e.status IN ('active', 'paused')
         AND e.template_id = ANY(${others.map((o) => o.templateId)}::uuid[])
         AND e.customer_id IN (SELECT customer_id FROM sop_enrollments WHERE id = ANY(${[...enrollmentIds]}::uuid[]) AND customer_id IS NOT NULL)
      RETURNING e.id, e.template_id),
    cancelled AS (
      UPDATE sop_step_runs s SET status = 'cancelled', finished_at = ${now}, error = '旅程已退出'
        FROM left_journeys l WHERE s.enrollment_id = l.id AND s.status IN ('pending', 'waiting')
      RETURNING s.id)
    SELECT l.template_id, count(*)::int AS n FROM left_journeys l GROUP BY l.template_id`.execute(db);
  return new Map(result.rows.map((r) => [r.template_id, r.n]));
}

const joinsExit = (definition: SopTemplate, key: string) => definition.exit.joined === 'any' || (Array.isArray(definition.exit.joined) && definition.exit.joined.includes(key));

/** Publishes the enrollment (for the console and the loop guard's bookkeeping). */
export function announceEnrolled(events: EventBus | undefined, version: EnrollVersion, result: EnrollResult): void {
  if (!events || !result.enrollmentIds.length) return;
  events.publish(EVENTS.sopEnrolled, { templateId: version.templateId, templateKey: version.key, enrollmentIds: result.enrollmentIds }, { type: 'sop', id: version.templateId });
}
