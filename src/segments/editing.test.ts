import { expect } from 'chai';
import { bootApp, type TestApp, type TestClient } from '../../test/harness.js';

/** The console's editor: counting and previewing a definition or an edit before it is saved, and listing explicit members. */
describe('segment edits before saving', () => {
  let app: TestApp;
  const clients: Record<string, TestClient> = {};
  const as = (user: string) => clients[user]!;
  let cifs: string[] = [];
  const rule = { field: 'aum', op: 'gte', value: 100_000 };

  before(async function () {
    this.timeout(120_000);
    app = await bootApp({ DEMO_CUSTOMERS: '80' });
    for (const user of ['ops', 'am.lina']) clients[user] = await app.client().login(user);
    cifs = (await app.database.db.selectFrom('customers').select('cif_no').orderBy('cif_no').execute()).map((c) => c.cif_no);
  });
  after(() => app?.close());

  const post = async (path: string, body: unknown, user = 'ops') => {
    const r = await as(user).post(`/api/v1${path}`, body);
    expect(r.status, JSON.stringify(r.body)).to.be.oneOf([200, 201]);
    return r.body;
  };
  const previewIds = (body: { items: { cifNo: string }[] }) => body.items.map((i) => i.cifNo);

  it('previews an unsaved rule with masked mobiles, its total the same as its count', async () => {
    const definition = { method: 'rule', filter: rule };
    const { count } = await post('/segments/count', { definition });
    const page = await post('/segments/preview', { definition, limit: 5 });
    expect(count).to.be.within(1, cifs.length - 1);
    expect(page.total).to.equal(count);
    expect(page.items).to.have.length(Math.min(5, count));
    for (const item of page.items) if (item.mobile) expect(item.mobile).to.match(/^1\d{2}\*{4}\d{4}$/);
  });

  it('counts and previews an edit of a custom segment exactly as saving it would leave it', async () => {
    const definition = { method: 'custom', filter: rule };
    const created = await post('/segments', { name: '编辑中的客群', definition, members: { add: cifs.slice(0, 3), exclude: cifs.slice(3, 6) } });
    const id = created.segment.id as string;
    const changes = { add: [cifs[3]!, cifs[10]!], exclude: [cifs[0]!, cifs[11]!], remove: [cifs[4]!, cifs[1]!] };
    const edited = { definition: { method: 'custom', filter: { field: 'aum', op: 'gte', value: 200_000 } }, members: changes, segmentId: id };
    const before = await post('/segments/count', edited);
    const previewBefore = await post('/segments/preview', { ...edited, limit: 200 });
    const saved = await as('ops').request('PATCH', `/api/v1/segments/${id}`, { definition: edited.definition, members: changes });
    expect(saved.status, JSON.stringify(saved.body)).to.equal(200);
    const after = (await as('ops').get(`/api/v1/segments/${id}`)).body.count;
    const previewAfter = (await as('ops').get(`/api/v1/segments/${id}/preview?limit=200`)).body;
    expect(before.count).to.equal(after);
    expect(previewIds(previewBefore)).to.deep.equal(previewIds(previewAfter));
    // The explicit lists as they now stand: cifs[2] kept, cifs[3] (exclusion lifted) and cifs[10] added; cifs[5] kept out, cifs[0] and cifs[11] excluded.
    const included = (await as('ops').get(`/api/v1/segments/${id}/members`)).body;
    const excluded = (await as('ops').get(`/api/v1/segments/${id}/members?include=false`)).body;
    expect(included.items.map((m: { cifNo: string }) => m.cifNo)).to.deep.equal([cifs[2], cifs[3], cifs[10]]);
    expect(excluded.items.map((m: { cifNo: string }) => m.cifNo)).to.deep.equal([cifs[0], cifs[5], cifs[11]]);
    expect(included.total).to.equal(3);
    for (const m of [...included.items, ...excluded.items]) if (m.mobile) expect(m.mobile).to.match(/\*{4}/);
  });

  it('counts an edit that changes the method from no stored members, and an upload in place of an imported list', async () => {
    const fixed = (await post('/segments', { name: '固定名单改规则', definition: { method: 'fixed' }, members: { add: cifs.slice(0, 4) } })).segment.id;
    const asRule = await post('/segments/count', { definition: { method: 'custom', filter: { field: 'cif_no', op: 'eq', value: cifs[20]! } }, segmentId: fixed });
    expect(asRule.count).to.equal(1);
    const imported = (await post('/segments', { name: '导入名单', definition: { method: 'imported' }, cifs: cifs.slice(0, 5) })).segment.id;
    const upload = await post('/segments/count', { definition: { method: 'imported' }, cifs: [cifs[30]!, cifs[31]!, 'CIF-NOBODY'], segmentId: imported });
    expect(upload).to.deep.equal({ count: 2, unknownCount: 1, unknown: ['CIF-NOBODY'] });
  });

  it('answers 404 for an edit of a segment that does not exist, and an account manager sees only their customers', async () => {
    const missing = await as('ops').post('/api/v1/segments/count', { definition: { method: 'fixed' }, segmentId: '0b7e4a0c-5d1f-4c2a-8e3b-9f6a7c8d9e0f' });
    expect(missing.status).to.equal(404);
    const id = (await post('/segments', { name: '全部固定', definition: { method: 'fixed' }, members: { add: cifs } })).segment.id;
    const mine = await app.database.db.selectFrom('customers').select('cif_no')
      .where((eb) => eb.exists(eb.selectFrom('external_contacts as ec').innerJoin('follow_relations as fr', (j) => j.onRef('fr.corp_id', '=', 'ec.corp_id').onRef('fr.external_userid', '=', 'ec.external_userid'))
        .select('ec.customer_id').whereRef('ec.customer_id', '=', 'customers.id').where('fr.userid', '=', 'LiNa').where('fr.deleted_at', 'is', null)))
      .orderBy('cif_no').execute();
    expect(mine.length).to.be.within(1, cifs.length - 1);
    const listed = (await as('am.lina').get(`/api/v1/segments/${id}/members?limit=200`)).body;
    expect(listed.items.map((m: { cifNo: string }) => m.cifNo)).to.deep.equal(mine.map((m) => m.cif_no));
  });
});
