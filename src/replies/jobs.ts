import { z } from 'zod';
import { EVENTS, type EventBus } from '../platform/events.js';
import type { JobRunner } from '../platform/jobs.js';
import { handleInbound, type ReplyDeps } from './engine.js';

/**
 * WeChat customer-service messages arrive as `message.received` events from the WeCom gateway (kf
 * channel); each becomes a `replies.inbound` job keyed by its msgid, so a crash loses none and a
 * redelivery answers once.
 */
export const REPLY_JOB = 'replies.inbound';

const kfPayload = z.object({ corpId: z.string(), openKfid: z.string(), externalUserid: z.string(), messageId: z.string(), text: z.string() });

export function defineReplyJobs(jobs: JobRunner, events: EventBus, deps: ReplyDeps): void {
  jobs.define({
    name: REPLY_JOB,
    payload: kfPayload,
    concurrency: 4,
    handler: async (p) => {
      await handleInbound(deps, {
          channel: 'kf', messageId: p.messageId, corpId: p.corpId, conversation: `${p.openKfid}:${p.externalUserid}`, sender: p.externalUserid,
          externalUserid: p.externalUserid, isGroup: false, mentioned: true, text: p.text,
          reply: { channel: 'kf', recipient: p.externalUserid, extra: { open_kfid: p.openKfid } },
      });
    },
  });
  events.on(EVENTS.messageReceived, async ({ payload, cause }) => {
    if (!payload.channel.startsWith('kf:') || !payload.corpId || !payload.messageId) return;
    const openKfid = payload.channel.slice('kf:'.length);
    await jobs.enqueue(REPLY_JOB, { corpId: payload.corpId, openKfid, externalUserid: payload.from, messageId: payload.messageId, text: payload.text }, { key: `kf:${payload.corpId}:${payload.messageId}`, cause });
  });
}
