import { expect } from 'chai';
import catalogue from '../../data/bank/products.json' with { type: 'json' };
import { bootApp, type TestApp } from '../../test/harness.js';

describe('product catalogue API', () => {
  let app: TestApp;

  before(async () => {
    app = await bootApp();
  });
  after(() => app.close());

  it('lists every catalogue product in the file’s order, with its type and risk level in Chinese', async () => {
    const am = await app.client().login('am.lina');
    const r = await am.get('/api/v1/products');
    expect(r.status).to.equal(200);
    expect(r.body.items.map((p: { id: string }) => p.id)).to.deep.equal(catalogue.map((p) => p.id));
    const wealth = r.body.items.find((p: { id: string }) => p.id === 'p-wm-fi-r2-180');
    expect(wealth).to.deep.include({
      name: '星河恒享固收增强180天持有期理财', type: 'wealth', typeLabel: '理财', riskLevel: 'R2', riskLabel: '中低风险', term: '180天',
    });
    expect(wealth.sellingPoints).to.deep.equal(catalogue.find((p) => p.id === 'p-wm-fi-r2-180')!.selling_points);
    expect(wealth.complianceNotes).to.be.a('string').and.not.equal('');
    const deposit = r.body.items.find((p: { id: string }) => p.id === 'p-dep-lcd-3y');
    expect(deposit).to.deep.include({ typeLabel: '存款', riskLevel: null, riskLabel: null, term: '3年', minAmount: '20万元起' });
  });

  it('answers every role and refuses a visitor without a session', async () => {
    for (const role of ['admin', 'ops', 'compliance', 'bm.liuyang', 'am.zhangwei']) {
      const r = await (await app.client().login(role)).get('/api/v1/products');
      expect(r.status, role).to.equal(200);
      expect(r.body.items, role).to.have.length(catalogue.length);
    }
    expect((await app.client().get('/api/v1/products')).status).to.equal(401);
  });

  it('is described in the API document for any logged-in role', async () => {
    const doc = (await app.client().get('/api/v1/openapi.json')).body;
    const op = doc.paths['/api/v1/products'].get;
    expect(op['x-roles']).to.equal('any');
    expect(op.tags).to.deep.equal(['products']);
    const schema = op.responses['200'].content['application/json'].schema;
    expect(JSON.stringify(schema)).to.contain('riskLevel').and.contain('typeLabel');
  });
});
