import { expect } from 'chai';
import { sql } from 'kysely';
import { testCipher, testDatabase } from '../../test/harness.js';
import { BRANCHES } from '../demo/branches.js';
import { insertSyntheticCustomers } from '../demo/seed.js';
import { generateCustomers } from '../demo/synthetic.js';
import { compileFilter, type FilterNode } from '../filters/index.js';
import type { DatabaseHandle, Db } from '../platform/db/database.js';
import { createGroup, insertTag } from './catalog.js';
import { recomputeFactTags } from './facts.js';
import { recomputeAllRuleTags, recomputeRuleTag } from './rules.js';

const now = new Date('2026-11-23T10:00:00+08:00');

describe('rule tags', function () {
  this.timeout(120_000);
  let database: DatabaseHandle, db: Db;
  const holders = async (tagId: string) =>
    (await db.selectFrom('customer_tags').select('customer_id').where('tag_id', '=', tagId).orderBy('customer_id').execute()).map((r) => r.customer_id);
  const selected = async (rule: FilterNode) =>
    (await db.selectFrom('customers as c').select('c.id').where(compileFilter(rule, { now })).orderBy('c.id').execute()).map((r) => r.id);
  const newTag = async (groupId: string, name: string, rule: FilterNode) => insertTag(db, { groupId, name, rule, createdBy: '00000000-0000-4000-8000-000000000000' });

  before(async () => {
    database = await testDatabase();
    db = database.db;
    await db.insertInto('branches').values(BRANCHES.map((b) => ({ ...b }))).execute();
    await insertSyntheticCustomers(db, testCipher(), generateCustomers(600));
  });
  after(() => database.close());

  it('assigns a rule tag to exactly the customers its filter selects, with the rule in Chinese as cause', async () => {
    const group = await createGroup(db, { name: '营销规则', layer: 'rule', exclusive: false });
    const rule: FilterNode = { all: [{ field: 'aum', op: 'gte', value: 500_000 }, { field: 'segments', op: 'has', value: '代发' }] };
    const tag = await newTag(group.id, '高净值代发', rule);
    const result = await recomputeRuleTag(db, tag.id, { now });
    const expected = await selected(rule);
    expect(expected.length).to.be.greaterThan(3);
    expect(result).to.deep.equal({ tagIds: [tag.id], added: expected.length, removed: 0 });
    expect(await holders(tag.id)).to.deep.equal(expected);
    const row = await db.selectFrom('customer_tags').select(['source', 'cause']).where('tag_id', '=', tag.id).executeTakeFirstOrThrow();
    expect(row).to.deep.equal({ source: 'rule', cause: '规则：AUM ≥ 50万 且 客群含 代发' });
  });

  it('follows data changes: customers who stop matching lose the tag and new matches gain it', async () => {
    const tag = await db.selectFrom('tags').select('id').where('name', '=', '高净值代发').executeTakeFirstOrThrow();
    const [leaver] = await holders(tag.id);
    const joiner = await db.selectFrom('customers').select('id').where('aum', '<', '500000').where('segments', '@>', sql<string[]>`ARRAY['代发']`).executeTakeFirstOrThrow();
    await db.updateTable('customers').set({ aum: 1_000 }).where('id', '=', leaver!).execute();
    await db.updateTable('customers').set({ aum: 2_000_000 }).where('id', '=', joiner.id).execute();
    const result = await recomputeRuleTag(db, tag.id, { now });
    expect(result).to.deep.include({ added: 1, removed: 1 });
    const now2 = await holders(tag.id);
    expect(now2).to.include(joiner.id);
    expect(now2).to.not.include(leaver);
    expect(await recomputeRuleTag(db, tag.id, { now })).to.deep.include({ added: 0, removed: 0 });
  });

  it('recomputes with the new rule after a change, restating the cause of the customers it keeps', async () => {
    const tag = await db.selectFrom('tags').select('id').where('name', '=', '高净值代发').executeTakeFirstOrThrow();
    const rule: FilterNode = { field: 'aum', op: 'gte', value: 1_000_000 };
    await db.updateTable('tags').set({ rule: JSON.stringify(rule) }).where('id', '=', tag.id).execute();
    await recomputeRuleTag(db, tag.id, { now });
    expect(await holders(tag.id)).to.deep.equal(await selected(rule));
    const causes = await db.selectFrom('customer_tags').select('cause').distinct().where('tag_id', '=', tag.id).execute();
    expect(causes).to.deep.equal([{ cause: '规则：AUM ≥ 100万' }]);
  });

  it('builds on fact tags through the tags field', async () => {
    await recomputeFactTags(db, { now });
    const group = await createGroup(db, { name: '唤醒', layer: 'rule', exclusive: false });
    const rule: FilterNode = { all: [{ field: 'tags', op: 'has', value: '沉睡' }, { field: 'tags', op: 'has_any', value: ['财富', '私行'] }] };
    const tag = await newTag(group.id, '沉睡高净值', rule);
    await recomputeRuleTag(db, tag.id, { now });
    const expected = await selected(rule);
    expect(expected.length).to.be.greaterThan(0);
    expect(await holders(tag.id)).to.deep.equal(expected);
  });

  it('keeps an exclusive rule group exclusive: the earliest-created matching tag wins, and customers move atomically', async () => {
    const group = await createGroup(db, { name: '资产档位', layer: 'rule', exclusive: true });
    const high = await newTag(group.id, '百万以上', { field: 'aum', op: 'gte', value: 1_000_000 });
    const mid = await newTag(group.id, '十万以上', { field: 'aum', op: 'gte', value: 100_000 });
    const result = await recomputeRuleTag(db, mid.id, { now });
    expect(result.tagIds).to.deep.equal([high.id, mid.id]);
    const highIds = await selected({ field: 'aum', op: 'gte', value: 1_000_000 });
    const midIds = await selected({ all: [{ field: 'aum', op: 'gte', value: 100_000 }, { field: 'aum', op: 'lt', value: 1_000_000 }] });
    expect(await holders(high.id)).to.deep.equal(highIds);
    expect(await holders(mid.id)).to.deep.equal(midIds);

    const mover = highIds[0]!;
    await db.updateTable('customers').set({ aum: 200_000 }).where('id', '=', mover).execute();
    expect(await recomputeRuleTag(db, high.id, { now })).to.deep.include({ added: 1, removed: 1 });
    expect(await holders(mid.id)).to.include(mover);
    expect(await holders(high.id)).to.not.include(mover);
    const doubles = await sql<{ n: number }>`SELECT count(*)::int AS n FROM (SELECT customer_id FROM customer_tags WHERE tag_id IN (${high.id}, ${mid.id})
      GROUP BY customer_id HAVING count(*) > 1) x`.execute(db);
    expect(doubles.rows[0]!.n).to.equal(0);
  });

  it('recomputes every rule tag at night, each exclusive group once, and skips a deleted tag', async () => {
    const deleted = await db.selectFrom('tags').select('id').where('name', '=', '沉睡高净值').executeTakeFirstOrThrow();
    await db.updateTable('tags').set({ deleted_at: new Date() }).where('id', '=', deleted.id).execute();
    const small = await db.selectFrom('customers').select('id').where('aum', '<', '100000').executeTakeFirstOrThrow();
    await db.updateTable('customers').set({ aum: 3_000_000 }).where('id', '=', small.id).execute();
    const summary = await recomputeAllRuleTags(db, { now });
    // The small customer gains 百万以上 and 高净值代发; the customer moved down a tier above loses 高净值代发.
    expect(summary).to.deep.equal({ tags: 3, added: 2, removed: 1, errors: 0 });
    const names = await db.selectFrom('customer_tags as ct').innerJoin('tags as t', 't.id', 'ct.tag_id').select('t.name').where('ct.customer_id', '=', small.id).where('ct.source', '=', 'rule').orderBy('t.name').execute();
    expect(names.map((n) => n.name)).to.deep.equal(['百万以上', '高净值代发']);
  });
});
