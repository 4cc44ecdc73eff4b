import { z } from 'zod';
import { auditBy, recordAudit } from '../audit/index.js';
import { customerScope, rolesFor } from '../auth/index.js';
import type { Db } from '../platform/db/database.js';
import { notFound } from '../platform/errors.js';
import type { Api } from '../platform/http/api.js';
import type { JobRunner } from '../platform/jobs.js';
import { SCORING_JOB } from './job.js';

/**
 * The models' output for one customer (the sidebar's "scores with reasons"), and an on-demand run of the
 * nightly job for operations staff after a large import. Scores are read in the caller's data scope.
 */
export function registerScoringRoutes(api: Api, deps: { db: Db; jobs: JobRunner }): void {
  const { db, jobs } = deps;

  api.route({
    method: 'get',
    path: '/customers/:id/scores',
    summary: 'a customer’s RFM class, churn risk with its top reasons, and product recommendations with suitability',
    tag: 'scoring',
    auth: rolesFor('customers.read'),
    params: z.object({ id: z.uuid() }),
    handler: async ({ params, actor }) => {
      const customer = await db.selectFrom('customers').select('id').where('id', '=', params.id).where(customerScope(actor!)).executeTakeFirst();
      if (!customer) throw notFound('customer');
      const row = await db.selectFrom('customer_scores').selectAll().where('customer_id', '=', params.id).executeTakeFirst();
      if (!row) return { customerId: params.id, computedAt: null, rfm: null, churn: null, propensity: [] };
      return {
        customerId: params.id,
        computedAt: row.computed_at,
        rfm: row.rfm_class ? { class: row.rfm_class, recency: row.recency_score, frequency: row.frequency_score, monetary: row.monetary_score } : null,
        churn: row.churn_band ? { probability: row.churn_probability, band: row.churn_band, reasons: row.churn_reasons } : null,
        propensity: row.propensity,
      };
    },
  });

  api.route({
    method: 'post',
    path: '/scoring/run',
    summary: 'run the nightly scoring now (one run at a time; audited)',
    tag: 'scoring',
    auth: rolesFor('sop.manage'),
    status: 202,
    handler: async ({ actor, ctx }) => {
      const key = `manual:${new Date().toISOString().slice(0, 16)}`;
      const queued = await jobs.enqueue(SCORING_JOB, {}, { key, cause: { type: 'member', id: actor!.id } });
      await recordAudit(db, auditBy(actor!, { ip: ctx.ip, requestId: ctx.state.requestId })('scoring.run', { targetType: 'scoring', outcome: 'success', detail: { queued, key } }));
      return { queued, key };
    },
  });
}
