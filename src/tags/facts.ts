import { sql } from 'kysely';
import type { Db } from '../platform/db/database.js';
import { getSetting, type SettingValue } from '../settings/index.js';
import { ensureGroup, ensureTags, writeCustomers } from './catalog.js';

/**
 * Fact tags: computed from the customer record alone, never assigned by hand.
 *
 * - AUM分层 (exclusive): 大众 < potential ≤ 潜力 < wealth ≤ 财富 < private ≤ 私行, thresholds from the
 *   setting 'customers.aumTiers' (read at each run, so changing it and recomputing moves customers).
 * - 客户属性 (not exclusive):
 *   代发 / 社保: the segment is in `customers.segments`;
 *   临近退休: the segment 临近退休, or by age (whole years completed today): men 55–59, women 50–54;
 *   新客: the record was created, or the customer's first WeCom follow relation (deleted ones included) was
 *         added, today or within the 90 days before;
 *   沉睡: the last transaction is before the day 180 days ago; a customer with no transaction on record
 *         counts only once their record is older than that (a brand-new customer is not asleep).
 * Days are calendar days in Asia/Shanghai, as in the filter grammar.
 *
 * recomputeFactTags is one SQL statement: the wanted (customer, tag) pairs in one pass over customers,
 * then the assignments that are no longer wanted deleted and the missing ones inserted (hash anti-joins over the
 * whole base, see setBased). One statement is one transaction, so a tier change swaps the tier tag atomically.
 */
export const AUM_GROUP = 'AUM分层';
export const ATTRIBUTE_GROUP = '客户属性';
export const AUM_TIERS = ['大众', '潜力', '财富', '私行'] as const;
export const ATTRIBUTES = ['代发', '社保', '临近退休', '新客', '沉睡'] as const;
export const NEW_CUSTOMER_DAYS = 90;
export const DORMANT_DAYS = 180;
const TIME_ZONE = 'Asia/Shanghai';

export type AumTier = (typeof AUM_TIERS)[number];
type Attribute = (typeof ATTRIBUTES)[number];

/** Lower bounds (yuan) of 潜力, 财富 and 私行, from the setting 'customers.aumTiers'. */
export type AumThresholds = SettingValue<'customers.aumTiers'>;

/** The tiers from the top down, each with the least AUM it takes; 大众 takes any. */
const tierFloors = (t: AumThresholds): [AumTier, number][] => [['私行', t.private], ['财富', t.wealth], ['潜力', t.potential], ['大众', -Infinity]];

/** The AUM tier of a balance: the highest tier whose threshold it reaches. The fact tag's SQL uses the same floors. */
export function aumTier(aum: number, thresholds: AumThresholds): AumTier {
  return tierFloors(thresholds).find(([, floor]) => aum >= floor)![0];
}

export interface FactTags {
  tier: Record<AumTier, string>;
  attribute: Record<Attribute, string>;
  ids: string[];
}

export async function ensureFactTags(db: Db): Promise<FactTags> {
  const aumGroup = await ensureGroup(db, { name: AUM_GROUP, layer: 'fact', exclusive: true, description: '按 AUM 阈值分层（设置 customers.aumTiers）' });
  const attrGroup = await ensureGroup(db, { name: ATTRIBUTE_GROUP, layer: 'fact', exclusive: false, description: '由客户资料计算的属性' });
  const tiers = await ensureTags(db, aumGroup, AUM_TIERS, '事实标签');
  const attrs = await ensureTags(db, attrGroup, ATTRIBUTES, '事实标签');
  const pick = <K extends string>(names: readonly K[], map: Map<string, string>) => Object.fromEntries(names.map((n) => [n, map.get(n)!])) as Record<K, string>;
  return { tier: pick(AUM_TIERS, tiers), attribute: pick(ATTRIBUTES, attrs), ids: [...tiers.values(), ...attrs.values()] };
}

/** 'YYYY-MM-DD' in the zone. */
function localDay(instant: Date): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: TIME_ZONE, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(instant);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
}
const addDays = (day: string, n: number) => new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
const dayStart = (day: string) => sql`(${day}::timestamp AT TIME ZONE ${TIME_ZONE}::text)`;
const wan = (n: number) => `${n / 10_000}万`;

export interface FactOptions {
  now: Date;
  /** Only these customers (after an import); default everyone. */
  customerIds?: readonly string[];
}

export interface FactResult {
  added: number;
  removed: number;
}

export async function recomputeFactTags(db: Db, options: FactOptions): Promise<FactResult> {
  if (options.customerIds && !options.customerIds.length) return { added: 0, removed: 0 };
  const tiers = await getSetting(db, 'customers.aumTiers');
  const tags = await ensureFactTags(db);
  const today = localDay(options.now);
  const newSince = dayStart(addDays(today, -NEW_CUSTOMER_DAYS));
  const dormantBefore = dayStart(addDays(today, -DORMANT_DAYS));
  const year = Number(today.slice(0, 4));
  const monthDay = Number(today.slice(5, 7)) * 100 + Number(today.slice(8, 10));
  const ids = options.customerIds ? [...options.customerIds] : null;
  const onlyCustomers = (column: string) => (ids ? sql`AND ${sql.ref(column)} = ANY(${ids}::uuid[])` : sql``);
  const { tier, attribute: a } = tags;
  // Whole base: a hash anti-join against what is held. A few customers: ON CONFLICT's primary-key probe alone.
  const notHeld = ids ? sql`` : sql`WHERE NOT EXISTS (SELECT 1 FROM customer_tags ct WHERE ct.customer_id = w.customer_id AND ct.tag_id = w.tag_id)`;
  const tierCause = {
    大众: `大众：AUM < ${wan(tiers.potential)}`,
    潜力: `潜力：${wan(tiers.potential)} ≤ AUM < ${wan(tiers.wealth)}`,
    财富: `财富：${wan(tiers.wealth)} ≤ AUM < ${wan(tiers.private)}`,
    私行: `私行：AUM ≥ ${wan(tiers.private)}`,
  };
  const floors = tierFloors(tiers);
  const tierCase = (pick: (t: AumTier) => unknown) => sql`CASE
      ${sql.join(floors.slice(0, -1).map(([t, floor]) => sql`WHEN b.aum >= ${floor}::numeric THEN ${pick(t)}`), sql`\n      `)}
      ELSE ${pick(floors[floors.length - 1]![0])} END`;
  const causeOf: [string, string][] = [
    ...AUM_TIERS.map((t): [string, string] => [tier[t], tierCause[t]]),
    [a.代发, '代发：客群含代发'],
    [a.社保, '社保：客群含社保'],
    [a.临近退休, '临近退休：客群含临近退休，或男55–59岁、女50–54岁'],
    [a.新客, `新客：${NEW_CUSTOMER_DAYS}天内建档或首次添加企业微信`],
    [a.沉睡, `沉睡：${DORMANT_DAYS}天无交易`],
  ];
  const causes = sql.join(causeOf.map(([id, cause]) => sql`(${id}::uuid, ${cause}::text)`));

  const statement = sql<{ added: number; removed: number }>`
    WITH first_relation AS (
      SELECT ec.customer_id, min(fr.added_at) AS first_added
      FROM external_contacts ec
      JOIN follow_relations fr ON fr.corp_id = ec.corp_id AND fr.external_userid = ec.external_userid
      WHERE ec.customer_id IS NOT NULL ${onlyCustomers('ec.customer_id')}
      GROUP BY ec.customer_id
    ),
    base AS (
      SELECT c.id, c.aum, c.segments, c.gender, c.created_at, c.last_txn_at, f.first_added,
        (${year}::int - EXTRACT(YEAR FROM c.birth_date)::int
          - CASE WHEN (EXTRACT(MONTH FROM c.birth_date) * 100 + EXTRACT(DAY FROM c.birth_date))::int > ${monthDay}::int THEN 1 ELSE 0 END) AS age
      FROM customers c LEFT JOIN first_relation f ON f.customer_id = c.id
      WHERE true ${onlyCustomers('c.id')}
    ),
    want AS (
      SELECT b.id AS customer_id, u.tag_id, k.cause
      FROM base b
      CROSS JOIN LATERAL unnest(ARRAY[
        ${tierCase((t) => sql`${tier[t]}::uuid`)},
        CASE WHEN b.segments @> ARRAY['代发']::text[] THEN ${a.代发}::uuid END,
        CASE WHEN b.segments @> ARRAY['社保']::text[] THEN ${a.社保}::uuid END,
        CASE WHEN b.segments @> ARRAY['临近退休']::text[] OR (b.gender = 'M' AND b.age BETWEEN 55 AND 59) OR (b.gender = 'F' AND b.age BETWEEN 50 AND 54)
          THEN ${a.临近退休}::uuid END,
        CASE WHEN b.created_at >= ${newSince} OR b.first_added >= ${newSince} THEN ${a.新客}::uuid END,
        CASE WHEN b.last_txn_at < ${dormantBefore} OR (b.last_txn_at IS NULL AND b.created_at < ${dormantBefore}) THEN ${a.沉睡}::uuid END
      ]) AS u(tag_id)
      JOIN (VALUES ${causes}) AS k(tag_id, cause) ON k.tag_id = u.tag_id
    ),
    removed AS (
      DELETE FROM customer_tags ct
      WHERE ct.tag_id = ANY(${tags.ids}::uuid[]) ${onlyCustomers('ct.customer_id')}
        AND NOT EXISTS (SELECT 1 FROM want w WHERE w.customer_id = ct.customer_id AND w.tag_id = ct.tag_id)
      RETURNING 1
    ),
    added AS (
      INSERT INTO customer_tags (customer_id, tag_id, source, cause, assigned_at)
      SELECT w.customer_id, w.tag_id, 'fact', w.cause, ${options.now} FROM want w
      ${notHeld}
      ON CONFLICT (customer_id, tag_id) DO NOTHING
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM added)::int AS added, (SELECT count(*) FROM removed)::int AS removed`;
  const result = await writeCustomers(db, ids, (trx) => statement.execute(trx));
  return result.rows[0] ?? { added: 0, removed: 0 };
}
