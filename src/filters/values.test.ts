import { expect } from 'chai';
import catalogue from '../../data/bank/products.json' with { type: 'json' };
import { bootApp, type TestApp, type TestClient } from '../../test/harness.js';
import { DEMO_CORP_ID } from '../demo/seed.js';
import { RFM_CLASSES } from '../scoring/index.js';

/** What the console's visual builder reads: each operator's value kind, and the values to pick from. */
describe('filter fields and values for the builder', () => {
  let app: TestApp;
  let ops: TestClient;

  before(async function () {
    this.timeout(120_000);
    app = await bootApp({ DEMO_CUSTOMERS: '40' });
    ops = await app.client().login('ops');
    const db = app.database.db;
    const group = await db.insertInto('tag_groups').values({ name: '兴趣', layer: 'manual', description: null }).returning('id').executeTakeFirstOrThrow();
    await db.insertInto('tags').values([
      { group_id: group.id, name: '高尔夫', rule: null, description: null, wecom_corp_id: null, wecom_tag_id: null, created_by: null },
      { group_id: group.id, name: '已删除', rule: null, description: null, wecom_corp_id: null, wecom_tag_id: null, created_by: null, deleted_at: new Date() },
    ]).execute();
    await db.insertInto('wecom_contact_ways').values({ corp_id: DEMO_CORP_ID, type: 2, scene: 2, state: 'qr-br-hz-xihu', name: '西湖支行大堂二维码', members: ['LiNa'] }).execute();
  });
  after(() => app?.close());

  const values = async (name: string) => {
    const r = await ops.get(`/api/v1/filters/fields/${name}/values`);
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    return r.body.values as { value: string; label: string }[];
  };

  it('gives every operator of every field the kind of value it takes', async () => {
    const r = await ops.get('/api/v1/filters/fields');
    const byName = new Map((r.body.fields as { name: string; ops: string[]; kinds: Record<string, string> }[]).map((f) => [f.name, f]));
    for (const f of byName.values()) expect(Object.keys(f.kinds), f.name).to.deep.equal(f.ops);
    expect(byName.get('aum')!.kinds).to.include({ gte: 'number', between: 'number_range', is_null: 'none' });
    expect(byName.get('last_contact_at')!.kinds).to.include({ within_last_days: 'days', before: 'date', between: 'date_range' });
    expect(byName.get('birth_date')!.kinds).to.include({ birthday_within_next_days: 'days_ahead' });
    expect(byName.get('tags')!.kinds).to.include({ has: 'string', has_any: 'string_list' });
    expect(byName.get('risk_level')!.kinds).to.include({ eq: 'enum', in: 'enum_list' });
  });

  it('offers closed values, branches, products, RFM classes, live tags, members, channels and segment labels', async () => {
    expect(await values('gender')).to.deep.equal([{ value: 'M', label: '男' }, { value: 'F', label: '女' }]);
    expect(await values('branch_id')).to.deep.include({ value: 'br-hz-xihu', label: (await app.database.db.selectFrom('branches').select('name').where('id', '=', 'br-hz-xihu').executeTakeFirstOrThrow()).name });
    expect((await values('products')).map((p) => p.value)).to.deep.equal((catalogue as { id: string }[]).map((p) => p.id));
    expect((await values('rfm_class')).map((v) => v.value)).to.deep.equal([...RFM_CLASSES]);
    const tags = await values('tags');
    expect(tags).to.deep.include({ value: '兴趣:高尔夫', label: '兴趣 · 高尔夫' });
    expect(tags.map((t) => t.value)).to.not.include('兴趣:已删除');
    expect(await values('follow_member')).to.deep.include({ value: 'LiNa', label: '李娜（LiNa）' });
    expect(await values('follow_channel')).to.deep.equal([{ value: 'qr-br-hz-xihu', label: '西湖支行大堂二维码' }]);
    const held = await app.database.db.selectFrom('customers').select('segments').execute();
    const labels = [...new Set(held.flatMap((c) => c.segments))].sort();
    expect(labels.length).to.be.above(0);
    expect((await values('segments')).map((v) => v.value).sort()).to.deep.equal(labels);
  });

  it('answers 404 for a field the grammar does not know', async () => {
    expect((await ops.get('/api/v1/filters/fields/password_hash/values')).status).to.equal(404);
  });
});
