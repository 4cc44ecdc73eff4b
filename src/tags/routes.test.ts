import { expect } from 'chai';
import { sql } from 'kysely';
import type { TestApp, TestClient } from '../../test/harness.js';
import { until } from '../../test/wecom.js';
import { compileFilter, type FilterNode } from '../filters/index.js';
import { ensureModelTags, replaceModelTags } from '../scoring/tags.js';
import { recomputeFactTags } from './facts.js';
import { runNightly, TAG_JOBS, type TagDeps } from './jobs.js';
import { bootWithTags } from './testing.js';

describe('the tags API', function () {
  this.timeout(120_000);
  let app: TestApp;
  let deps: TagDeps;
  let ops: TestClient, am: TestClient;
  let mine: string, notMine: string;
  const db = () => app.database.db;
  const holders = async (tagId: string) => (await db().selectFrom('customer_tags').select('customer_id').where('tag_id', '=', tagId).orderBy('customer_id').execute()).map((r) => r.customer_id);
  const selected = async (rule: FilterNode) => (await db().selectFrom('customers as c').select('c.id').where(compileFilter(rule)).orderBy('c.id').execute()).map((r) => r.id);
  const issuePaths = (body: { error: { issues?: { path: string }[] } }) => (body.error.issues ?? []).map((i) => i.path);
  const customerFollowing = async (userid: string, following: boolean) =>
    (await sql<{ id: string }>`SELECT c.id FROM customers c WHERE ${following ? sql`` : sql`NOT`} EXISTS (SELECT 1 FROM external_contacts ec
      JOIN follow_relations fr ON fr.corp_id = ec.corp_id AND fr.external_userid = ec.external_userid AND fr.deleted_at IS NULL
      WHERE ec.customer_id = c.id AND fr.userid = ${userid}) ORDER BY c.cif_no LIMIT 1`.execute(db())).rows[0]!.id;
  async function manualGroup(name: string, exclusive = false) {
    const r = await ops.post('/api/v1/tag-groups', { name, layer: 'manual', exclusive });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    return r.body.id as string;
  }
  async function tag(groupId: string, name: string, extra: Record<string, unknown> = {}) {
    const r = await ops.post('/api/v1/tags', { groupId, name, ...extra });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    return r.body.id as string;
  }

  before(async () => {
    ({ app, deps } = await bootWithTags());
    ops = await app.client().login('ops');
    am = await app.client().login('am.zhangwei');
    mine = await customerFollowing('ZhangWei', true);
    notMine = await customerFollowing('ZhangWei', false);
    await recomputeFactTags(db(), { now: new Date() });
  });
  after(() => app.close());

  it('lists groups with layer, exclusivity, tags and customer counts, counted within the caller’s scope', async () => {
    const all = await ops.get('/api/v1/tags');
    expect(all.status).to.equal(200);
    const aum = all.body.groups.find((g: { name: string }) => g.name === 'AUM分层');
    expect(aum).to.deep.include({ layer: 'fact', exclusive: true });
    expect(aum.tags.map((t: { name: string }) => t.name)).to.deep.equal(['大众', '潜力', '财富', '私行']);
    expect(aum.tags.reduce((n: number, t: { customers: number }) => n + t.customers, 0)).to.equal(300);
    const scoped = await am.get('/api/v1/tags');
    const amTotal = scoped.body.groups.find((g: { name: string }) => g.name === 'AUM分层').tags.reduce((n: number, t: { customers: number }) => n + t.customers, 0);
    const following = await sql<{ n: number }>`SELECT count(DISTINCT ec.customer_id)::int AS n FROM external_contacts ec JOIN follow_relations fr
      ON fr.corp_id = ec.corp_id AND fr.external_userid = ec.external_userid AND fr.deleted_at IS NULL WHERE fr.userid = 'ZhangWei'`.execute(db());
    expect(amTotal).to.equal(following.rows[0]!.n);
    expect(amTotal).to.be.within(1, 299);
  });

  it('lets only admin and ops create groups and tags, and audits what they do', async () => {
    expect((await am.post('/api/v1/tag-groups', { name: '越权', layer: 'manual' })).status).to.equal(403);
    const compliance = await app.client().login('compliance');
    expect((await compliance.post(`/api/v1/customers/${mine}/tags`, { add: [] })).status).to.equal(403);
    const groupId = await manualGroup('投资偏好');
    const id = await tag(groupId, '保守型');
    expect((await ops.post('/api/v1/tag-groups', { name: '投资偏好', layer: 'manual' })).status).to.equal(409);
    expect((await ops.post('/api/v1/tags', { groupId, name: '保守型' })).status).to.equal(409);
    const actions = await db().selectFrom('audit_log').select(['action', 'target_id']).where('action', 'like', 'tags.%').orderBy('id').execute();
    expect(actions).to.deep.include({ action: 'tags.create', target_id: id });
    expect(actions.map((a) => a.action)).to.include('tags.group.create');
  });

  it('rejects invalid input with the path of each bad field', async () => {
    const manual = await manualGroup('校验');
    const rules = (await ops.post('/api/v1/tag-groups', { name: '校验规则', layer: 'rule' })).body.id;
    const exclusive = await manualGroup('校验互斥', true);
    const cases: [unknown, string[]][] = [
      [{ groupId: 'nope', name: '' }, ['body.groupId', 'body.name']],
      [{ groupId: rules, name: '坏规则', rule: { all: [{ field: 'aum', op: 'gte', value: 'many' }] } }, ['body.rule.all.0.value']],
      [{ groupId: rules, name: '没有规则' }, ['body.rule']],
      [{ groupId: manual, name: '手工带规则', rule: { field: 'aum', op: 'gte', value: 1 } }, ['body.rule']],
      [{ groupId: exclusive, name: '互斥关联', wecom: { tagId: 'et1' } }, ['body.wecom']],
      [{ groupId: manual, name: '不存在', wecom: { tagId: 'etNoSuchTag' } }, ['body.wecom.tagId']],
    ];
    for (const [body, paths] of cases) {
      const r = await ops.post('/api/v1/tags', body);
      expect(r.status, JSON.stringify(body)).to.equal(400);
      expect(issuePaths(r.body), JSON.stringify(body)).to.deep.equal(paths);
    }
    const fact = (await db().selectFrom('tags').select('id').where('name', '=', '大众').executeTakeFirstOrThrow()).id;
    const assign = await am.post(`/api/v1/customers/${mine}/tags`, { add: ['not-a-uuid', fact] });
    expect(issuePaths(assign.body)).to.deep.equal(['body.add.0']);
    const computed = await am.post(`/api/v1/customers/${mine}/tags`, { add: [fact] });
    expect(computed.status).to.equal(400);
    expect(computed.body.error.issues).to.deep.equal([{ path: 'body.add.0', message: 'fact tags are computed, not assigned by hand' }]);
    expect(issuePaths((await am.post(`/api/v1/customers/${mine}/tags`, {})).body)).to.deep.equal(['body.add']);
  });

  it('lets an account manager tag only the customers who follow them', async () => {
    const groupId = await manualGroup('跟进状态');
    const id = await tag(groupId, '已邀约');
    const r = await am.post(`/api/v1/customers/${mine}/tags`, { add: [id] });
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect(r.body).to.deep.include({ added: [id], removed: [], wecom: [] });
    expect((await am.post(`/api/v1/customers/${notMine}/tags`, { add: [id] })).status).to.equal(404);
    expect((await am.get(`/api/v1/customers/${notMine}/tags`)).status).to.equal(404);
    expect(await holders(id)).to.deep.equal([mine]);
  });

  it('shows a customer’s tags of every layer with source, cause and time', async () => {
    const model = await ensureModelTags(db());
    await db().transaction().execute((trx) => replaceModelTags(trx, model, [mine], [{ customerId: mine, tagId: model.churn.get('high')! }], 'scoring:2026-11-23', new Date()));
    const r = await am.get(`/api/v1/customers/${mine}/tags`);
    expect(r.status).to.equal(200);
    const byLayer = (layer: string) => r.body.items.filter((i: { layer: string }) => i.layer === layer);
    expect(byLayer('fact').map((i: { group: string }) => i.group)).to.include('AUM分层');
    expect(byLayer('fact')[0]).to.include({ source: 'fact' });
    expect(byLayer('model')).to.have.length(1);
    expect(byLayer('model')[0]).to.include({ group: '流失风险', name: '高', source: 'model', cause: 'scoring:2026-11-23' });
    const manual = byLayer('manual').find((i: { name: string }) => i.name === '已邀约');
    const staff = await db().selectFrom('staff').select('id').where('username', '=', 'am.zhangwei').executeTakeFirstOrThrow();
    expect(manual).to.include({ source: 'member', cause: `member:${staff.id}` });
    expect(Date.parse(manual.assignedAt)).to.be.greaterThan(0);
  });

  it('replaces the other tag of an exclusive group in one change, and refuses two of the same group at once', async () => {
    const groupId = await manualGroup('意向强度', true);
    const [high, low] = [await tag(groupId, '强'), await tag(groupId, '弱')];
    await am.post(`/api/v1/customers/${mine}/tags`, { add: [high] });
    const r = await am.post(`/api/v1/customers/${mine}/tags`, { add: [low] });
    expect(r.body).to.deep.include({ added: [low], removed: [high] });
    const held = r.body.items.filter((i: { groupId: string }) => i.groupId === groupId).map((i: { name: string }) => i.name);
    expect(held).to.deep.equal(['弱']);
    const both = await am.post(`/api/v1/customers/${mine}/tags`, { add: [high, low] });
    expect(both.status).to.equal(400);
    expect(issuePaths(both.body)).to.deep.equal(['body.add.1']);
  });

  it('computes a rule tag in the background when it is created, and again when its rule changes', async () => {
    const groupId = (await ops.post('/api/v1/tag-groups', { name: '自动营销', layer: 'rule' })).body.id;
    const rule: FilterNode = { field: 'aum', op: 'gte', value: 500_000 };
    const id = await tag(groupId, '财富以上', { rule });
    const expected = await selected(rule);
    expect(expected.length).to.be.greaterThan(0);
    await until(async () => (await holders(id)).length === expected.length, 20_000, 'the rule tag to be computed');
    expect(await holders(id)).to.deep.equal(expected);

    const narrower: FilterNode = { field: 'aum', op: 'gte', value: 6_000_000 };
    const patched = await ops.request('PATCH', `/api/v1/tags/${id}`, { rule: narrower, name: '私行客户' });
    expect(patched.status, JSON.stringify(patched.body)).to.equal(200);
    expect(patched.body).to.include({ name: '私行客户' });
    const fewer = await selected(narrower);
    expect(fewer.length).to.be.lessThan(expected.length);
    await until(async () => (await holders(id)).length === fewer.length, 20_000, 'the changed rule to be recomputed');
    expect(await holders(id)).to.deep.equal(fewer);
    const bad = await ops.request('PATCH', `/api/v1/tags/${id}`, { rule: { field: 'nope', op: 'eq', value: 1 } });
    expect(issuePaths(bad.body)).to.deep.equal(['body.rule.field']);
    expect(issuePaths((await ops.request('PATCH', `/api/v1/tags/${id}`, {})).body)).to.deep.equal(['body.name']);
  });

  it('deletes a tag softly, removing its assignments, and keeps system tags', async () => {
    const groupId = await manualGroup('临时活动');
    const id = await tag(groupId, '双十一');
    await am.post(`/api/v1/customers/${mine}/tags`, { add: [id] });
    const r = await ops.request('DELETE', `/api/v1/tags/${id}`);
    expect(r.status).to.equal(200);
    expect(r.body).to.deep.equal({ removedAssignments: 1 });
    expect(await holders(id)).to.deep.equal([]);
    const row = await db().selectFrom('tags').select('deleted_at').where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.deleted_at).to.be.instanceOf(Date);
    const listed = (await ops.get('/api/v1/tags')).body.groups.find((g: { id: string }) => g.id === groupId);
    expect(listed.tags).to.deep.equal([]);
    expect((await ops.request('DELETE', `/api/v1/tags/${id}`)).status).to.equal(404);
    const fact = (await db().selectFrom('tags').select('id').where('name', '=', '沉睡').executeTakeFirstOrThrow()).id;
    expect((await ops.request('DELETE', `/api/v1/tags/${fact}`)).status).to.equal(409);
    expect((await am.request('DELETE', `/api/v1/tags/${fact}`)).status).to.equal(403);
  });

  it('recomputes the fact tags of imported customers in the tags.facts job, and everything in the nightly run', async () => {
    const tierOf = async (id: string) =>
      (await sql<{ name: string }>`SELECT t.name FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id JOIN tag_groups g ON g.id = t.group_id
        WHERE ct.customer_id = ${id} AND g.name = 'AUM分层'`.execute(db())).rows.map((r) => r.name);
    await db().updateTable('customers').set({ aum: 9_000_000 }).where('id', 'in', [mine, notMine]).execute();
    await app.jobs.enqueue(TAG_JOBS.facts, { customerIds: [mine] }, { cause: { type: 'system', id: 'import' } });
    await until(async () => (await tierOf(mine)).includes('私行'), 20_000, 'the imported customer to be re-tiered');
    expect(await tierOf(mine)).to.deep.equal(['私行']);
    expect(await tierOf(notMine)).to.not.deep.equal(['私行']);
    const summary = await runNightly(deps, new Date());
    expect(summary.facts).to.deep.equal({ added: 1, removed: 1 });
    expect(summary.rules.errors).to.equal(0);
    expect(await tierOf(notMine)).to.deep.equal(['私行']);
  });

  it('documents every tags route in the OpenAPI document', async () => {
    const doc = (await ops.get('/api/v1/openapi.json')).body;
    expect(Object.keys(doc.paths['/api/v1/tags'])).to.deep.equal(['get', 'post']);
    expect(Object.keys(doc.paths['/api/v1/tags/{id}'])).to.deep.equal(['patch', 'delete']);
    expect(Object.keys(doc.paths['/api/v1/customers/{id}/tags'])).to.deep.equal(['get', 'post']);
    expect(doc.paths['/api/v1/tag-groups'].post['x-roles']).to.deep.equal(['admin', 'ops']);
  });
});
