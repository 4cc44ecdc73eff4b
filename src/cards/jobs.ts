import { z } from 'zod';
import type { JobRunner } from '../platform/jobs.js';
import { retireIdleShareWays, type WayDeps } from './ways.js';

/**
 * The daily retirement of idle share QR codes: a share's own code not viewed for
 * CARDS_SHARE_WAY_IDLE_DAYS is deleted in WeCom, which frees room under the corp's limit and
 * CARDS_SHARE_WAYS_MAX; a later view of the link makes a new code with the same state.
 */
export const CARD_JOBS = { retireShareWays: 'cards.retire-share-ways' } as const;

export function defineCardJobs(jobs: JobRunner, deps: WayDeps & { idleDays: number }): void {
  jobs.define({
    name: CARD_JOBS.retireShareWays,
    payload: z.object({}),
    handler: async (_payload, { logger }) => {
      const retired = await retireIdleShareWays(deps, deps.idleDays);
      logger.info({ retired, idleDays: deps.idleDays }, 'cards: idle share QR codes retired');
    },
  });
}

export async function scheduleCardJobs(jobs: JobRunner): Promise<void> {
  await jobs.every(CARD_JOBS.retireShareWays, '40 3 * * *', {}, { cause: { type: 'system', id: 'schedule' }, timezone: 'Asia/Shanghai' });
}
