import { expect } from 'chai';
import { sql } from 'kysely';
import { testDatabase } from '../../test/harness.js';
import { customerScope } from '../auth/policy.js';
import type { DatabaseHandle } from '../platform/db/database.js';
import type { Actor } from '../platform/http/context.js';
import { AppError } from '../platform/errors.js';
import { DEMO_CORP_ID } from '../demo/seed.js';
import { NOW, buildWorld } from './fixture.js';
import { compileFilter, resolveTagNumbers, tagReferences, type FilterNode } from './index.js';
import { dayOf, expectedCifs, type World } from './oracle.js';

/** Each field and operator, on a few hundred customers, against the JavaScript oracle over the same data. */
describe('filters compiled to SQL', () => {
  let handle: DatabaseHandle;
  let world: World;
  before(async function () {
    this.timeout(120_000);
    handle = await testDatabase();
    world = await buildWorld(handle.db);
  });
  after(() => handle?.close());

  async function select(tree: FilterNode, now = NOW, timezone = 'Asia/Shanghai'): Promise<string[]> {
    const rows = await handle.db.selectFrom('customers as c').select('c.cif_no').where(compileFilter(tree, { now, timezone })).execute();
    // Tag references resolved beforehand (literal tag numbers) must select the same customers as the in-query lookup.
    const tagNumbers = await resolveTagNumbers(handle.db, tagReferences([tree]));
    const resolved = await handle.db.selectFrom('customers as c').select('c.cif_no').where(compileFilter(tree, { now, timezone, tagNumbers })).execute();
    const cifs = rows.map((r) => r.cif_no).sort();
    expect(resolved.map((r) => r.cif_no).sort(), `${JSON.stringify(tree)} with resolved tags`).to.deep.equal(cifs);
    return cifs;
  }

  /** Asserts SQL and oracle agree and returns the oracle's answer. */
  async function agree(tree: FilterNode, now = NOW, timeZone = 'Asia/Shanghai'): Promise<string[]> {
    const expected = expectedCifs(tree, world, { today: dayOf(now.toISOString(), timeZone), timeZone });
    expect(await select(tree, now, timeZone), `${JSON.stringify(tree)} at ${now.toISOString()} ${timeZone}`).to.deep.equal(expected);
    return expected;
  }

  const leaf = (field: string, op: string, value?: unknown): FilterNode => (value === undefined ? { field, op } : { field, op, value });
  const firstProduct = () => world.customers.find((c) => c.products.length > 1)!.products;
  const tagId = (name: string) => world.tags.find((t) => t.name === name)!.id;
  const wayId = () => world.customers.flatMap((c) => c.relations).find((r) => r.contactWayId)!.contactWayId!;

  // Every case here must split the customers (neither none nor all), so a broken operator cannot pass by luck.
  const cases: Record<string, () => FilterNode[]> = {
    aum: () => ['eq', 'ne', 'gt', 'gte', 'lt', 'lte'].map((op) => leaf('aum', op, 500_000)).concat(leaf('aum', 'between', [50_000, 500_000])),
    age: () => [leaf('age', 'gte', 60), leaf('age', 'lt', 30), leaf('age', 'eq', 22), leaf('age', 'between', [35, 44]), leaf('age', 'is_null'), leaf('age', 'not_null')],
    'customer scores': () => [
      leaf('churn_probability', 'eq', 0.3), leaf('churn_probability', 'ne', 0.3), leaf('churn_probability', 'gte', 0.55),
      leaf('churn_probability', 'between', [0.3, 0.55]), leaf('churn_probability', 'is_null'), leaf('churn_probability', 'not_null'),
      leaf('recency_score', 'eq', 3), leaf('recency_score', 'gt', 3.5), leaf('frequency_score', 'is_null'), leaf('frequency_score', 'lte', 2),
      leaf('monetary_score', 'between', [2, 4]), leaf('monetary_score', 'ne', 5),
    ],
    'enums': () => [
      leaf('risk_level', 'eq', 'R3'), leaf('risk_level', 'ne', 'R3'), leaf('risk_level', 'in', ['R1', 'R2']), leaf('risk_level', 'not_in', ['R4', 'R5']),
      leaf('gender', 'eq', 'F'), leaf('gender', 'ne', 'M'), leaf('gender', 'not_in', ['F']),
      leaf('branch_id', 'eq', 'br-hq'), leaf('branch_id', 'ne', 'br-hq'), leaf('branch_id', 'in', ['br-nb-haishu', 'br-sh-pudong']),
      leaf('rfm_class', 'eq', '重要价值'), leaf('rfm_class', 'not_in', ['重要价值', '流失预警']),
      leaf('churn_band', 'eq', 'high'), leaf('churn_band', 'in', ['low', 'medium']), leaf('churn_band', 'ne', 'low'), leaf('churn_band', 'not_in', ['high', 'low']),
    ],
    booleans: () => ['marketing_consent', 'is_wecom_contact', 'risk_assessment_valid'].flatMap((f) => [leaf(f, 'is_true'), leaf(f, 'is_false')]),
    'text, with LIKE wildcards taken literally': () => [
      leaf('name', 'eq', '李_四'), leaf('name', 'contains', '%'), leaf('name', 'contains', '_'), leaf('name', 'contains', '\\'),
      leaf('name', 'starts_with', '张%'), leaf('name', 'starts_with', '王'), leaf('name', 'contains', "' OR 1=1 --"),
      leaf('name', 'eq', world.customers[0]!.name), leaf('cif_no', 'starts_with', 'HB'), leaf('cif_no', 'contains', '00'), leaf('cif_no', 'eq', 'HB05'),
    ],
    'segments and products': () => [
      leaf('segments', 'has', '代发'), leaf('segments', 'has_any', ['社保', '新客']), leaf('segments', 'has_all', ['代发', '社保']),
      leaf('segments', 'has_none', ['代发', '养老金']), leaf('products', 'has', firstProduct()[0]), leaf('products', 'has_any', firstProduct()),
      leaf('products', 'has_all', firstProduct()), leaf('products', 'has_none', firstProduct()),
    ],
    'product maturities': () => [0, 7, 30, 31, 60].map((n) => leaf('products', 'matures_within_days', n)),
    'tags in every layer, by name, group:name and id': () => [
      leaf('tags', 'has', '代发'), leaf('tags', 'has', '客群:代发'), leaf('tags', 'has', '规则标签:代发'), leaf('tags', 'has', 'a:b'),
      leaf('tags', 'has', tagId('高潜')), leaf('tags', 'has', tagId('VIP').toUpperCase()), leaf('tags', 'has_any', ['VIP', '模型:高潜']),
      leaf('tags', 'has_all', ['代发', '高潜']), leaf('tags', 'has_none', ['代发', 'VIP']),
    ],
    'absolute and relative dates': () => [
      leaf('last_txn_at', 'within_last_days', 30), leaf('last_txn_at', 'not_within_last_days', 30), leaf('last_txn_at', 'before', '2026-06-01'),
      leaf('last_txn_at', 'after', '2026-10-24'), leaf('last_txn_at', 'between', ['2026-09-01', '2026-09-30']),
      leaf('created_at', 'within_last_days', 7), leaf('created_at', 'not_within_last_days', 7), leaf('created_at', 'between', ['2026-11-15', '2026-11-16']),
      leaf('risk_assessed_at', 'within_last_days', 365), leaf('risk_assessed_at', 'not_within_last_days', 365), leaf('risk_assessed_at', 'after', '2026-01-01'),
      leaf('birth_date', 'before', '1970-01-01'), leaf('birth_date', 'between', ['1990-01-01', '1999-12-31']),
    ],
    'birthdays': () => [0, 1, 7, 30, 90, 364].map((n) => leaf('birth_date', 'birthday_within_next_days', n)),
    'last contact': () => [
      leaf('last_contact_at', 'within_last_days', 90), leaf('last_contact_at', 'not_within_last_days', 90),
      leaf('last_contact_at', 'within_last_days', 7), leaf('last_contact_at', 'before', '2026-01-01'),
    ],
    'follow relations': () => [
      leaf('follow_member', 'eq', 'WangFang'), leaf('follow_member', 'in', ['LiNa', 'ZhaoMin']), leaf('follow_channel', 'eq', 'cw-spring'),
      leaf('follow_channel', 'eq', wayId()), leaf('follow_channel', 'in', ['qr-br-hq', 'card-LiNa']),
      leaf('follow_added', 'within_last_days', 60), leaf('follow_added', 'before', '2025-01-01'), leaf('follow_added', 'after', '2026-06-01'),
      leaf('follow_added', 'between', ['2025-01-01', '2025-12-31']),
    ],
    'nested all, any and not': () => [
      { all: [leaf('aum', 'gte', 50_000), { any: [leaf('tags', 'has', '代发'), { not: leaf('risk_level', 'in', ['R1', 'R2']) }] }] },
      { not: { any: [leaf('segments', 'has', '代发'), leaf('last_contact_at', 'within_last_days', 90)] } },
      { any: [{ all: [leaf('gender', 'eq', 'F'), leaf('age', 'gte', 50)] }, { not: { not: leaf('is_wecom_contact', 'is_true') } }] },
    ],
  };

  for (const [name, build] of Object.entries(cases)) {
    it(`selects exactly what the JavaScript oracle selects for ${name}`, async () => {
      const total = world.customers.length;
      for (const tree of build()) {
        const n = (await agree(tree)).length;
        expect(n, `${JSON.stringify(tree)} should split the customers`).to.be.within(1, total - 1);
      }
    });
  }

  it('treats a missing value as failing every comparison and passing its negation, so not is an exact complement', async () => {
    const total = world.customers.length;
    for (const tree of [leaf('risk_level', 'eq', 'R3'), leaf('churn_band', 'eq', 'high'), leaf('age', 'gte', 40), leaf('last_txn_at', 'before', '2026-09-01'),
      leaf('last_contact_at', 'within_last_days', 90), leaf('frequency_score', 'lt', 3)]) {
      const [yes, no] = [await agree(tree), await agree({ not: tree })];
      expect(yes.length + no.length).to.equal(total);
      expect(yes.filter((c) => no.includes(c))).to.deep.equal([]);
    }
    expect(await agree(leaf('risk_level', 'ne', 'R1'))).to.include.members(['HB01', 'HB04']); // no risk level at all
    expect(await agree(leaf('churn_band', 'ne', 'high'))).to.include.members(['HB01', 'HB05']); // no score row; a score without a band
    expect(await agree(leaf('last_txn_at', 'not_within_last_days', 90))).to.include('HB03'); // never transacted
    expect(await agree(leaf('aum', 'is_null'))).to.deep.equal([]);
    expect(await agree(leaf('tags', 'has', '已删'))).to.deep.equal([]); // a deleted tag matches nobody
  });

  it('counts whole calendar days in Asia/Shanghai, including the first and excluding the day before', async () => {
    const hand = (cifs: string[]) => cifs.filter((c) => c.startsWith('HB'));
    expect(hand(await agree(leaf('last_txn_at', 'within_last_days', 30)))).to.deep.equal(['HB01']);
    expect(hand(await agree(leaf('created_at', 'within_last_days', 7)))).to.deep.equal(['HB01']);
    expect(hand(await agree(leaf('risk_assessment_valid', 'is_true')))).to.deep.equal(['HB02']);
    expect(hand(await agree(leaf('last_contact_at', 'not_within_last_days', 90)))).to.include('HB05').and.not.include('HB01');
    expect(hand(await agree(leaf('products', 'matures_within_days', 30)))).to.deep.equal(['HB03', 'HB05']);
    expect(hand(await agree(leaf('products', 'matures_within_days', 31)))).to.deep.equal(['HB03', 'HB05', 'HB07']);
    expect(hand(await agree(leaf('last_txn_at', 'within_last_days', 30), NOW, 'UTC'))).to.deep.equal(['HB01', 'HB02']);
  });

  it('finds birthdays across the new year and keeps 29 February on 28 February in common years', async () => {
    const at = (local: string) => new Date(`${local}+08:00`);
    const hand = async (n: number, local: string) => (await agree(leaf('birth_date', 'birthday_within_next_days', n), at(local))).filter((c) => c.startsWith('HB'));
    expect(await hand(4, '2026-12-28T09:00:00')).to.deep.equal(['HB02', 'HB03']);
    expect(await hand(0, '2027-02-28T12:00:00')).to.deep.equal(['HB01', 'HB05']);
    expect(await hand(1, '2027-02-27T23:59:00')).to.deep.equal(['HB01', 'HB05']);
    expect(await hand(1, '2027-02-28T00:00:00')).to.deep.equal(['HB01', 'HB05', 'HB06']);
    expect(await hand(0, '2028-02-28T08:00:00')).to.deep.equal(['HB05']);
    expect(await hand(1, '2028-02-28T08:00:00')).to.deep.equal(['HB01', 'HB05']);
    for (const local of ['2026-12-20T10:00:00', '2027-01-01T00:00:00', '2027-02-25T23:30:00', '2028-02-27T08:00:00', '2028-12-31T22:00:00']) {
      for (const n of [0, 3, 14, 60, 200, 364, 365, 3650]) await agree(leaf('birth_date', 'birthday_within_next_days', n), at(local));
      await agree(leaf('age', 'gte', 40), at(local));
      await agree(leaf('last_contact_at', 'within_last_days', 45), at(local));
    }
  });

  it('combines with customerScope when compiled for the unaliased customers table', async () => {
    const actor: Actor = { id: 'x', username: 'am.wangfang', displayName: '王芳', role: 'account_manager', branchId: 'br-hq', corpId: DEMO_CORP_ID, wecomUserid: 'WangFang', sessionId: 's' };
    const tree = leaf('aum', 'gte', 50_000);
    const rows = await handle.db.selectFrom('customers').select('customers.cif_no').where(customerScope(actor)).where(compileFilter(tree, { now: NOW, alias: 'customers' })).execute();
    const expected = expectedCifs({ all: [tree, leaf('follow_member', 'eq', 'WangFang')] }, world, { today: '2026-11-23', timeZone: 'Asia/Shanghai' });
    expect(expected).to.not.be.empty;
    expect(rows.map((r) => r.cif_no).sort()).to.deep.equal(expected);
  });

  it('binds every value as a parameter and rejects injected field names and operators', async () => {
    const count = async () => (await sql<{ n: number }>`SELECT count(*)::int AS n FROM customers`.execute(handle.db)).rows[0]!.n;
    const before = await count();
    const hostile = "x'); DROP TABLE customers; --";
    const compiled = handle.db.selectFrom('customers as c').select('c.id').where(compileFilter({ all: [leaf('tags', 'has', hostile), leaf('name', 'contains', hostile)] })).compile();
    expect(compiled.sql).to.not.include('DROP');
    expect(compiled.parameters).to.deep.include([hostile]);
    for (const tree of [leaf('name', 'eq', "' OR 1=1 --"), leaf('branch_id', 'eq', "br-hq' OR '1'='1"), leaf('tags', 'has', hostile), leaf('segments', 'has_any', ['代发', hostile])]) {
      const rows = await select(tree);
      expect(rows, JSON.stringify(tree)).to.deep.equal(expectedCifs(tree, world, { today: '2026-11-23', timeZone: 'Asia/Shanghai' }));
    }
    expect(await select(leaf('name', 'eq', "' OR 1=1 --"))).to.deep.equal([]);
    for (const tree of [leaf('aum; DROP TABLE customers', 'gte', 1), leaf('name"; --', 'eq', 'x'), leaf('aum', 'gte; DROP TABLE customers', 1)]) {
      expect(() => compileFilter(tree)).to.throw(AppError).with.property('kind', 'invalid');
    }
    expect(await count()).to.equal(before);
    expect((await sql<{ t: string | null }>`SELECT to_regclass('customers')::text AS t`.execute(handle.db)).rows[0]!.t).to.equal('customers');
  });
});
