import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../platform/db/database.js';
import { rateLimited } from '../platform/errors.js';
import { wecomApi } from './api.js';
import type { WeComGateway } from './client/index.js';
import { jsApiSignature } from './crypto.js';

/**
 * JS-SDK signatures for the sidebar (REFERENCE §5): `wx.config` is signed with the corp ticket,
 * `agentConfig` with the app ticket. Tickets are cached (memory and database) for their 7,200 s;
 * fetches are counted per hour in the database, across nodes, and refused past the configured
 * quota (WeCom: 400 per corp, 100 per app) instead of spending WeCom's.
 */
export interface TicketQuotas {
  corpPerHour: number;
  agentPerHour: number;
}

async function countFetch(db: Db, corpId: string, api: string, limit: number): Promise<void> {
  const windowStart = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
  const row = await db
    .insertInto('wecom_quota_usage')
    .values({ corp_id: corpId, api, window_start: windowStart, used: 1 })
    .onConflict((oc) => oc.columns(['corp_id', 'api', 'window_start']).doUpdateSet({ used: sql`wecom_quota_usage.used + 1` }))
    .returning('used')
    .executeTakeFirstOrThrow();
  if (row.used > limit) {
    throw rateLimited(Math.ceil((windowStart.getTime() + 3_600_000 - Date.now()) / 1000));
  }
}

export async function jsSdkSignatures(deps: { db: Db; gateway: WeComGateway; quotas: TicketQuotas }, corpId: string, url: string, now = Date.now()) {
  const client = deps.gateway.client(corpId, 'agent');
  const api = wecomApi(client);
  const tokens = deps.gateway.tokens;
  const corpTicket = await tokens.get(corpId, 'jsapi_ticket:corp', async () => {
    await countFetch(deps.db, corpId, 'get_jsapi_ticket', deps.quotas.corpPerHour);
    const t = await api.jsapiTicket();
    return { value: t.ticket, expiresInSeconds: t.expires_in };
  });
  const agentTicket = await tokens.get(corpId, 'jsapi_ticket:agent', async () => {
    await countFetch(deps.db, corpId, 'ticket/get', deps.quotas.agentPerHour);
    const t = await api.agentTicket();
    return { value: t.ticket, expiresInSeconds: t.expires_in };
  });
  const corp = await deps.gateway.registry.get(corpId);
  const timestamp = Math.floor(now / 1000);
  const nonceStr = randomBytes(12).toString('base64url');
  return {
    corpId,
    agentId: corp?.agentId ?? null,
    timestamp,
    nonceStr,
    signature: jsApiSignature(corpTicket, nonceStr, timestamp, url),
    agentConfig: { corpId, agentId: corp?.agentId ?? null, timestamp, nonceStr, signature: jsApiSignature(agentTicket, nonceStr, timestamp, url) },
  };
}
