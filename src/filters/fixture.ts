import { sql } from 'kysely';
import { testCipher } from '../../test/harness.js';
import type { Db } from '../platform/db/database.js';
import { upsertCustomers, type CustomerInput } from '../customers/index.js';
import { BRANCHES } from '../demo/branches.js';
import { DEMO_CORP_ID, insertSyntheticCustomers } from '../demo/seed.js';
import { DEFAULT_AS_OF, generateCustomers } from '../demo/synthetic.js';
import type { OracleCustomer, OracleRelation, OracleTag, World } from './oracle.js';

/**
 * Test support: a few hundred synthetic customers plus hand-built ones on the edges (LIKE wildcards, NULLs,
 * 29 February, day boundaries, malformed maturities), with scores, tags in every layer, follow relations (live,
 * deleted, by contact way) and timeline messages. Everything is decided here in JavaScript first, then written
 * to the database, so the oracle and PostgreSQL see the same world.
 */
export const NOW = DEFAULT_AS_OF; // 2026-11-23 00:00 Asia/Shanghai
const DAY = 86_400_000, HOUR = 3_600_000;
const ago = (days: number, hours = 0) => new Date(NOW.getTime() - days * DAY - hours * HOUR).toISOString();
export const TODAY = '2026-11-23';
const dayFromToday = (days: number) => new Date(Date.parse(TODAY) + days * DAY).toISOString().slice(0, 10);
const localMidnight = (day: string) => new Date(`${day}T00:00:00+08:00`).toISOString();

const HAND_BUILT: (CustomerInput & { createdAt?: string })[] = [
  { cifNo: 'HB01', name: '张%三', birthDate: '2000-02-29', aum: 500_000, products: ['p-x'], segments: ['代发'],
    lastTxnAt: localMidnight('2026-10-24'), createdAt: localMidnight('2026-11-16') },
  { cifNo: 'HB02', name: '李_四', gender: 'F', birthDate: '1990-12-31', aum: 6_000_000, riskLevel: 'R5', riskAssessedAt: '2025-11-23',
    lastTxnAt: '2026-10-23T15:59:59.000Z', branchId: 'br-hq', createdAt: '2026-11-15T15:59:59.000Z' },
  { cifNo: 'HB03', name: '王\\五', gender: 'M', birthDate: '1985-01-01', aum: 12_345.67, riskLevel: 'R1', riskAssessedAt: '2025-11-22',
    attrs: { maturities: [{ productId: 'p-dep-3y', date: '2026-11-23' }] } },
  { cifNo: 'HB04', name: "O'Brien' OR 1=1 --", aum: 0, marketingConsent: true, attrs: { maturities: 'soon' } },
  { cifNo: 'HB05', name: '赵六', birthDate: '1996-02-28', aum: 50_000, attrs: { maturities: ['x', { productId: 'p', date: '2026-12-23' }] } },
  { cifNo: 'HB06', name: '钱七', birthDate: '1970-03-01', aum: 1, attrs: { maturities: [{ date: '2026-11-22' }, { productId: 'x', date: 20261201 }, { date: 'not-a-date' }] } },
  { cifNo: 'HB07', name: '孙八', birthDate: '2004-11-23', aum: 499_999.99, attrs: { maturities: [{ productId: 'p', date: '2026-12-24T00:00:00+08:00' }] } },
  { cifNo: 'HB08', name: '周九', birthDate: '1960-11-24', aum: 7_000_000.5, segments: ['高净值', '代发'], products: ['p-x', 'p-y'] },
];

const GROUPS = [['客群', 'fact'], ['规则标签', 'rule'], ['模型', 'model'], ['手工', 'manual']] as const;
/** [group, name, deleted, which customers (by position) carry it] */
const TAGS: [string, string, boolean, (i: number) => boolean][] = [
  ['客群', '代发', false, (i) => i % 5 === 0],
  ['规则标签', '代发', false, (i) => i % 7 === 0],
  ['模型', '高潜', false, (i) => i % 3 === 1],
  ['手工', 'VIP', false, (i) => i % 11 === 0],
  ['手工', '已删', true, (i) => i % 2 === 0],
  ['手工', 'a:b', false, (i) => i % 13 === 0],
];
const RFM = ['重要价值', '重要发展', '一般保持', '流失预警'];
const CHURN = [0.05, 0.3, 0.55, 0.8, null];

export async function buildWorld(db: Db): Promise<World> {
  const cipher = testCipher();
  await db.insertInto('branches').values(BRANCHES.map((b) => ({ ...b }))).execute();
  const synthetic = [...generateCustomers(300)];
  await insertSyntheticCustomers(db, cipher, synthetic);
  await upsertCustomers(db, cipher, HAND_BUILT);
  const way = await db.insertInto('wecom_contact_ways')
    .values({ corp_id: DEMO_CORP_ID, type: 1, scene: 2, state: 'cw-spring', name: '春季活动', members: ['WangFang'] })
    .returning('id').executeTakeFirstOrThrow();

  const customers: OracleCustomer[] = [
    ...synthetic.map((s, i): OracleCustomer => ({
      cifNo: s.cifNo, name: s.name, gender: s.gender, birthDate: s.birthDate, branchId: s.branchId, aum: s.aum,
      riskLevel: s.riskLevel, riskAssessedAt: s.riskAssessedAt, products: s.products, segments: s.segments, lastTxnAt: s.lastTxnAt,
      marketingConsent: s.marketingConsent, createdAt: ago((i * 37) % 400, i % 24),
      maturities: i % 4 === 0 ? [{ productId: 'p-dep-1y', date: dayFromToday((i % 60) - 10) }] : i % 17 === 1 ? { bad: true } : [],
      score: null, tagIds: [], messages: [],
      relations: s.wecom ? [{ userid: s.wecom.followerUserid, addedAt: s.wecom.addedAt, state: s.wecom.state,
        contactWayId: i % 4 === 1 ? way.id : null, deleted: i % 3 === 0 }] : [],
    })),
    ...HAND_BUILT.map((h): OracleCustomer => ({
      cifNo: h.cifNo, name: h.name, gender: h.gender ?? null, birthDate: h.birthDate ?? null, branchId: h.branchId ?? null, aum: h.aum ?? 0,
      riskLevel: h.riskLevel ?? null, riskAssessedAt: h.riskAssessedAt ?? null, products: h.products ?? [], segments: h.segments ?? [],
      lastTxnAt: h.lastTxnAt ?? null, marketingConsent: h.marketingConsent ?? false, createdAt: h.createdAt ?? ago(500),
      maturities: h.attrs?.maturities, score: null, tagIds: [], relations: [], messages: [],
    })),
  ];
  const hb = (cif: string) => customers.find((c) => c.cifNo === cif)!;
  hb('HB02').relations.push(
    { userid: 'LiNa', addedAt: ago(3), state: 'card-LiNa', contactWayId: null, deleted: true },
    { userid: 'WangFang', addedAt: localMidnight('2026-11-13'), state: 'cw-spring', contactWayId: way.id, deleted: false },
  );
  hb('HB03').relations.push({ userid: 'ZhangWei', addedAt: localMidnight('2026-08-25'), state: null, contactWayId: null, deleted: true });
  hb('HB01').messages.push({ at: localMidnight('2026-08-25'), kind: 'message_in' }); // exactly 90 days ago
  hb('HB05').messages.push({ at: '2026-08-24T15:59:59.000Z', kind: 'message_out' }, { at: ago(1), kind: 'note' }); // 91 days ago

  const ids = new Map((await db.selectFrom('customers').select(['id', 'cif_no']).execute()).map((r) => [r.cif_no, r.id]));
  const idOf = (c: OracleCustomer) => ids.get(c.cifNo)!;

  const groupIds = new Map<string, string>();
  for (const [name, layer] of GROUPS) {
    groupIds.set(name, (await db.insertInto('tag_groups').values({ name, layer }).returning('id').executeTakeFirstOrThrow()).id);
  }
  const tags: OracleTag[] = [];
  for (const [group, name, deleted, carries] of TAGS) {
    const { id } = await db.insertInto('tags')
      .values({ group_id: groupIds.get(group)!, name, rule: null, description: null, wecom_corp_id: null, wecom_tag_id: null, created_by: null, deleted_at: deleted ? NOW : null })
      .returning('id').executeTakeFirstOrThrow();
    tags.push({ id, name, group, deleted });
    customers.forEach((c, i) => carries(i) && c.tagIds.push(id));
  }

  customers.forEach((c, i) => {
    if (i % 3 !== 0) {
      const p = CHURN[i % 5]!;
      c.score = { recency: (i % 5) + 1, frequency: i % 7 === 0 ? null : (i % 4) + 1, monetary: ((i * 3) % 5) + 1, rfmClass: RFM[i % 4]!,
        churnProbability: p, churnBand: p === null ? null : p < 0.3 ? 'low' : p < 0.6 ? 'medium' : 'high' };
    }
    if (i % 6 === 0) c.messages.push({ at: ago(i % 120, 5), kind: 'message_in' });
    if (i % 6 === 3) c.messages.push({ at: ago(1), kind: 'note' });
    if (i % 10 === 0) c.messages.push({ at: ago(i % 200, 2), kind: 'message_out' });
  });

  await writeWorld(db, customers, idOf, synthetic.length);
  return { customers, tags };
}

async function writeWorld(db: Db, customers: OracleCustomer[], idOf: (c: OracleCustomer) => string, syntheticCount: number): Promise<void> {
  const cifs = customers.map((c) => c.cifNo);
  await sql`UPDATE customers c SET created_at = v.at FROM unnest(${cifs}::text[], ${customers.map((c) => c.createdAt)}::timestamptz[]) v(cif, at)
    WHERE c.cif_no = v.cif`.execute(db);
  const synthetic = customers.slice(0, syntheticCount);
  await sql`UPDATE customers c SET attrs = jsonb_build_object('maturities', v.m) FROM unnest(${synthetic.map((c) => c.cifNo)}::text[],
    ${synthetic.map((c) => JSON.stringify(c.maturities))}::jsonb[]) v(cif, m) WHERE c.cif_no = v.cif`.execute(db);
  const scored = customers.filter((c) => c.score);
  await db.insertInto('customer_scores').values(scored.map((c) => ({
    customer_id: idOf(c), recency_score: c.score!.recency, frequency_score: c.score!.frequency, monetary_score: c.score!.monetary,
    rfm_class: c.score!.rfmClass, churn_probability: c.score!.churnProbability, churn_band: c.score!.churnBand as 'low' | null,
  }))).execute();
  const assigned = customers.flatMap((c) => c.tagIds.map((tag_id) => ({ customer_id: idOf(c), tag_id, source: 'rule' as const })));
  await db.insertInto('customer_tags').values(assigned).execute();
  const events = customers.flatMap((c) => c.messages.map((m) => ({ customer_id: idOf(c), at: new Date(m.at), kind: m.kind, summary: m.kind, cause_type: 'system' })));
  await db.insertInto('timeline_events').values(events).execute();
  // Synthetic relations exist already (insertSyntheticCustomers); set their deletion and contact way, add the hand-built ones.
  for (const [i, c] of customers.entries()) {
    for (const [j, r] of c.relations.entries()) {
      if (i < syntheticCount) {
        await sql`UPDATE follow_relations fr SET deleted_at = ${r.deleted ? NOW : null}, contact_way_id = ${r.contactWayId}
          FROM external_contacts ec WHERE ec.customer_id = ${idOf(c)} AND fr.corp_id = ec.corp_id AND fr.external_userid = ec.external_userid`.execute(db);
        continue;
      }
      const externalUserid = `wm${c.cifNo}${j}`;
      await db.insertInto('external_contacts').values({ corp_id: DEMO_CORP_ID, external_userid: externalUserid, name: c.name, gender: null, unionid: null, avatar: null, customer_id: idOf(c) }).execute();
      await db.insertInto('follow_relations').values(relationRow(externalUserid, r)).execute();
    }
  }
}

const relationRow = (externalUserid: string, r: OracleRelation) => ({
  corp_id: DEMO_CORP_ID, userid: r.userid, external_userid: externalUserid, remark: null, description: null, add_way: 1,
  state: r.state, added_at: r.addedAt, deleted_at: r.deleted ? NOW : null, deleted_by: r.deleted ? ('customer' as const) : null,
  contact_way_id: r.contactWayId,
});
