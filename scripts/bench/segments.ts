/**
 * Benchmark of segment counts: BENCH_CUSTOMERS (default 1,000,000) synthetic customers with ~8 tags each (40 tags in
 * five groups), WeCom contacts for the 20% who have one, message events, and a score row each; then five
 * representative rules, each counted with countSegment (p50 of BENCH_RUNS, default 20, after 2 warm-up runs) and
 * with a naive scan (p50 of BENCH_NAIVE_RUNS, default 5): every customer's needed columns, tags, score, follow
 * relations and messages loaded into JavaScript in pages of 100,000 and the rule evaluated by the filter oracle.
 * The last stdout line is the result as JSON.
 *
 *   npx tsx scripts/bench/segments.ts                # embedded PostgreSQL under .data/bench-segments
 *   BENCH_DATABASE_URL=postgres://u:p@host/db ...    # a server: the database scrm_bench_segments is (re)built on it
 *   BENCH_FRESH=1 rebuilds the data even when the database already holds it (a reused one is migrated to the latest
 *   schema first, as a deployment would); BENCH_EXPLAIN=1 prints each count's plan to stderr; BENCH_DB names another
 *   database (default scrm_bench_segments). The indexes and derived columns are the product's (migrations 0009, 0018
 *   and 0021, and the fact tags' partial indexes the nightly tag job builds); the naive scan reads the sources (customer_tags, customer_scores, ...), not the derived columns.
 */
import { mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql, type Kysely } from 'kysely';
import { createLogger } from '../../src/platform/logger.js';
import { FieldCipher } from '../../src/platform/crypto.js';
import { migrateToLatest, openDatabase, type Db } from '../../src/platform/db/database.js';
import { migrations } from '../../src/platform/db/migrations/index.js';
import type { Actor } from '../../src/platform/http/context.js';
import type { TagLayer } from '../../src/platform/db/schema.js';
import { BRANCHES } from '../../src/demo/branches.js';
import { DEMO_CORP_ID } from '../../src/demo/seed.js';
import { DEFAULT_AS_OF, generateCustomers, type SyntheticCustomer } from '../../src/demo/synthetic.js';
import { customerRow } from '../../src/customers/index.js';
import type { FilterNode } from '../../src/filters/index.js';
import { evaluate, type OracleCustomer, type OracleTag } from '../../src/filters/oracle.js';
import { countSegment, planPredicate, planSegment } from '../../src/segments/index.js';
import { syncTagIndexes } from '../../src/tags/indexes.js';
import { adminQuery, benchServer } from './common.js';

const N = Number(process.env.BENCH_CUSTOMERS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const NAIVE_RUNS = Number(process.env.BENCH_NAIVE_RUNS ?? 5);
const DIR = path.resolve('.data/bench-segments');
const DB_NAME = process.env.BENCH_DB ?? 'scrm_bench_segments';
const DATA_VERSION = 'segments-bench-1';
const NOW = DEFAULT_AS_OF;
const ENV = { today: '2026-11-23', timeZone: 'Asia/Shanghai' };
const ADMIN: Actor = { id: 'bench', username: 'bench', displayName: 'bench', role: 'admin', branchId: null, corpId: null, wecomUserid: null, sessionId: 'bench' };

/** Hash joins of a few hundred thousand ids spill to disk with the default 4 MB; a tuned server gives them more. */
const WORK_MEM = process.env.BENCH_WORK_MEM ?? '64MB';

const leaf = (field: string, op: string, value?: unknown): FilterNode => (value === undefined ? { field, op } : { field, op, value });
const RULES: { name: string; filter: FilterNode }[] = [
  { name: 'AUM ≥ 50万 且 标签含 代发', filter: { all: [leaf('aum', 'gte', 500_000), leaf('tags', 'has', '代发')] } },
  { name: '客群:临近退休 且 90天内无联系', filter: { all: [leaf('tags', 'has', '客群:临近退休'), leaf('last_contact_at', 'not_within_last_days', 90)] } },
  { name: 'R3及以上 且 测评有效 且 标签含任一 偏好理财、偏好基金', filter: { all: [leaf('risk_level', 'in', ['R3', 'R4', 'R5']), leaf('risk_assessment_valid', 'is_true'), leaf('tags', 'has_any', ['偏好理财', '偏好基金'])] } },
  { name: '7天内生日 且 已授权营销', filter: { all: [leaf('birth_date', 'birthday_within_next_days', 7), leaf('marketing_consent', 'is_true')] } },
  { name: '西湖或滨江支行 且 流失风险高', filter: { all: [leaf('branch_id', 'in', ['br-hz-xihu', 'br-hz-binjiang']), leaf('churn_band', 'eq', 'high')] } },
];

const TAG_GROUPS: [group: string, layer: TagLayer, source: string, names: string][] = [
  ['客群', 'fact', 'fact', '代发 社保 临近退休 新客 高净值 养老金'],
  ['资产层级', 'fact', 'fact', '大众客户 潜力客户 财富客户 私行客户'],
  ['生命周期', 'rule', 'rule', '活跃 沉睡 流失预警 新开户 复购 高频交易 低频交易 唤醒中 待激活 稳定'],
  ['产品偏好', 'model', 'model', '偏好存款 偏好理财 偏好基金 偏好保险 偏好信用卡 偏好贷款 偏好养老 偏好外汇 偏好黄金 偏好大额存单'],
  ['兴趣爱好', 'manual', 'member', '亲子 旅游 健康 运动 美食 教育 汽车 房产 投资讲座 公益'],
];

const log = (message: string) => process.stderr.write(`${message}\n`);
const ms = (v: number) => Math.round(v * 10) / 10;

/** Inserts one batch: customers (fields encrypted as the application stores them), then their WeCom contacts. */
async function insertBatch(db: Db, cipher: FieldCipher, batch: SyntheticCustomer[]): Promise<void> {
  const rows = batch.map((c) => customerRow(cipher, c));
  const col = <K extends keyof (typeof rows)[number]>(k: K) => rows.map((r) => r[k]);
  await sql`INSERT INTO customers (cif_no, name, gender, mobile_enc, mobile_hash, id_number_enc, id_number_hash, birth_date, branch_id, aum,
      risk_level, risk_assessed_at, products, segments, last_txn_at, marketing_consent)
    SELECT u.cif, u.name, u.gender, u.me, u.mh, u.ie, u.ih, u.bd::date, u.br, u.aum::numeric, u.rl, u.ra::date,
      string_to_array(u.p, ','), string_to_array(u.s, ','), u.lt::timestamptz, u.mc
    FROM unnest(${col('cif_no')}::text[], ${col('name')}::text[], ${col('gender')}::text[], ${col('mobile_enc')}::text[], ${col('mobile_hash')}::text[],
      ${col('id_number_enc')}::text[], ${col('id_number_hash')}::text[], ${col('birth_date')}::text[], ${col('branch_id')}::text[], ${col('aum').map(String)}::text[],
      ${col('risk_level')}::text[], ${col('risk_assessed_at')}::text[], ${batch.map((c) => c.products.join(','))}::text[],
      ${batch.map((c) => c.segments.join(','))}::text[], ${col('last_txn_at')}::text[], ${col('marketing_consent')}::boolean[])
      AS u(cif, name, gender, me, mh, ie, ih, bd, br, aum, rl, ra, p, s, lt, mc)`.execute(db);
  const linked = batch.filter((c) => c.wecom);
  const w = (f: (c: SyntheticCustomer) => unknown) => linked.map(f);
  await sql`WITH u AS (SELECT * FROM unnest(${w((c) => c.cifNo)}::text[], ${w((c) => c.wecom!.externalUserid)}::text[], ${w((c) => c.wecom!.followerUserid)}::text[],
        ${w((c) => c.wecom!.addedAt)}::timestamptz[], ${w((c) => c.wecom!.state)}::text[], ${w((c) => c.wecom!.unionid)}::text[], ${w((c) => c.name)}::text[])
        AS u(cif, ext, follower, added, state, unionid, name)),
      ec AS (INSERT INTO external_contacts (corp_id, external_userid, name, gender, unionid, customer_id)
        SELECT ${DEMO_CORP_ID}, u.ext, u.name, 1, u.unionid, c.id FROM u JOIN customers c ON c.cif_no = u.cif)
    INSERT INTO follow_relations (corp_id, userid, external_userid, add_way, state, added_at)
    SELECT ${DEMO_CORP_ID}, u.follower, u.ext, 1, u.state, u.added FROM u`.execute(db);
}

/** Bulk load as a restore would: secondary indexes dropped first and rebuilt from their own definitions after. */
async function withoutSecondaryIndexes(db: Db, tables: string[], load: () => Promise<void>): Promise<void> {
  const { rows } = await sql<{ name: string; def: string }>`SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
    FROM pg_index i WHERE i.indrelid = ANY(${tables}::text[]::regclass[]) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)`.execute(db);
  for (const r of rows) await sql`DROP INDEX ${sql.id(r.name)}`.execute(db);
  await load();
  log(`rebuilding ${rows.length} indexes`);
  for (const r of rows) await sql.raw(r.def).execute(db);
}

async function loadData(db: Db): Promise<void> {
  const started = performance.now();
  await db.insertInto('branches').values(BRANCHES.map((b) => ({ id: b.id, name: b.name, city: b.city }))).execute();
  const cipher = new FieldCipher([{ id: 'b1', key: randomBytes(32) }], randomBytes(32));
  await withoutSecondaryIndexes(db, ['customers', 'external_contacts', 'follow_relations', 'customer_tags', 'customer_scores', 'timeline_events'], async () => {
    let batch: SyntheticCustomer[] = [], pending: Promise<void> = Promise.resolve(), done = 0;
    for (const c of generateCustomers(N)) {
      batch.push(c);
      if (batch.length === 10_000) {
        await pending; // build the next batch while the previous one is written
        pending = insertBatch(db, cipher, batch);
        batch = [];
        if ((done += 10_000) % 100_000 === 0) log(`  customers: ${done.toLocaleString('en-US')}`);
      }
    }
    await pending;
    if (batch.length) await insertBatch(db, cipher, batch);
    log(`customers loaded in ${ms((performance.now() - started) / 1000)} s; tags, scores and messages next`);
    await loadTagsScoresMessages(db);
  });
  await sql`CREATE TABLE bench_meta (customers integer NOT NULL, version text NOT NULL)`.execute(db);
  await sql`INSERT INTO bench_meta VALUES (${N}, ${DATA_VERSION})`.execute(db);
  log(`data loaded in ${ms((performance.now() - started) / 1000)} s`);
}

async function loadTagsScoresMessages(db: Db): Promise<void> {
  for (const [group, layer, , names] of TAG_GROUPS) {
    const { id } = await db.insertInto('tag_groups').values({ name: group, layer, exclusive: group === '资产层级', description: null }).returning('id').executeTakeFirstOrThrow();
    await db.insertInto('tags').values(names.split(' ').map((name) => ({ group_id: id, name, rule: null, description: null, wecom_corp_id: null, wecom_tag_id: null, created_by: null, deleted_at: null }))).execute();
  }
  const tagsOf = (group: string) => sql`(SELECT t.id, t.name FROM tags t JOIN tag_groups g ON g.id = t.group_id WHERE g.name = ${group})`;
  // Fact tags mirror customers.segments and the AUM tier; each of the other 30 tags sits on a deterministic fifth of the
  // customers (about 6 more each). One INSERT in primary-key order, so the key index is appended to, not shuffled.
  await sql`INSERT INTO customer_tags (customer_id, tag_id, source) SELECT * FROM (
      SELECT c.id, t.id, 'fact' FROM customers c JOIN ${tagsOf('客群')} t ON t.name = ANY(c.segments)
      UNION ALL
      SELECT c.id, t.id, 'fact' FROM customers c JOIN ${tagsOf('资产层级')} t
        ON t.name = CASE WHEN c.aum < 50000 THEN '大众客户' WHEN c.aum < 500000 THEN '潜力客户' WHEN c.aum < 6000000 THEN '财富客户' ELSE '私行客户' END
      ${sql.join(TAG_GROUPS.slice(2).map(([group, , source]) => sql`UNION ALL SELECT c.id, t.id, ${source} FROM customers c CROSS JOIN ${tagsOf(group)} t
        WHERE (hashtext(c.cif_no || t.name) & 2147483647) % 5 = 0`), sql` `)}
    ) x(customer_id, tag_id, source) ORDER BY customer_id, tag_id`.execute(db);
  // The tag triggers have just rewritten every customer row (tag_nos) and the score triggers rewrite it again
  // (churn_band): vacuuming in between lets the second rewrite reuse the space, as it would in a living table,
  // instead of growing the heap by another half gigabyte.
  await sql`VACUUM customers`.execute(db);
  await sql`INSERT INTO customer_scores (customer_id, recency_score, frequency_score, monetary_score, rfm_class, churn_probability, churn_band)
    SELECT id, 1 + h % 5, 1 + (h / 5) % 5, 1 + (h / 25) % 5, (ARRAY['重要价值','重要发展','重要保持','重要挽留','一般价值','一般发展','一般保持','流失预警'])[1 + (h / 125) % 8],
      p, CASE WHEN p < 0.3 THEN 'low' WHEN p < 0.6 THEN 'medium' ELSE 'high' END
    FROM (SELECT id, hashtext(cif_no || 's') & 2147483647 AS h, power(((hashtext(cif_no || 'c') & 2147483647) % 1000) / 1000.0, 2)::real AS p FROM customers) x
    ORDER BY id`.execute(db);
  // Two thirds of WeCom contacts wrote or were written to at some point in the last 400 days.
  await sql`INSERT INTO timeline_events (customer_id, corp_id, external_userid, at, kind, summary, cause_type)
    SELECT customer_id, corp_id, external_userid, ${NOW}::timestamptz - make_interval(days => h % 400, hours => h % 24),
      CASE WHEN h % 2 = 0 THEN 'message_in' ELSE 'message_out' END, '消息', 'customer'
    FROM (SELECT *, hashtext(external_userid) & 2147483647 AS h FROM external_contacts) e WHERE h % 3 <> 0`.execute(db);
}

/** The naive scan: every customer's needed data into JavaScript, page by page, and the oracle applied to each. */
async function naiveCount(db: Db, filter: FilterNode, tags: OracleTag[]): Promise<number> {
  const fields = new Set(JSON.stringify(filter).match(/"field":"[a-z_]+"/g)!.map((f) => f.slice(9, -1)));
  const needs = (...names: string[]) => names.some((n) => fields.has(n));
  let after = '00000000-0000-0000-0000-000000000000', count = 0;
  for (;;) {
    const { rows } = await sql<Record<string, any>>`SELECT c.id, c.aum, c.birth_date, c.branch_id, c.risk_level, c.risk_assessed_at, c.segments, c.marketing_consent,
        ${needs('tags') ? sql`(SELECT array_agg(ct.tag_id) FROM customer_tags ct WHERE ct.customer_id = c.id)` : sql`NULL`} AS tag_ids,
        ${needs('churn_band') ? sql`(SELECT s.churn_band FROM customer_scores s WHERE s.customer_id = c.id)` : sql`NULL`} AS churn_band,
        ${needs('last_contact_at') ? sql`(SELECT json_agg(fr.added_at) FROM external_contacts ec JOIN follow_relations fr
          ON fr.corp_id = ec.corp_id AND fr.external_userid = ec.external_userid WHERE ec.customer_id = c.id)` : sql`NULL`} AS added,
        ${needs('last_contact_at') ? sql`(SELECT json_agg(json_build_object('at', te.at, 'kind', te.kind)) FROM timeline_events te WHERE te.customer_id = c.id)` : sql`NULL`} AS messages
      FROM customers c WHERE c.id > ${after}::uuid ORDER BY c.id LIMIT 100000`.execute(db);
    if (!rows.length) return count;
    for (const r of rows) {
      const c: OracleCustomer = {
        cifNo: '', name: '', gender: null, birthDate: r.birth_date, branchId: r.branch_id, aum: Number(r.aum), riskLevel: r.risk_level,
        riskAssessedAt: r.risk_assessed_at, products: [], segments: r.segments, lastTxnAt: null, marketingConsent: r.marketing_consent,
        createdAt: '', maturities: [], tagIds: r.tag_ids ?? [], messages: r.messages ?? [],
        score: r.churn_band ? { recency: null, frequency: null, monetary: null, rfmClass: null, churnProbability: null, churnBand: r.churn_band } : null,
        relations: ((r.added ?? []) as string[]).map((addedAt) => ({ userid: '', addedAt, state: null, contactWayId: null, deleted: false })),
      };
      if (evaluate(filter, c, { customers: [], tags }, ENV)) count++;
    }
    after = rows[rows.length - 1]!.id;
  }
}

async function p50(runs: number, fn: () => Promise<number>): Promise<{ p50: number; result: number }> {
  const times: number[] = [];
  let result = -1;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = await fn();
    times.push(performance.now() - t0);
    if (result !== -1 && r !== result) throw new Error(`count changed between runs: ${result} then ${r}`);
    result = r;
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  return { p50: times.length % 2 ? times[mid]! : (times[mid - 1]! + times[mid]!) / 2, result };
}

async function main(): Promise<void> {
  if (!Number.isSafeInteger(N) || N < 1) throw new Error('BENCH_CUSTOMERS must be a positive integer');
  if (!/^[a-z_][a-z0-9_]*$/.test(DB_NAME)) throw new Error('BENCH_DB must be a plain lower-case name');
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', destination: process.stderr });
  mkdirSync(DIR, { recursive: true });
  const { adminUrl, embedded } = await benchServer(DIR, logger);
  const url = new URL(adminUrl);
  url.pathname = `/${DB_NAME}`;
  let database = openDatabase({ url: url.toString(), poolMax: 4, logger, applicationName: 'bench-segments' });
  try {
    const existing = await sql<{ customers: number; version: string }>`SELECT customers, version FROM bench_meta`.execute(database.db).then((r) => r.rows[0], () => undefined);
    if (process.env.BENCH_FRESH === '1' || existing?.customers !== N || existing.version !== DATA_VERSION) {
      await database.close();
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
      await adminQuery(adminUrl, `CREATE DATABASE ${DB_NAME}`);
      database = openDatabase({ url: url.toString(), poolMax: 4, logger, applicationName: 'bench-segments' });
      await migrateToLatest(database.db as unknown as Kysely<unknown>, logger);
      log(`loading ${N.toLocaleString('en-US')} customers into ${DB_NAME}`);
      await loadData(database.db);
    } else {
      log(`reusing ${N.toLocaleString('en-US')} customers in ${DB_NAME} (BENCH_FRESH=1 rebuilds)`);
      const started = performance.now();
      const applied = await migrateToLatest(database.db as unknown as Kysely<unknown>, logger);
      if (applied.results?.length) log(`migrated (${applied.results.map((r) => r.migrationName).join(', ')}) in ${ms((performance.now() - started) / 1000)} s`);
    }
    // Settings apply to new sessions: reconnect after setting it.
    await sql.raw(`ALTER DATABASE ${DB_NAME} SET work_mem = '${WORK_MEM.replace(/'/g, '')}'`).execute(database.db);
    await database.close();
    database = openDatabase({ url: url.toString(), poolMax: 4, logger, applicationName: 'bench-segments' });
    const db = database.db;
    // What the nightly tag job does after the fact tags: one partial covering index per fact tag (src/tags/indexes.ts).
    const started = performance.now();
    const indexes = await syncTagIndexes(db, logger);
    if (indexes.created.length || indexes.dropped.length) log(`tag indexes: built ${indexes.created.length}, dropped ${indexes.dropped.length} in ${ms((performance.now() - started) / 1000)} s`);
    await sql`VACUUM ANALYZE`.execute(db);
    const tags = (await sql<{ id: string; name: string; grp: string }>`SELECT t.id, t.name, g.name AS grp FROM tags t JOIN tag_groups g ON g.id = t.group_id`.execute(db))
      .rows.map((t) => ({ id: t.id, name: t.name, group: t.grp, deleted: false }));
    const results: { name: string; count: number; p50_ms: number; naive_p50_ms: number }[] = [];
    for (const rule of RULES) {
      const definition = { method: 'rule', filter: rule.filter };
      const count = () => countSegment(db, { definition }, ADMIN, { now: NOW });
      if (process.env.BENCH_EXPLAIN === '1') {
        const where = planPredicate(await planSegment(db, definition), { now: NOW });
        const plan = await db.selectFrom('customers').select(sql`count(*)`.as('n')).where(where).explain('text', sql`analyze, buffers`);
        log(plan.map((r) => r['QUERY PLAN']).join('\n'));
      }
      await p50(2, count);
      const fast = await p50(RUNS, count);
      const naive = await p50(NAIVE_RUNS, () => naiveCount(db, rule.filter, tags));
      if (naive.result !== fast.result) throw new Error(`${rule.name}: countSegment says ${fast.result}, the naive scan ${naive.result}`);
      results.push({ name: rule.name, count: fast.result, p50_ms: ms(fast.p50), naive_p50_ms: ms(naive.p50) });
      log(`${rule.name}: ${fast.result.toLocaleString('en-US')} customers, p50 ${ms(fast.p50)} ms, naive p50 ${ms(naive.p50)} ms (${ms(naive.p50 / fast.p50)}×)`);
    }
    process.stdout.write(JSON.stringify({
      bench: 'segments', customers: N, rules: results,
      worst_p50_ms: Math.max(...results.map((r) => r.p50_ms)),
      worst_ratio: ms(Math.min(...results.map((r) => r.naive_p50_ms / r.p50_ms))),
      schema: Object.keys(migrations).at(-1), work_mem: WORK_MEM,
      load_average: loadavg().map((v) => Math.round(v * 100) / 100), cpus: cpus().length,
    }) + '\n');
  } finally {
    await database.close();
    await embedded?.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
