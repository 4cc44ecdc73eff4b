import type { Db } from '../platform/db/database.js';
import type { ComplianceReviewStatus } from '../platform/db/schema.js';
import { conflict, forbidden, notFound } from '../platform/errors.js';
import type { CheckResult } from './check.js';

/**
 * The review queue (银发〔2019〕316号: staff may not send marketing content the bank has not
 * reviewed). Free text by staff that reads like marketing and did not pass is held here until a
 * compliance reviewer approves or rejects it. A reviewer never decides on their own text.
 */
export interface ReviewSubmission {
  text: string;
  /** The staff member who wrote it (null for machine-written drafts). */
  authorId: string | null;
  /** Where the text was going: 'sidebar', 'mass_send', 'sop', 'ai_draft', 'api', … */
  source: string;
  result: Pick<CheckResult, 'verdict' | 'findings' | 'products' | 'ruleSetVersion'>;
}

export interface Review {
  id: string;
  text: string;
  authorId: string | null;
  source: string;
  verdict: 'warn' | 'block';
  findings: unknown[];
  productIds: string[];
  ruleSetVersion: number | null;
  status: ComplianceReviewStatus;
  reviewerId: string | null;
  decisionNote: string | null;
  decidedAt: Date | null;
  createdAt: Date;
}

type Row = {
  id: string; text: string; author_id: string | null; source: string; verdict: 'warn' | 'block'; findings: unknown[];
  product_ids: string[]; rule_set_version: number | null; status: ComplianceReviewStatus; reviewer_id: string | null;
  decision_note: string | null; decided_at: Date | null; created_at: Date;
};

const toReview = (r: Row): Review => ({
  id: r.id,
  text: r.text,
  authorId: r.author_id,
  source: r.source,
  verdict: r.verdict,
  findings: r.findings,
  productIds: r.product_ids,
  ruleSetVersion: r.rule_set_version,
  status: r.status,
  reviewerId: r.reviewer_id,
  decisionNote: r.decision_note,
  decidedAt: r.decided_at ? new Date(r.decided_at) : null,
  createdAt: r.created_at,
});

/** Queues a text for review; only warn and block results are queued. */
export async function submitForReview(db: Db, submission: ReviewSubmission): Promise<Review> {
  const { verdict } = submission.result;
  if (verdict === 'pass') throw new Error('a passing text needs no review');
  const row = await db
    .insertInto('compliance_reviews')
    .values({
      text: submission.text,
      author_id: submission.authorId,
      source: submission.source,
      verdict,
      findings: JSON.stringify(submission.result.findings),
      product_ids: submission.result.products,
      rule_set_version: submission.result.ruleSetVersion,
      reviewer_id: null,
      decision_note: null,
      decided_at: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toReview(row as Row);
}

export async function getReview(db: Db, id: string): Promise<Review> {
  const row = await db.selectFrom('compliance_reviews').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound(`review ${id}`);
  return toReview(row as Row);
}

export async function listReviews(db: Db, query: { status?: ComplianceReviewStatus; limit: number }): Promise<Review[]> {
  let q = db.selectFrom('compliance_reviews').selectAll().orderBy('created_at', 'asc').orderBy('id').limit(query.limit);
  if (query.status) q = q.where('status', '=', query.status);
  return (await q.execute()).map((r) => toReview(r as Row));
}

/** Approves or rejects a pending review; 409 when already decided, 403 on one's own text. */
export async function decideReview(db: Db, id: string, decision: { reviewerId: string; approve: boolean; note: string | null }): Promise<Review> {
  const review = await getReview(db, id);
  if (review.authorId && review.authorId === decision.reviewerId) throw forbidden('a reviewer may not decide on their own text');
  const row = await db
    .updateTable('compliance_reviews')
    .set({ status: decision.approve ? 'approved' : 'rejected', reviewer_id: decision.reviewerId, decision_note: decision.note, decided_at: new Date() })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .returningAll()
    .executeTakeFirst();
  if (!row) throw conflict(`review ${id} was already ${(await getReview(db, id)).status}`);
  return toReview(row as Row);
}
