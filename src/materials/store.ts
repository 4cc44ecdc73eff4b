import type { Selectable } from 'kysely';
import type { Db } from '../platform/db/database.js';
import type { MaterialKind, MaterialRow, MaterialStatus } from '../platform/db/schema.js';
import { AppError } from '../platform/errors.js';
import type { WecomAttachment } from './attachments.js';
import type { MaterialFinding } from './judge.js';

/** A material as the rest of the product sees it. */
export interface Material {
  id: string;
  kind: MaterialKind;
  title: string;
  /** Once submitted, ends with the disclosures the compliance gate required. */
  text: string;
  attachment: WecomAttachment | null;
  productIds: string[];
  labels: string[];
  status: MaterialStatus;
  version: number;
  disclosures: string[];
  verdict: 'pass' | 'warn' | 'block' | null;
  findings: MaterialFinding[];
  reviewNote: string | null;
  createdBy: string | null;
  submittedAt: Date | null;
  reviewedBy: string | null;
  reviewedAt: Date | null;
  retiredAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** What a send carries when it uses a material. */
export interface MaterialContent {
  text: string;
  attachments: WecomAttachment[];
  productIds: string[];
  disclosures: string[];
}

export const MATERIAL_STATUSES = ['draft', 'pending', 'approved', 'rejected', 'retired'] as const satisfies readonly MaterialStatus[];
export const MATERIAL_KINDS = ['text', 'image', 'link', 'miniprogram', 'file', 'product'] as const satisfies readonly MaterialKind[];

export const STATUS_LABELS: Record<MaterialStatus, string> = {
  draft: '草稿',
  pending: '待审核',
  approved: '已通过',
  rejected: '已驳回',
  retired: '已下架',
};

export function toMaterial(row: Selectable<MaterialRow>): Material {
  return {
    id: row.id,
    kind: row.kind,
    title: row.title,
    text: row.text,
    attachment: (row.attachment as WecomAttachment | null) ?? null,
    productIds: row.product_ids,
    labels: row.labels,
    status: row.status,
    version: row.version,
    disclosures: row.disclosures,
    verdict: row.verdict,
    findings: (row.findings as MaterialFinding[] | null) ?? [],
    reviewNote: row.review_note,
    createdBy: row.created_by,
    submittedAt: row.submitted_at,
    reviewedBy: row.reviewed_by,
    reviewedAt: row.reviewed_at,
    retiredAt: row.retired_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const materialNotFound = (id: string) => new AppError('not_found', `素材不存在（${id}）`, { code: 'material_not_found' });

/** The material's row, locked for update when `lock` (inside a transaction). */
export async function loadMaterialRow(db: Db, id: string, lock = false): Promise<Selectable<MaterialRow>> {
  if (!UUID.test(id)) throw materialNotFound(id);
  let query = db.selectFrom('materials').selectAll().where('id', '=', id);
  if (lock) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (!row) throw materialNotFound(id);
  return row;
}

export async function getMaterial(db: Db, id: string): Promise<Material> {
  return toMaterial(await loadMaterialRow(db, id));
}

/**
 * The material a send may use: SOP steps, mass sends and the sidebar go through this, so only
 * approved content reaches a customer. Unknown ids are a 404; drafts, pending, rejected and retired
 * materials a 400 that names the status.
 */
export async function getApprovedMaterial(db: Db, id: string): Promise<Material> {
  const material = await getMaterial(db, id);
  if (material.status !== 'approved') {
    throw new AppError('invalid', `素材「${material.title}」当前为${STATUS_LABELS[material.status]}，只有审核通过的素材可以发送`, { code: 'material_not_approved' });
  }
  return material;
}

/** The text (already ending with its disclosures), the attachment, the products and the disclosures. */
export function materialContent(material: Material): MaterialContent {
  return {
    text: material.text,
    attachments: material.attachment ? [material.attachment] : [],
    productIds: [...material.productIds],
    disclosures: [...material.disclosures],
  };
}

export interface MaterialSearch {
  /** Contained in the title or the text, or equal to a label. */
  q?: string;
  kind?: MaterialKind;
  /** Default `approved` (what may be sent); `any` for every status. */
  status?: MaterialStatus | 'any';
  /** Default 20, at most 200. */
  limit?: number;
}

const likePattern = (q: string) => `%${q.replace(/[\\%_]/g, '\\$&')}%`;

/** The material search of the sidebar and the console, newest change first. */
export async function searchMaterials(db: Db, search: MaterialSearch = {}): Promise<Material[]> {
  const status = search.status ?? 'approved';
  const limit = Math.min(Math.max(Math.trunc(search.limit ?? 20), 1), 200);
  let query = db.selectFrom('materials').selectAll().orderBy('updated_at', 'desc').orderBy('id').limit(limit);
  if (status !== 'any') query = query.where('status', '=', status);
  if (search.kind) query = query.where('kind', '=', search.kind);
  const q = search.q?.trim();
  if (q) {
    const pattern = likePattern(q);
    query = query.where((eb) =>
      eb.or([eb('title', 'ilike', pattern), eb('text', 'ilike', pattern), eb(eb.val(q), '=', eb.fn.any('labels'))]),
    );
  }
  return (await query.execute()).map(toMaterial);
}
