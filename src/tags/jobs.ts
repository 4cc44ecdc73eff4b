import { z } from 'zod';
import type { Db } from '../platform/db/database.js';
import { EVENTS, causeLabel, type Cause, type EventBus } from '../platform/events.js';
import type { JobRunner } from '../platform/jobs.js';
import type { Logger } from '../platform/logger.js';
import type { WeComGateway } from '../wecom/client/index.js';
import { recomputeFactTags } from './facts.js';
import { syncTagIndexes } from './indexes.js';
import { recomputeAllRuleTags, recomputeRuleTag } from './rules.js';
import { customersOfContact, isOwnCause, mirrorWecomTags } from './wecom.js';

/**
 * Jobs and event subscriptions of the tags module.
 * - tags.nightly: WeCom mirror of every active corp, then fact tags, then every rule tag (rules may use both).
 * - tags.rule-recompute {tagId}: one rule tag (or its exclusive group), enqueued when a rule is created or changed.
 * - tags.facts {customerIds?}: fact tags of some customers (after an import) or of all.
 * - tags.wecom-mirror {corpId}: the WeCom → local mirror of a whole corp (after a sync).
 */
export const TAG_JOBS = {
  nightly: 'tags.nightly',
  ruleRecompute: 'tags.rule-recompute',
  facts: 'tags.facts',
  wecomMirror: 'tags.wecom-mirror',
} as const;

export interface TagDeps {
  db: Db;
  gateway: WeComGateway;
  events: EventBus;
  jobs: JobRunner;
  logger: Logger;
}

async function activeCorps(db: Db): Promise<string[]> {
  return (await db.selectFrom('corps').select('corp_id').where('active', '=', true).orderBy('corp_id').execute()).map((c) => c.corp_id);
}

export async function runNightly(deps: TagDeps, now: Date) {
  const mirror = { tagsCreated: 0, added: 0, removed: 0 };
  for (const corpId of await activeCorps(deps.db)) {
    const r = await mirrorWecomTags(deps.db, { corpId, cause: 'wecom:sync', now });
    mirror.tagsCreated += r.tagsCreated;
    mirror.added += r.added;
    mirror.removed += r.removed;
  }
  const facts = await recomputeFactTags(deps.db, { now });
  const rules = await recomputeAllRuleTags(deps.db, { now, wecom: deps, logger: deps.logger });
  // After the fact tags, which may have just been created (a first night). An index that cannot be built tonight
  // costs speed, not correctness: the night's tags stand and the next night tries again.
  const indexes = await syncTagIndexes(deps.db, deps.logger).catch((error: unknown) => {
    deps.logger.warn({ err: error }, 'fact tag indexes not brought up to date; segments count without them until the next night');
    return null;
  });
  return { mirror, facts, rules, indexes };
}

/** Enqueues a rule recompute; the key makes each version of the tag one job (a repeat enqueue is a no-op). */
export async function enqueueRuleRecompute(jobs: JobRunner, tag: { id: string; updated_at: Date }, cause: Cause): Promise<void> {
  await jobs.enqueue(TAG_JOBS.ruleRecompute, { tagId: tag.id }, { key: `tags-rule:${tag.id}:${tag.updated_at.getTime()}`, cause });
}

export function defineTagJobs(jobs: JobRunner, deps: TagDeps): void {
  jobs.define({
    name: TAG_JOBS.nightly,
    payload: z.object({}),
    lockLifetimeMs: 60 * 60_000,
    handler: async (_payload, context) => {
      const summary = await runNightly(deps, new Date());
      context.logger.info({ summary }, 'nightly tags recomputed');
    },
  });
  jobs.define({
    name: TAG_JOBS.ruleRecompute,
    payload: z.object({ tagId: z.uuid() }),
    handler: async ({ tagId }, context) => {
      const exists = await deps.db.selectFrom('tags').select('id').where('id', '=', tagId).where('deleted_at', 'is', null).where('rule', 'is not', null).executeTakeFirst();
      if (!exists) return; // deleted (or its rule removed) since it was enqueued
      const result = await recomputeRuleTag(deps.db, tagId, { now: new Date(), wecom: deps, logger: context.logger });
      context.logger.info({ tagId, result }, 'rule tag recomputed');
    },
  });
  jobs.define({
    name: TAG_JOBS.facts,
    payload: z.object({ customerIds: z.array(z.uuid()).max(100_000).optional() }),
    lockLifetimeMs: 60 * 60_000,
    handler: async ({ customerIds }, context) => {
      const result = await recomputeFactTags(deps.db, { now: new Date(), customerIds });
      context.logger.info({ customers: customerIds?.length ?? 'all', result }, 'fact tags recomputed');
    },
  });
  jobs.define({
    name: TAG_JOBS.wecomMirror,
    payload: z.object({ corpId: z.string().min(1).max(64) }),
    handler: async ({ corpId }, context) => {
      const result = await mirrorWecomTags(deps.db, { corpId, cause: 'wecom:sync' });
      context.logger.info({ corpId, result }, 'WeCom tags mirrored');
    },
  });
}

/** Nightly after the scoring run (01:30), so rules can use fresh model tags. */
export async function scheduleTagJobs(jobs: JobRunner, cron = '30 2 * * *'): Promise<void> {
  await jobs.every(TAG_JOBS.nightly, cron, {}, { cause: { type: 'system', id: 'schedule' } });
}

/**
 * WeCom → local: a relation's corp tags changed (callback, or the /wecom/contacts/:id/tags route) → mirror the
 * linked customer now, so the change shows at once; a corp-wide change (tags deleted in the admin console) →
 * a mirror job for the corp. Events caused by this module's own WeCom calls are ignored (loop guard).
 */
export function subscribeTagEvents(events: EventBus, deps: Pick<TagDeps, 'db' | 'jobs' | 'logger'>): () => void {
  return events.on(EVENTS.tagsChanged, async ({ payload, cause }) => {
    if (isOwnCause(cause)) return;
    if (payload.externalUserid) {
      const customerIds = await customersOfContact(deps.db, payload.corpId, payload.externalUserid);
      if (!customerIds.length) return;
      const result = await mirrorWecomTags(deps.db, { corpId: payload.corpId, customerIds, cause: `wecom:${causeLabel(cause)}` });
      if (result.added || result.removed) deps.logger.info({ corpId: payload.corpId, externalUserid: payload.externalUserid, result }, 'WeCom tag change mirrored');
      return;
    }
    if (payload.removed.length) await deps.jobs.enqueue(TAG_JOBS.wecomMirror, { corpId: payload.corpId }, { cause });
  });
}
