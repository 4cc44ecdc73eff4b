import { expect } from 'chai';
import { bootApp, type TestApp } from '../../test/harness.js';
import { getSetting } from './index.js';

describe('runtime settings', () => {
  let app: TestApp;
  before(async () => {
    app = await bootApp();
  });
  after(() => app.close());

  it('returns the default until a value is stored', async () => {
    expect(await getSetting(app.database.db, 'outbound.customerQuota')).to.deep.equal({ period: 'month', limit: 4 });
  });

  it('stores a valid value with a rising version', async () => {
    const admin = await app.client().login('admin');
    const first = await admin.request('PUT', '/api/v1/settings/outbound.customerQuota', { value: { period: 'week', limit: 2 } });
    const second = await admin.request('PUT', '/api/v1/settings/outbound.customerQuota', { value: { period: 'day', limit: 1 } });
    expect([first.body.version, second.body.version]).to.deep.equal([1, 2]);
    expect(await getSetting(app.database.db, 'outbound.customerQuota')).to.deep.equal({ period: 'day', limit: 1 });
  });

  it('rejects an invalid value naming the field, and an unknown key with 404', async () => {
    const admin = await app.client().login('admin');
    const bad = await admin.request('PUT', '/api/v1/settings/outbound.quietHours', { value: { start: '25:00', end: '08:00' } });
    expect(bad.status).to.equal(400);
    expect(bad.body.error.issues[0].path).to.equal('body.value.start');
    expect((await admin.request('PUT', '/api/v1/settings/no.such', { value: 1 })).status).to.equal(404);
  });

  it('lets only admins change settings', async () => {
    const ops = await app.client().login('ops');
    expect((await ops.request('PUT', '/api/v1/settings/outbound.quietHours', { value: { start: '22:00', end: '08:00' } })).status).to.equal(403);
  });
});
