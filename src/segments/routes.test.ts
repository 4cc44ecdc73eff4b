import { expect } from 'chai';
import { bootApp, type TestApp, type TestClient } from '../../test/harness.js';
import { generateCustomers, type SyntheticCustomer } from '../demo/synthetic.js';
import { mask } from '../platform/crypto.js';

/** The HTTP API on the demo bank's 300 synthetic customers, as each role sees it. */
describe('segments over HTTP', () => {
  let app: TestApp;
  const customers: SyntheticCustomer[] = [...generateCustomers(300)];
  const rule = { all: [{ field: 'aum', op: 'gte', value: 50_000 }, { field: 'segments', op: 'has_any', value: ['代发', '社保'] }] };
  const inRule = (c: SyntheticCustomer) => c.aum >= 50_000 && (c.segments.includes('代发') || c.segments.includes('社保'));
  const clients: Record<string, TestClient> = {};

  before(async function () {
    this.timeout(120_000);
    app = await bootApp({ DEMO_CUSTOMERS: '300' });
    for (const user of ['admin', 'ops', 'compliance', 'am.lina']) clients[user] = await app.client().login(user);
  });
  after(() => app?.close());

  const as = (user: string) => clients[user]!;
  const staffId = async (username: string) =>
    (await app.database.db.selectFrom('staff').select('id').where('username', '=', username).executeTakeFirstOrThrow()).id;
  const auditOf = (targetId: string) =>
    app.database.db.selectFrom('audit_log').select(['action', 'actor_id', 'outcome']).where('target_id', '=', targetId).orderBy('id').execute();
  let n = 0;
  const create = async (definition: unknown, extra: Record<string, unknown> = {}) => {
    const r = await as('ops').post('/api/v1/segments', { name: `HTTP客群${++n}`, definition, ...extra });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    return r.body as { segment: { id: string; name: string; memberCount: number }; members: { unknownCount: number; unknown: string[] } };
  };

  it('ops creates, lists, changes and deletes a segment, and every write is audited', async () => {
    const expected = customers.filter(inRule).length;
    expect(expected).to.be.within(1, customers.length - 1);
    const { segment } = await create({ method: 'rule', filter: rule }, { refreshCron: '0 6 * * *' });
    expect(segment.memberCount).to.equal(expected);
    const list = await as('compliance').get('/api/v1/segments?method=rule');
    expect(list.status).to.equal(200);
    expect(list.body.items.map((s: { id: string }) => s.id)).to.include(segment.id);
    const one = await as('admin').get(`/api/v1/segments/${segment.id}`);
    expect(one.body).to.include({ count: expected, summary: 'AUM ≥ 5万 且 客群含任一 代发、社保', refreshCron: '0 6 * * *' });
    const renamed = await as('ops').request('PATCH', `/api/v1/segments/${segment.id}`, { name: '代发或社保的中高端客户' });
    expect(renamed.status).to.equal(200);
    expect(renamed.body.segment.name).to.equal('代发或社保的中高端客户');
    expect((await as('ops').request('DELETE', `/api/v1/segments/${segment.id}`)).status).to.equal(204);
    expect((await as('ops').get(`/api/v1/segments/${segment.id}`)).status).to.equal(404);
    const ops = await staffId('ops');
    expect(await auditOf(segment.id)).to.deep.equal(['segments.create', 'segments.update', 'segments.delete'].map((action) => ({ action, actor_id: ops, outcome: 'success' })));
  });

  it('an account manager counts only the customers who follow them and may not write', async () => {
    const mine = customers.filter((c) => inRule(c) && c.wecom?.followerUserid === 'LiNa').length;
    const all = customers.filter(inRule).length;
    expect(mine).to.be.within(1, all - 1);
    const body = { definition: { method: 'rule', filter: rule } };
    expect((await as('am.lina').post('/api/v1/segments/count', body)).body).to.deep.equal({ count: mine, unknownCount: 0, unknown: [] });
    expect((await as('admin').post('/api/v1/segments/count', body)).body.count).to.equal(all);
    const refused = await as('am.lina').post('/api/v1/segments', { name: '我的客群', ...body });
    expect(refused.status).to.equal(403);
    const { segment } = await create(body.definition);
    expect((await as('am.lina').get(`/api/v1/segments/${segment.id}`)).body).to.include({ count: mine, memberCount: null });
  });

  it('validation errors name the field at fault', async () => {
    const issues = async (body: unknown, path = '/api/v1/segments') => {
      const r = await as('ops').post(path, body);
      expect(r.status, JSON.stringify(r.body)).to.equal(400);
      return (r.body.error.issues as { path: string }[]).map((i) => i.path);
    };
    const bad = { all: [{ field: 'aum', op: 'gte', value: 1 }, { field: 'risk_level', op: 'gt', value: 'R3' }] };
    expect(await issues({ name: 'x', definition: { method: 'rule', filter: bad } })).to.deep.equal(['body.definition.filter.all.1.op']);
    expect(await issues({ definition: { method: 'rule', filter: rule } })).to.deep.equal(['body.name']);
    expect(await issues({ name: 'x', definition: { method: 'lookalike' } })).to.deep.equal(['body.definition.method']);
    expect(await issues({ name: 'x', refreshCron: '99 * * * *', definition: { method: 'fixed' } })).to.deep.equal(['body.refreshCron']);
    expect(await issues({ name: 'x', definition: { method: 'rule', filter: rule }, members: { add: ['CIF1'] } })).to.deep.equal(['body.members']);
    expect(await issues({ name: 'x', definition: { method: 'imported' } })).to.deep.equal(['body.cifs']);
    const missing = '0b7e4a0c-5d1f-4c2a-8e3b-9f6a7c8d9e0f';
    const fixed = (await create({ method: 'fixed' })).segment.id;
    expect(await issues({ definition: { method: 'derived', op: 'union', segments: [missing, fixed] } }, '/api/v1/segments/count'))
      .to.deep.equal(['body.definition.segments.0']);
    expect(await issues({ definition: { method: 'score', propensity: { productId: 'p-fund', minScore: 2 } } }, '/api/v1/segments/count'))
      .to.deep.equal(['body.definition.propensity.minScore']);
  });

  it('an uploaded CIF list creates an imported segment and reports the CIF numbers that match no customer', async () => {
    const known = customers.slice(0, 50).map((c) => c.cifNo);
    const { segment, members } = await create({ method: 'imported' }, { cifs: [...known, 'CIF0000000000', 'CIF-UNKNOWN'] });
    expect(members).to.include({ unknownCount: 2 });
    expect(members.unknown).to.deep.equal(['CIF0000000000', 'CIF-UNKNOWN']);
    expect(segment.memberCount).to.equal(50);
    const counted = await as('ops').post('/api/v1/segments/count', { definition: { method: 'imported' }, cifs: [...known.slice(0, 10), 'CIF-UNKNOWN'] });
    expect(counted.body).to.deep.equal({ count: 10, unknownCount: 1, unknown: ['CIF-UNKNOWN'] });
  });

  it('previews show masked mobiles to ops and to an account manager, and are not audited', async () => {
    const { segment } = await create({ method: 'rule', filter: rule });
    const byCif = new Map(customers.map((c) => [c.cifNo, c]));
    const auditRows = async () => (await app.database.db.selectFrom('audit_log').select('id').execute()).length;
    const before = await auditRows();
    for (const [user, visible] of [['ops', customers.filter(inRule)], ['am.lina', customers.filter((c) => inRule(c) && c.wecom?.followerUserid === 'LiNa')]] as const) {
      const r = await as(user).get(`/api/v1/segments/${segment.id}/preview?limit=200`);
      expect(r.status).to.equal(200);
      expect(r.body.total).to.equal(visible.length);
      expect(r.body.items.map((i: { cifNo: string }) => i.cifNo)).to.deep.equal(visible.map((c) => c.cifNo).sort());
      for (const item of r.body.items as { cifNo: string; mobile: string; aum: string }[]) {
        const c = byCif.get(item.cifNo)!;
        expect(item.mobile).to.equal(mask.mobile(c.mobile));
        expect(Number(item.aum)).to.equal(c.aum);
      }
      const text = JSON.stringify(r.body);
      for (const c of visible) expect(text).not.to.contain(c.mobile);
    }
    expect(await auditRows()).to.equal(before);
  });

  it('ops freezes a snapshot that every reader can list, and a segment others are built on cannot be deleted', async () => {
    const { segment } = await create({ method: 'rule', filter: rule });
    const other = (await create({ method: 'fixed' }, { members: { add: [customers[0]!.cifNo] } })).segment;
    const derived = (await create({ method: 'derived', op: 'union', segments: [segment.id, other.id] })).segment;
    const snap = await as('ops').post(`/api/v1/segments/${derived.id}/snapshots`);
    expect(snap.status).to.equal(201);
    const expected = customers.filter((c, i) => inRule(c) || i === 0).length;
    expect(snap.body.count).to.equal(expected);
    expect((await as('am.lina').post(`/api/v1/segments/${derived.id}/snapshots`)).status).to.equal(403);
    const listed = await as('compliance').get(`/api/v1/segments/${derived.id}/snapshots`);
    expect(listed.body.items).to.have.length(1);
    expect(listed.body.items[0]).to.include({ id: snap.body.snapshotId, memberCount: expected });
    expect((await auditOf(derived.id)).map((a) => a.action)).to.deep.equal(['segments.create', 'segments.snapshot']);
    const refused = await as('ops').request('DELETE', `/api/v1/segments/${segment.id}`);
    expect(refused.status).to.equal(409);
    expect(refused.body.error.message).to.contain(derived.name);
  });
});
