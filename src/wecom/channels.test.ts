import { expect } from 'chai';
import { bootApp, type TestApp } from '../../test/harness.js';

describe('channel QR codes for the console (members, the QR image)', function () {
  this.timeout(60_000);
  let app: TestApp;
  before(async () => {
    app = await bootApp();
  });
  after(() => app.close());

  it('lists the WeCom members a code can name, with the staff bound to them, for administrators and operations', async () => {
    const ops = await app.client().login('ops');
    const r = await ops.get('/api/v1/wecom/members');
    expect(r.status).to.equal(200);
    const zhangwei = r.body.items.find((m: { userid: string }) => m.userid === 'ZhangWei');
    expect(zhangwei).to.include({ name: '张伟', branchId: 'br-hq' });
    expect(zhangwei.staffId).to.be.a('string');
    expect((await (await app.client().login('compliance')).get('/api/v1/wecom/members')).status).to.equal(403);
  });

  it("serves a code's QR image through the product, from the sandbox's image host", async () => {
    const ops = await app.client().login('ops');
    const created = await ops.post('/api/v1/wecom/contact-ways', { name: '图片测试', members: ['LiNa'] });
    expect(created.status).to.equal(201);
    const image = await ops.get(`/api/v1/wecom/contact-ways/${created.body.id}/qr`);
    expect(image.status).to.equal(200);
    expect(image.headers.get('content-type')).to.match(/^image\//);
    expect(String(image.body).length).to.be.greaterThan(100);
    const gone = await ops.request('DELETE', `/api/v1/wecom/contact-ways/${created.body.id}`);
    expect(gone.status).to.equal(204);
    expect((await ops.get(`/api/v1/wecom/contact-ways/${created.body.id}/qr`)).status).to.equal(404);
  });
});
