import type { Selectable } from 'kysely';
import type { z } from 'zod';
import { recordAudit } from '../audit/index.js';
import { getApprovedMaterial, materialContent } from '../materials/index.js';
import type { Db } from '../platform/db/database.js';
import type { MassSendRow, MassSendStatus } from '../platform/db/schema.js';
import { AppError, invalid, notFound } from '../platform/errors.js';
import type { Cause } from '../platform/events.js';
import type { Actor } from '../platform/http/context.js';
import { asDate, FANOUT_JOB, type Audience, type createMassSendSchema, type MassSendContent, type MassSendDeps, type RequestInfo } from './types.js';

/** A mass send as the API shows it. */
export interface MassSendView {
  id: string;
  corpId: string;
  name: string;
  audience: Audience;
  /** The frozen member list: given, or taken from the segment when the send started. */
  snapshotId: string | null;
  materialId: string | null;
  content: MassSendContent;
  purpose: 'marketing' | 'service';
  scheduledAt: Date;
  status: MassSendStatus;
  error: string | null;
  createdBy: string | null;
  createdAt: Date;
  queuedAt: Date | null;
  finishedAt: Date | null;
  cancelledAt: Date | null;
}

export type CreateMassSendInput = z.output<typeof createMassSendSchema>;

/** A send may be scheduled this far in the past (clock skew, a slow form) and still counts as "now". */
const PAST_TOLERANCE_MS = 60_000;

export const STATUS_LABELS: Record<MassSendStatus, string> = {
  scheduled: '待发送',
  queued: '生成任务中',
  sending: '发送中',
  completed: '已完成',
  cancelled: '已取消',
  failed: '失败',
};

export function toView(row: Selectable<MassSendRow>): MassSendView {
  return {
    id: row.id,
    corpId: row.corp_id,
    name: row.name,
    audience: row.audience as Audience,
    snapshotId: row.snapshot_id,
    materialId: row.material_id,
    content: row.content as unknown as MassSendContent,
    purpose: row.purpose,
    scheduledAt: asDate(row.scheduled_at),
    status: row.status,
    error: row.error,
    createdBy: row.created_by,
    createdAt: row.created_at,
    queuedAt: row.queued_at ? asDate(row.queued_at) : null,
    finishedAt: row.finished_at ? asDate(row.finished_at) : null,
    cancelledAt: row.cancelled_at ? asDate(row.cancelled_at) : null,
  };
}

/** Who a send's messages are caused by: the staff member who created it. */
export const causeOf = (row: { created_by: string | null }): Cause =>
  row.created_by ? { type: 'member', id: row.created_by } : { type: 'system', id: 'masssend' };

export async function loadMassSend(db: Db, id: string): Promise<Selectable<MassSendRow>> {
  const row = await db.selectFrom('mass_sends').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound('mass send');
  return row;
}

/** The approved material's content, or a 400 naming `body.materialId` with the reason. */
export async function approvedContent(db: Db, materialId: string): Promise<MassSendContent> {
  try {
    const material = await getApprovedMaterial(db, materialId);
    const content = materialContent(material);
    return { materialId: material.id, materialVersion: material.version, title: material.title, ...content };
  } catch (error) {
    if (error instanceof AppError && (error.kind === 'invalid' || error.kind === 'not_found')) {
      throw invalid('invalid body', [{ path: 'body.materialId', message: error.message }]);
    }
    throw error;
  }
}

export async function checkAudience(db: Db, audience: Audience): Promise<void> {
  if ('segmentId' in audience) {
    const segment = await db.selectFrom('segments').select('id').where('id', '=', audience.segmentId).where('deleted_at', 'is', null).executeTakeFirst();
    if (!segment) throw invalid('invalid body', [{ path: 'body.audience.segmentId', message: '客群不存在或已删除' }]);
  } else {
    const snapshot = await db.selectFrom('segment_snapshots').select('id').where('id', '=', audience.snapshotId).executeTakeFirst();
    if (!snapshot) throw invalid('invalid body', [{ path: 'body.audience.snapshotId', message: '客群快照不存在' }]);
  }
}

/**
 * Creates a mass send: checks the material is approved, the audience exists and the time is not in
 * the past, stores the row with the material's content (text with its disclosures, attachment,
 * products) as it is now, audits, and schedules the fan-out job keyed by the send's id.
 */
export async function createMassSend(deps: MassSendDeps, actor: Actor, input: CreateMassSendInput, request?: RequestInfo): Promise<MassSendView> {
  const { db } = deps;
  const now = deps.now?.() ?? new Date();
  const scheduledAt = input.scheduledAt ?? now;
  if (scheduledAt.getTime() < now.getTime() - PAST_TOLERANCE_MS) {
    throw invalid('invalid body', [{ path: 'body.scheduledAt', message: '发送时间不能早于当前时间' }]);
  }
  const corpId = await deps.gateway.registry.resolve(input.corpId, 'body.corpId');
  const content = await approvedContent(db, input.materialId);
  await checkAudience(db, input.audience);

  const row = await db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto('mass_sends')
      .values({
        corp_id: corpId,
        name: input.name,
        audience: JSON.stringify(input.audience),
        snapshot_id: 'snapshotId' in input.audience ? input.audience.snapshotId : null,
        material_id: content.materialId,
        content: JSON.stringify(content),
        purpose: input.purpose,
        scheduled_at: scheduledAt,
        created_by: actor.id,
        error: null,
        queued_at: null,
        finished_at: null,
        cancelled_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordAudit(trx, {
      actorType: 'staff',
      actorId: actor.id,
      action: 'masssend.create',
      ip: request?.ip ?? null,
      requestId: request?.requestId ?? null,
      targetType: 'mass_send',
      targetId: inserted.id,
      outcome: 'success',
      detail: { name: input.name, audience: input.audience, materialId: content.materialId, materialVersion: content.materialVersion, purpose: input.purpose, scheduledAt: scheduledAt.toISOString(), corpId },
    });
    return inserted;
  });
  await scheduleFanOut(deps, row);
  return toView(row);
}

/** The send's fan-out job at its time; keyed by the send, so scheduling twice is a no-op. */
export async function scheduleFanOut(deps: Pick<MassSendDeps, 'jobs'>, row: Pick<Selectable<MassSendRow>, 'id' | 'scheduled_at' | 'created_by'>): Promise<boolean> {
  return deps.jobs.enqueue(FANOUT_JOB, { massSendId: row.id }, { key: row.id, runAt: asDate(row.scheduled_at), cause: causeOf(row) });
}

export async function getMassSend(db: Db, id: string): Promise<MassSendView> {
  return toView(await loadMassSend(db, id));
}

export async function listMassSends(db: Db, q: { status?: MassSendStatus; limit: number; offset: number }): Promise<{ total: number; items: MassSendView[] }> {
  let query = db.selectFrom('mass_sends');
  if (q.status) query = query.where('status', '=', q.status);
  const [rows, total] = await Promise.all([
    query.selectAll().orderBy('created_at', 'desc').orderBy('id').limit(q.limit).offset(q.offset).execute(),
    query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { total: Number(total.n), items: rows.map(toView) };
}
