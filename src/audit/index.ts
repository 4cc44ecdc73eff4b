import { sql } from 'kysely';
import type { Db } from '../platform/db/database.js';
import type { ActorType, AuditOutcome } from '../platform/db/schema.js';
import type { Actor } from '../platform/http/context.js';

/**
 * The audit log: append-only (the table refuses UPDATE, DELETE and TRUNCATE). Written on logins,
 * views of full records, exports, configuration changes and every compliance decision.
 */
export interface AuditEntry {
  actorType: ActorType;
  actorId?: string | null;
  action: string;
  targetType?: string;
  targetId?: string;
  ip?: string | null;
  requestId?: string | null;
  outcome: AuditOutcome;
  detail?: Record<string, unknown>;
}

const auditRow = (entry: AuditEntry) => ({
  actor_type: entry.actorType,
  actor_id: entry.actorId ?? null,
  action: entry.action,
  target_type: entry.targetType ?? null,
  target_id: entry.targetId ?? null,
  ip: entry.ip ?? null,
  request_id: entry.requestId ?? null,
  outcome: entry.outcome,
  detail: JSON.stringify(entry.detail ?? {}),
});

export async function recordAudit(db: Db, entry: AuditEntry): Promise<void> {
  await db.insertInto('audit_log').values(auditRow(entry)).execute();
}

/** Many entries in one statement (a batch of automated decisions), in the order given. */
export async function recordAudits(db: Db, entries: readonly AuditEntry[]): Promise<void> {
  if (entries.length) await db.insertInto('audit_log').values(entries.map(auditRow)).execute();
}

/** Shorthand for an action by the staff member behind a request. */
export function auditBy(actor: Actor, request: { ip: string; requestId: string }) {
  return (action: string, rest: Omit<AuditEntry, 'actorType' | 'actorId' | 'action' | 'ip' | 'requestId'>) => ({
    actorType: 'staff' as const,
    actorId: actor.id,
    action,
    ip: request.ip,
    requestId: request.requestId,
    ...rest,
  });
}

export interface AuditQuery {
  action?: string;
  actorId?: string;
  targetType?: string;
  targetId?: string;
  since?: Date;
  until?: Date;
  limit: number;
  beforeId?: string;
}

export async function listAudit(db: Db, q: AuditQuery) {
  let query = db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(q.limit);
  if (q.action) query = query.where('action', 'like', q.action.replace(/[%_]/g, '\\$&') + '%');
  if (q.actorId) query = query.where('actor_id', '=', q.actorId);
  if (q.targetType) query = query.where('target_type', '=', q.targetType);
  if (q.targetId) query = query.where('target_id', '=', q.targetId);
  if (q.since) query = query.where('at', '>=', q.since);
  if (q.until) query = query.where('at', '<', q.until);
  if (q.beforeId) query = query.where(sql<boolean>`id < ${q.beforeId}::bigint`);
  return query.execute();
}
