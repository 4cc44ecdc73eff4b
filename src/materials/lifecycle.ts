import type { Selectable } from 'kysely';
import { recordAudit } from '../audit/index.js';
import type { ComplianceGate } from '../compliance/index.js';
import type { Db } from '../platform/db/database.js';
import type { AuditOutcome, MaterialKind, MaterialRow, MaterialStatus } from '../platform/db/schema.js';
import { AppError, conflict, forbidden, invalid } from '../platform/errors.js';
import {
  isAttachmentKind, isCatalogueProduct, parseAttachment, productCardAttachment, productName, type WecomAttachment,
} from './attachments.js';
import { blockedSummary, judgeMaterial, type MaterialJudgement } from './judge.js';
import { loadMaterialRow, STATUS_LABELS, toMaterial, type Material } from './store.js';

/**
 * The lifecycle: draft → pending (submitted; the compliance gate has judged it) → approved or
 * rejected (with a note) → retired. Only drafts and rejected materials change (a rejected one goes
 * back to draft); an approved material never changes — `reviseMaterial` copies it into a new draft
 * with the next version. Every change locks the row, checks the status it starts from and writes
 * its audit row in the same transaction.
 */
export interface ChangedBy {
  actorType: 'staff' | 'system';
  actorId: string | null;
  ip?: string | null;
  requestId?: string | null;
}

export interface MaterialDeps {
  db: Db;
  gate: ComplianceGate;
  /** Base of the product pages product cards link to (`<publicUrl>/p/<productId>`). */
  publicUrl: string;
}

export interface NewMaterial {
  kind: MaterialKind;
  /** Required, except for a product card (the product's name by default). */
  title?: string;
  text?: string;
  /** The inner attachment object of an image, link, mini-program or file material (SHAPES §7). */
  attachment?: Record<string, unknown> | null;
  productIds?: string[];
  labels?: string[];
}

export type MaterialChanges = Omit<NewMaterial, 'kind'>;

/** WeCom's limit on a message's text (send_welcome_msg, add_msg_template), disclosures included. */
export const TEXT_MAX_BYTES = 4000;

const inTransaction = <T>(db: Db, work: (trx: Db) => Promise<T>): Promise<T> => (db.isTransaction ? work(db) : db.transaction().execute(work));

function audit(db: Db, by: ChangedBy, action: string, targetId: string, detail: Record<string, unknown>, outcome: AuditOutcome = 'success') {
  return recordAudit(db, {
    actorType: by.actorType, actorId: by.actorId, action, targetType: 'material', targetId, ip: by.ip ?? null, requestId: by.requestId ?? null, outcome, detail,
  });
}

function unwrapAttachment(attachment: WecomAttachment | null): Record<string, unknown> | null {
  if (!attachment) return null;
  switch (attachment.msgtype) {
    case 'image': return { ...attachment.image };
    case 'link': return { ...attachment.link };
    case 'miniprogram': return { ...attachment.miniprogram };
    case 'file': return { ...attachment.file };
  }
}

const uniq = (values: readonly string[]) => [...new Set(values.map((v) => v.trim()).filter(Boolean))];

/** The stored content for a kind, checked beyond what the route's schema can say. */
function composeContent(input: NewMaterial, publicUrl: string) {
  const productIds = uniq(input.productIds ?? []);
  const unknown = productIds.flatMap((id, i) => (isCatalogueProduct(id) ? [] : [{ path: `body.productIds.${i}`, message: 'unknown product id' }]));
  if (unknown.length) throw invalid('产品不存在', unknown);
  let title = input.title?.trim() ?? '';
  const text = input.text ?? '';
  let attachment: WecomAttachment | null = null;
  if (input.kind === 'product') {
    if (input.attachment != null) throw invalid('产品卡片的附件由产品自动生成', [{ path: 'body.attachment', message: 'a product card builds its attachment from the product' }]);
    const [productId] = productIds;
    if (productId === undefined || productIds.length !== 1) throw invalid('产品卡片须关联且只关联一个产品', [{ path: 'body.productIds', message: 'exactly one product id' }]);
    attachment = productCardAttachment(productId, publicUrl);
    title ||= productName(productId)!;
  } else if (isAttachmentKind(input.kind)) {
    if (input.attachment == null) throw invalid('缺少附件', [{ path: 'body.attachment', message: `required for a ${input.kind} material` }]);
    attachment = parseAttachment(input.kind, input.attachment);
  } else {
    if (input.attachment != null) throw invalid('纯文本素材不能带附件', [{ path: 'body.attachment', message: 'a text material has no attachment' }]);
    if (!text.trim()) throw invalid('文本素材的内容不能为空', [{ path: 'body.text', message: 'required for a text material' }]);
  }
  if (!title) throw invalid('素材标题不能为空', [{ path: 'body.title', message: 'required' }]);
  if (Buffer.byteLength(text, 'utf8') > TEXT_MAX_BYTES) throw invalid('文本过长', [{ path: 'body.text', message: `at most ${TEXT_MAX_BYTES} bytes (UTF-8)` }]);
  return { title, text, attachment, productIds, labels: uniq(input.labels ?? []) };
}

const jsonOrNull = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));

function wrongStatus(row: Selectable<MaterialRow>, doing: string, allowed: readonly MaterialStatus[]): AppError {
  const hint = row.status === 'approved' && doing === '修改' ? '；已通过的素材不能修改，请使用「修订」生成新版本' : '';
  return conflict(`素材「${row.title}」当前为${STATUS_LABELS[row.status]}，不能${doing}（仅限${allowed.map((s) => STATUS_LABELS[s]).join('、')}）${hint}`);
}

export async function createMaterial(deps: Pick<MaterialDeps, 'db' | 'publicUrl'>, input: NewMaterial, by: ChangedBy): Promise<Material> {
  const content = composeContent(input, deps.publicUrl);
  return inTransaction(deps.db, async (trx) => {
    const row = await trx
      .insertInto('materials')
      .values({
        kind: input.kind, title: content.title, text: content.text, attachment: jsonOrNull(content.attachment),
        product_ids: content.productIds, labels: content.labels, verdict: null, findings: null, review_note: null, created_by: by.actorId,
        submitted_at: null, reviewed_by: null, reviewed_at: null, retired_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit(trx, by, 'material.create', row.id, { kind: row.kind, title: row.title, version: row.version, productIds: row.product_ids });
    return toMaterial(row);
  });
}

const EDITABLE: readonly MaterialStatus[] = ['draft', 'rejected'];

/** Changes a draft or a rejected material; a rejected one returns to draft. The last verdict is cleared. */
export async function updateMaterial(deps: Pick<MaterialDeps, 'db' | 'publicUrl'>, id: string, changes: MaterialChanges, by: ChangedBy): Promise<Material> {
  return inTransaction(deps.db, async (trx) => {
    const current = await loadMaterialRow(trx, id, true);
    if (!EDITABLE.includes(current.status)) throw wrongStatus(current, '修改', EDITABLE);
    const content = composeContent(
      {
        kind: current.kind,
        title: changes.title ?? current.title,
        text: changes.text ?? current.text,
        // A product card's attachment is rebuilt from its product, never carried over.
        attachment:
          changes.attachment !== undefined ? changes.attachment : current.kind === 'product' ? null : unwrapAttachment(current.attachment as WecomAttachment | null),
        productIds: changes.productIds ?? current.product_ids,
        labels: changes.labels ?? current.labels,
      },
      deps.publicUrl,
    );
    const row = await trx
      .updateTable('materials')
      .set({
        title: content.title, text: content.text, attachment: jsonOrNull(content.attachment), product_ids: content.productIds, labels: content.labels,
        status: 'draft', verdict: null, findings: null, disclosures: [], updated_at: new Date(),
      })
      .where('id', '=', current.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit(trx, by, 'material.update', row.id, { fields: Object.keys(changes).sort(), from: current.status, to: row.status, version: row.version });
    return toMaterial(row);
  });
}

const ruleIds = (j: MaterialJudgement) => [...new Set(j.findings.map((f) => f.rule))];

/**
 * Submits a draft for compliance review. The gate judges it as the customer would see it (recorded
 * against the material); a `block` leaves it a draft with the findings and answers 400 naming
 * them; otherwise the text gains the disclosures the gate requires and the material is pending.
 */
export async function submitMaterial(deps: Pick<MaterialDeps, 'db' | 'gate'>, id: string, by: ChangedBy): Promise<Material> {
  const outcome = await inTransaction(deps.db, async (trx) => {
    const current = await loadMaterialRow(trx, id, true);
    if (current.status !== 'draft') throw wrongStatus(current, '提交审核', ['draft']);
    const judgement = await judgeMaterial(
      deps.gate,
      { text: current.text, attachment: current.attachment as WecomAttachment | null, productIds: current.product_ids },
      { actorType: by.actorType, actorId: by.actorId, ip: by.ip, requestId: by.requestId, source: 'material', target: { type: 'material', id: current.id } },
    );
    const verdictColumns = { verdict: judgement.verdict, findings: JSON.stringify(judgement.findings), disclosures: judgement.disclosures };
    const detail = { verdict: judgement.verdict, rules: ruleIds(judgement), ruleSetVersion: judgement.ruleSetVersion, appended: judgement.appended.length };
    if (judgement.verdict === 'block') {
      await trx.updateTable('materials').set(verdictColumns).where('id', '=', current.id).execute();
      await audit(trx, by, 'material.submit', current.id, detail, 'denied');
      return { blocked: judgement } as const;
    }
    if (Buffer.byteLength(judgement.text, 'utf8') > TEXT_MAX_BYTES) {
      throw invalid('加上披露语后文本超过4000字节，请精简后再提交', [{ path: 'material.text', message: `at most ${TEXT_MAX_BYTES} bytes with the disclosures` }]);
    }
    const row = await trx
      .updateTable('materials')
      .set({ ...verdictColumns, text: judgement.text, status: 'pending', submitted_at: new Date(), review_note: null, reviewed_by: null, reviewed_at: null, updated_at: new Date() })
      .where('id', '=', current.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit(trx, by, 'material.submit', row.id, detail);
    return { material: toMaterial(row) } as const;
  });
  if (outcome.blocked) {
    const { findings } = outcome.blocked;
    throw new AppError('invalid', `素材未通过合规检查，不能提交审核：${blockedSummary(findings)}`, {
      code: 'compliance_block',
      issues: findings.filter((f) => f.kind === 'block').map((f) => ({ path: `material.${f.field}`, message: f.message })),
    });
  }
  return outcome.material;
}

/**
 * Runs the compliance gate over a draft (or a rejected material) as a customer would see it, without
 * submitting it: the decision is recorded against the material like a submission's, and the verdict
 * and findings are kept on the row so the library shows them. Returns what a submission would make
 * of the text (the disclosures it would append). The content is not changed.
 */
export async function checkMaterial(deps: Pick<MaterialDeps, 'db' | 'gate'>, id: string, by: ChangedBy): Promise<{ material: Material; judgement: MaterialJudgement }> {
  return inTransaction(deps.db, async (trx) => {
    const current = await loadMaterialRow(trx, id, true);
    if (!EDITABLE.includes(current.status)) throw wrongStatus(current, '预检', EDITABLE);
    const judgement = await judgeMaterial(
      deps.gate,
      { text: current.text, attachment: current.attachment as WecomAttachment | null, productIds: current.product_ids },
      { actorType: by.actorType, actorId: by.actorId, ip: by.ip, requestId: by.requestId, source: 'material', target: { type: 'material', id: current.id } },
    );
    const row = await trx
      .updateTable('materials')
      .set({ verdict: judgement.verdict, findings: JSON.stringify(judgement.findings) })
      .where('id', '=', current.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return { material: toMaterial(row), judgement };
  });
}

function assertReviewer(current: Selectable<MaterialRow>, by: ChangedBy) {
  // Four eyes: whoever wrote a material does not approve it. The demo seed (system) is exempt.
  if (by.actorType === 'staff' && by.actorId !== null && by.actorId === current.created_by) throw forbidden('不能审核自己创建的素材');
}

/**
 * Approves a pending material. It is judged again under the rules in force now: one that a newer
 * rule set blocks, or that now needs a disclosure it lacks, cannot be approved (reject it instead).
 */
export async function approveMaterial(deps: Pick<MaterialDeps, 'db' | 'gate'>, id: string, note: string | null, by: ChangedBy): Promise<Material> {
  return inTransaction(deps.db, async (trx) => {
    const current = await loadMaterialRow(trx, id, true);
    if (current.status !== 'pending') throw wrongStatus(current, '审核', ['pending']);
    assertReviewer(current, by);
    const judgement = await judgeMaterial(
      deps.gate,
      { text: current.text, attachment: current.attachment as WecomAttachment | null, productIds: current.product_ids },
      null,
    );
    if (judgement.verdict === 'block' || judgement.appended.length) {
      const why = judgement.verdict === 'block' ? blockedSummary(judgement.findings) : `缺少披露语「${judgement.appended.join('」「')}」`;
      throw conflict(`按当前合规规则（第${judgement.ruleSetVersion}版），素材${why}，不能通过；请驳回后由运营修改重新提交`);
    }
    const now = new Date();
    const row = await trx
      .updateTable('materials')
      .set({
        status: 'approved', verdict: judgement.verdict, findings: JSON.stringify(judgement.findings), disclosures: judgement.disclosures,
        review_note: note, reviewed_by: by.actorId, reviewed_at: now, updated_at: now,
      })
      .where('id', '=', current.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit(trx, by, 'material.approve', row.id, { verdict: row.verdict, ruleSetVersion: judgement.ruleSetVersion, version: row.version, ...(note ? { note } : {}) });
    return toMaterial(row);
  });
}

export async function rejectMaterial(db: Db, id: string, note: string, by: ChangedBy): Promise<Material> {
  if (!note.trim()) throw invalid('驳回须填写原因', [{ path: 'body.note', message: 'required' }]);
  return inTransaction(db, async (trx) => {
    const current = await loadMaterialRow(trx, id, true);
    if (current.status !== 'pending') throw wrongStatus(current, '审核', ['pending']);
    const now = new Date();
    const row = await trx
      .updateTable('materials')
      .set({ status: 'rejected', review_note: note.trim(), reviewed_by: by.actorId, reviewed_at: now, updated_at: now })
      .where('id', '=', current.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit(trx, by, 'material.reject', row.id, { note: row.review_note, version: row.version });
    return toMaterial(row);
  });
}

/** Pending materials are not retired: compliance decides them first. */
const RETIRABLE: readonly MaterialStatus[] = ['draft', 'rejected', 'approved'];

export async function retireMaterial(db: Db, id: string, reason: string | null, by: ChangedBy): Promise<Material> {
  return inTransaction(db, async (trx) => {
    const current = await loadMaterialRow(trx, id, true);
    if (!RETIRABLE.includes(current.status)) throw wrongStatus(current, '下架', RETIRABLE);
    const now = new Date();
    const row = await trx
      .updateTable('materials')
      .set({ status: 'retired', retired_at: now, updated_at: now })
      .where('id', '=', current.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit(trx, by, 'material.retire', row.id, { from: current.status, version: row.version, ...(reason ? { reason } : {}) });
    return toMaterial(row);
  });
}

const REVISABLE: readonly MaterialStatus[] = ['approved', 'retired'];

/**
 * Copies an approved (or retired) material into a new draft with the next version. The original
 * stays as it is — still usable while approved — until someone retires it.
 */
export async function reviseMaterial(db: Db, id: string, by: ChangedBy): Promise<Material> {
  return inTransaction(db, async (trx) => {
    const source = await loadMaterialRow(trx, id, true);
    if (!REVISABLE.includes(source.status)) throw wrongStatus(source, '修订', REVISABLE);
    const row = await trx
      .insertInto('materials')
      .values({
        kind: source.kind, title: source.title, text: source.text, attachment: jsonOrNull(source.attachment), product_ids: source.product_ids,
        labels: source.labels, version: source.version + 1, verdict: null, findings: null, review_note: null, created_by: by.actorId,
        submitted_at: null, reviewed_by: null, reviewed_at: null, retired_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit(trx, by, 'material.revise', row.id, { revisedFrom: source.id, fromVersion: source.version, version: row.version, title: row.title });
    return toMaterial(row);
  });
}
