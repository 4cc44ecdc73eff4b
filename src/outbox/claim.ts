import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../platform/db/database.js';
import { quietHoursEnd, quotaPeriod, type QuietHours, type QuotaPeriod } from './rules.js';
import type { Batch, Sender } from './senders.js';

/**
 * Claiming: one transaction takes due pending rows (FOR UPDATE SKIP LOCKED, oldest first), applies
 * the rules that may stop or postpone them, groups the rest into batches (one provider call each),
 * records each batch with its lease and moves its rows to `sending`. Nothing is called here.
 *
 * Claims are serialised by a transaction-level advisory lock, so that counts taken here (the
 * receiving quota, the app-message rate) see every row another dispatcher claimed before.
 */
export interface ClaimRules {
  quietHours: QuietHours;
  quota: { period: QuotaPeriod; limit: number };
  /** WeCom drops app messages over these per member (REFERENCE §2). */
  appRate: { perMinute: number; perHour: number };
}

export interface ClaimInput {
  db: Db;
  instance: string;
  senders: ReadonlyMap<string, Sender>;
  /** How many batches (provider calls) to claim at most. */
  slots: number;
  batchMax: number;
  leaseMs: number;
  now: Date;
  rules: ClaimRules;
  /** How long WeCom has blocked this API for the corp (the client's rate budget); 0 when open. */
  blockedFor(corpId: string, api: string): number;
}

export interface ClaimedBatch extends Batch {
  groupKey: string | null;
}

export interface ClaimResult {
  batches: ClaimedBatch[];
  deferred: number;
  cancelled: number;
  expired: number;
}

interface ScanRow {
  id: string;
  corp_id: string;
  channel: string;
  recipient: string;
  sender: string | null;
  payload: Record<string, unknown>;
  group_key: string | null;
  customer_id: string | null;
  purpose: 'marketing' | 'service';
  attempts: number;
  expires_at: Date | null;
  marketing_consent: boolean | null;
}

const CLAIM_LOCK = sql`pg_advisory_xact_lock(hashtext('outbox.claim'))`;
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

export const REASONS = {
  consentWithdrawn: '客户已撤回营销授权',
  expired: '已过有效期，未发送',
  quiet: (q: QuietHours) => `免打扰时段（${q.start}–${q.end}），顺延至 ${q.end} 后发送`,
  quota: (limit: number, period: QuotaPeriod) => `客户本${{ day: '日', week: '周', month: '月' }[period]}已收到 ${limit} 条企业群发，顺延至下一周期`,
  appRate: '成员接收应用消息过于频繁，稍后发送',
};

const key = (corpId: string, recipient: string) => `${corpId}\u0000${recipient}`;

/** Receiving-quota counts: corp mass messages each recipient got this period, or that are on their way. */
async function quotaCounts(db: Db, rows: ScanRow[], since: Date): Promise<Map<string, number>> {
  if (!rows.length) return new Map();
  const result = await sql<{ corp_id: string; recipient: string; n: number }>`
    SELECT corp_id, recipient, count(*)::int AS n FROM outbox
     WHERE channel = 'mass_single' AND corp_id = ANY(${[...new Set(rows.map((r) => r.corp_id))]}) AND recipient = ANY(${[...new Set(rows.map((r) => r.recipient))]})
       AND ((status = 'sent' AND sent_at >= ${since} AND (delivery IS NULL OR delivery IN ('awaiting', 'delivered'))) OR status = 'sending')
     GROUP BY corp_id, recipient`.execute(db);
  return new Map(result.rows.map((r) => [key(r.corp_id, r.recipient), r.n]));
}

/** App messages each member got in the last hour (or that are on their way), oldest first, as epoch ms. */
async function recentAppMessages(db: Db, rows: ScanRow[], now: Date): Promise<Map<string, number[]>> {
  if (!rows.length) return new Map();
  const result = await sql<{ corp_id: string; recipient: string; at: Date[] }>`
    SELECT corp_id, recipient, array_agg(coalesce(sent_at, ${now}) ORDER BY coalesce(sent_at, ${now})) AS at FROM outbox
     WHERE channel = 'app_message' AND corp_id = ANY(${[...new Set(rows.map((r) => r.corp_id))]}) AND recipient = ANY(${[...new Set(rows.map((r) => r.recipient))]})
       AND ((status = 'sent' AND sent_at > ${new Date(now.getTime() - HOUR_MS)}) OR status = 'sending')
     GROUP BY corp_id, recipient`.execute(db);
  return new Map(result.rows.map((r) => [key(r.corp_id, r.recipient), r.at.map((d) => new Date(d).getTime())]));
}

/** When a member may get the next app message, or undefined when now. */
function appRateUntil(times: number[], now: number, rate: ClaimRules['appRate']): Date | undefined {
  const lastMinute = times.filter((t) => t > now - MINUTE_MS);
  if (lastMinute.length >= rate.perMinute) return new Date(lastMinute[lastMinute.length - rate.perMinute]! + MINUTE_MS);
  const lastHour = times.filter((t) => t > now - HOUR_MS);
  if (lastHour.length >= rate.perHour) return new Date(lastHour[lastHour.length - rate.perHour]! + HOUR_MS);
  return undefined;
}

export async function claimBatches(input: ClaimInput): Promise<ClaimResult> {
  const { now, rules, senders } = input;
  const channels = [...senders.keys()];
  // The oldest due rows first, a few per slot; then, for the group keys among them, the rest of each
  // group up to a full call. Rows without a group key go one per call, so a long queue of them costs
  // a claim only the rows it can use (a scan of thousands per claim starved the dispatcher).
  const head = input.slots * 4;
  const rest = Math.min(20_000, input.batchMax * input.slots);
  return input.db.transaction().execute(async (trx) => {
    await sql`SELECT ${CLAIM_LOCK}`.execute(trx);
    const columns = sql`o.id, o.corp_id, o.channel, o.recipient, o.sender, o.payload, o.group_key, o.customer_id, o.purpose, o.attempts, o.expires_at, o.created_at, c.marketing_consent`;
    const ordered = channels.filter((c) => senders.get(c)!.ordered);
    // A conversation's row waits while an older one (by created_at, then id) is pending — not due yet, locked by
    // another claim, retrying — or on its way. Checked in the scan, so waiting rows never fill it and stall others.
    const waits = ordered.length
      ? sql`AND NOT (o.channel = ANY(${ordered}) AND EXISTS (SELECT 1 FROM outbox p
          WHERE p.corp_id = o.corp_id AND p.channel = o.channel AND p.recipient = o.recipient AND p.id <> o.id
            AND (p.status = 'sending' OR (p.status = 'pending' AND (p.created_at, p.id) < (o.created_at, o.id)))))`
      : sql``;
    const due = sql`o.status = 'pending' AND o.channel = ANY(${channels}) AND (o.not_before IS NULL OR o.not_before <= ${now}) ${waits}`;
    const first = await sql<ScanRow & { created_at: Date }>`
      SELECT ${columns} FROM outbox o LEFT JOIN customers c ON c.id = o.customer_id
       WHERE ${due}
       ORDER BY o.created_at, o.id
       LIMIT ${head}
         FOR UPDATE OF o SKIP LOCKED`.execute(trx);
    const groups = [...new Set(first.rows.map((r) => r.group_key).filter((g): g is string => g !== null))];
    const more = groups.length
      ? await sql<ScanRow & { created_at: Date }>`
          SELECT ${columns} FROM outbox o LEFT JOIN customers c ON c.id = o.customer_id
           WHERE ${due} AND o.group_key = ANY(${groups}::text[]) AND o.id <> ALL(${first.rows.map((r) => r.id)}::uuid[])
           ORDER BY o.created_at
           LIMIT ${rest}
             FOR UPDATE OF o SKIP LOCKED`.execute(trx)
      : { rows: [] };
    const rows = [...first.rows, ...more.rows].sort((a, b) => new Date(a.created_at).getTime() - new Date(b.created_at).getTime());
    const period = quotaPeriod(now, rules.quota.period);
    const quota = await quotaCounts(trx, rows.filter((r) => senders.get(r.channel)!.receivingQuota), period.start);
    const appTimes = await recentAppMessages(trx, rows.filter((r) => senders.get(r.channel)!.perRecipientRate), now);
    const quietUntil = quietHoursEnd(now, rules.quietHours);

    const expired: string[] = [];
    const cancelled: string[] = [];
    const deferred: { id: string; until: Date; reason: string }[] = [];
    const defer = (row: ScanRow, until: Date, reason: string) => {
      if (row.expires_at && new Date(row.expires_at) <= until) expired.push(row.id);
      else deferred.push({ id: row.id, until, reason });
    };
    const open = new Map<string, { batch: ClaimedBatch; recipients: Set<string> }>();
    const batches: ClaimedBatch[] = [];

    for (const row of rows) {
      const sender = senders.get(row.channel)!;
      if (row.expires_at && new Date(row.expires_at) <= now) {
        expired.push(row.id);
        continue;
      }
      if (sender.customerFacing) {
        if (row.purpose === 'marketing' && row.customer_id && row.marketing_consent === false) {
          cancelled.push(row.id);
          continue;
        }
        if (quietUntil) {
          defer(row, quietUntil, REASONS.quiet(rules.quietHours));
          continue;
        }
      }
      const rk = key(row.corp_id, row.recipient);
      if (sender.receivingQuota && (quota.get(rk) ?? 0) >= rules.quota.limit) {
        defer(row, period.next, REASONS.quota(rules.quota.limit, rules.quota.period));
        continue;
      }
      if (sender.perRecipientRate) {
        const until = appRateUntil(appTimes.get(rk) ?? [], now.getTime(), rules.appRate);
        if (until) {
          defer(row, until, REASONS.appRate);
          continue;
        }
      }
      if (input.blockedFor(row.corp_id, sender.api) > 0) continue;
      // Rows go together only with the same corp, channel, sender, group key and content, never twice to one recipient.
      const groupKey = row.group_key ? `${row.corp_id}\u0000${row.channel}\u0000${row.sender ?? ''}\u0000${row.group_key}\u0000${JSON.stringify(row.payload)}` : `row:${row.id}`;
      let slot = open.get(groupKey);
      const max = Math.min(input.batchMax, sender.maxRecipients);
      if (slot && (slot.batch.rows.length >= max || slot.recipients.has(row.recipient))) slot = undefined;
      if (!slot) {
        if (batches.length >= input.slots) continue;
        const batch: ClaimedBatch = { id: randomUUID(), corpId: row.corp_id, channel: row.channel, sender: row.sender, groupKey: row.group_key, claimedAt: now, rows: [] };
        batches.push(batch);
        slot = { batch, recipients: new Set() };
        open.set(groupKey, slot);
      }
      slot.batch.rows.push({ id: row.id, recipient: row.recipient, payload: row.payload, attempts: row.attempts, customerId: row.customer_id });
      slot.recipients.add(row.recipient);
      if (sender.receivingQuota) quota.set(rk, (quota.get(rk) ?? 0) + 1);
      if (sender.perRecipientRate) appTimes.set(rk, [...(appTimes.get(rk) ?? []), now.getTime()]);
    }

    if (expired.length) await trx.updateTable('outbox').set({ status: 'expired', last_error: REASONS.expired, updated_at: now }).where(sql<boolean>`id = ANY(${expired}::uuid[])`).execute();
    if (cancelled.length) await trx.updateTable('outbox').set({ status: 'cancelled', last_error: REASONS.consentWithdrawn, updated_at: now }).where(sql<boolean>`id = ANY(${cancelled}::uuid[])`).execute();
    if (deferred.length) {
      await sql`
        UPDATE outbox o SET not_before = d.until, last_error = d.reason, updated_at = ${now}
          FROM unnest(${deferred.map((d) => d.id)}::uuid[], ${deferred.map((d) => d.until)}::timestamptz[], ${deferred.map((d) => d.reason)}::text[]) AS d(id, until, reason)
         WHERE o.id = d.id`.execute(trx);
    }
    if (batches.length) {
      const inserted = await sql<{ id: string; claimed_at: Date }>`
        INSERT INTO outbox_batches (id, corp_id, channel, sender, group_key, size, claimed_by, claimed_at, lease_until)
        SELECT b.id, b.corp_id, b.channel, b.sender, b.group_key, b.size, ${input.instance}, now(), now() + ${input.leaseMs} * interval '1 millisecond'
          FROM unnest(${batches.map((b) => b.id)}::uuid[], ${batches.map((b) => b.corpId)}::text[], ${batches.map((b) => b.channel)}::text[],
                      ${batches.map((b) => b.sender)}::text[], ${batches.map((b) => b.groupKey)}::text[], ${batches.map((b) => b.rows.length)}::int[])
               AS b(id, corp_id, channel, sender, group_key, size)
        RETURNING id, claimed_at`.execute(trx);
      const claimedAt = new Map(inserted.rows.map((r) => [r.id, new Date(r.claimed_at)]));
      for (const b of batches) b.claimedAt = claimedAt.get(b.id)!;
      const rowIds = batches.flatMap((b) => b.rows.map((r) => r.id));
      const batchIds = batches.flatMap((b) => b.rows.map(() => b.id));
      await sql`
        UPDATE outbox o SET status = 'sending', batch_id = v.batch_id, updated_at = ${now}
          FROM unnest(${rowIds}::uuid[], ${batchIds}::uuid[]) AS v(id, batch_id)
         WHERE o.id = v.id`.execute(trx);
    }
    return { batches, deferred: deferred.length, cancelled: cancelled.length, expired: expired.length };
  });
}
