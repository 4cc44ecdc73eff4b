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

  it('names the threshold out of order, a conflicting calendar date and an unknown time zone at their fields', async () => {
    const admin = await app.client().login('admin');
    const tiers = await admin.request('PUT', '/api/v1/settings/customers.aumTiers', { value: { potential: 500_000, wealth: 400_000, private: 6_000_000 } });
    expect(tiers.status).to.equal(400);
    expect(tiers.body.error.issues.map((i: { path: string }) => i.path)).to.deep.equal(['body.value.wealth']);
    const calendar = await admin.request('PUT', '/api/v1/settings/sop.workingCalendar', { value: { holidays: ['2026-10-01'], workdays: ['2026-10-10', '2026-10-01'] } });
    expect(calendar.status).to.equal(400);
    expect(calendar.body.error.issues).to.deep.equal([{ path: 'body.value.workdays.1', message: 'a date cannot be both a holiday and a workday' }]);
    const zone = await admin.request('PUT', '/api/v1/settings/outbound.quietHours', { value: { start: '22:00', end: '08:00', timezone: 'Mars/Olympus' } });
    expect(zone.status).to.equal(400);
    expect(zone.body.error.issues).to.deep.equal([{ path: 'body.value.timezone', message: 'unknown time zone' }]);
  });

  it('lists who changed each setting and its default, and keeps every version with who, when, before and after', async () => {
    const admin = await app.client().login('admin');
    const before = (await admin.get('/api/v1/settings')).body.items.find((i: { key: string }) => i.key === 'replies.thresholds');
    expect(before).to.deep.include({ version: 0, updatedBy: null, default: { kbMinScore: 0.4, intentThreshold: 0.8 } });
    await admin.request('PUT', '/api/v1/settings/replies.thresholds', { value: { kbMinScore: 0.5, intentThreshold: 0.8 } });
    await admin.request('PUT', '/api/v1/settings/replies.thresholds', { value: { kbMinScore: 0.55, intentThreshold: 0.7 }, version: 1 });
    const listed = (await admin.get('/api/v1/settings')).body.items.find((i: { key: string }) => i.key === 'replies.thresholds');
    expect(listed).to.deep.include({ version: 2, value: { kbMinScore: 0.55, intentThreshold: 0.7 } });
    expect(listed.updatedBy.displayName).to.equal('系统管理员');

    const history = await admin.get('/api/v1/settings/replies.thresholds/history');
    expect(history.status).to.equal(200);
    expect(history.body.items.map((h: { version: number }) => h.version)).to.deep.equal([2, 1]);
    expect(history.body.items[0]).to.deep.include({ before: { kbMinScore: 0.5, intentThreshold: 0.8 }, after: { kbMinScore: 0.55, intentThreshold: 0.7 } });
    expect(history.body.items[1]).to.deep.include({ before: { kbMinScore: 0.4, intentThreshold: 0.8 } });
    expect(history.body.items[1].actor.displayName).to.equal('系统管理员');
    expect((await admin.get('/api/v1/settings/no.such/history')).status).to.equal(404);
    // Compliance reads the settings and their history; it cannot change them.
    const compliance = await app.client().login('compliance');
    expect((await compliance.get('/api/v1/settings/replies.thresholds/history')).status).to.equal(200);
  });

  it('refuses a change made from a version someone else has since replaced', async () => {
    const admin = await app.client().login('admin');
    const current = (await admin.get('/api/v1/settings')).body.items.find((i: { key: string }) => i.key === 'wecom.welcomeText');
    const first = await admin.request('PUT', '/api/v1/settings/wecom.welcomeText', { value: { text: '您好，我是{客户经理}。' }, version: current.version });
    expect(first.status).to.equal(200);
    const stale = await admin.request('PUT', '/api/v1/settings/wecom.welcomeText', { value: { text: '旧页面上的修改' }, version: current.version });
    expect(stale.status).to.equal(409);
    expect(await getSetting(app.database.db, 'wecom.welcomeText')).to.deep.equal({ text: '您好，我是{客户经理}。' });
  });

  it('checks a value without storing it, answering the issues a change would be refused with', async () => {
    const admin = await app.client().login('admin');
    const bad = await admin.post('/api/v1/settings/outbound.quietHours/validate', { value: { start: '7:00', end: '08:00' } });
    expect(bad.status).to.equal(200);
    expect(bad.body).to.deep.equal({ ok: false, issues: [{ path: 'body.value.start', message: 'HH:MM' }] });
    const good = await admin.post('/api/v1/settings/outbound.quietHours/validate', { value: { start: '22:30', end: '07:30' } });
    expect(good.body).to.deep.equal({ ok: true, issues: [] });
    expect(await getSetting(app.database.db, 'outbound.quietHours')).to.not.deep.include({ start: '22:30' });
    expect((await admin.post('/api/v1/settings/no.such/validate', { value: {} })).status).to.equal(404);
    expect((await (await app.client().login('compliance')).post('/api/v1/settings/outbound.quietHours/validate', { value: {} })).status).to.equal(403);
  });
});
