import { expect } from 'chai';
import { bootApp, type TestApp } from '../../test/harness.js';
import { createLogger } from '../platform/logger.js';
import { advanceDueSteps } from './engine.js';
import { customerWithContact, CORP } from './testing.js';
import { handleSopEvent } from './triggers.js';

describe('the SOP API', function () {
  this.timeout(60_000);
  let app: TestApp;
  before(async () => {
    app = await bootApp();
  });
  after(() => app.close());

  const source = (key: string, text = '{称呼}您好，我是{客户经理}。') => `key: ${key}
name: 接口测试
trigger:
  type: event
  event: contact_added
  channel: api-*
steps:
  - id: hello
    type: send
    via: sidebar_task
    text: "${text}"
  - id: todo
    type: task
    title: 了解客户需求
    dueIn: 2d
`;

  it('lists the template library that ships as files, as drafts', async () => {
    const client = await app.client().login('ops');
    const r = await client.get('/api/v1/sop/templates');
    expect(r.status).to.equal(200);
    const keys = r.body.templates.map((t: { key: string }) => t.key);
    expect(keys).to.include.members(['new-customer-7d', 'birthday-care', 'wealth-maturity', 'dormant-wakeup', 'payroll-day-benefits', 'risk-assessment-expiry', 'pre-retirement-planning']);
    expect(r.body.templates.every((t: { status: string; source: string }) => t.status === 'draft' && t.source === 'file')).to.equal(true);
  });

  it('rejects a template with the line and field at fault, and saves nothing', async () => {
    const client = await app.client().login('ops');
    const r = await client.post('/api/v1/sop/templates', { source: source('api-bad', '您好{客户姓名}') });
    expect(r.status).to.equal(400);
    expect(r.body.error.issues[0].path).to.match(/^body\.source\.yaml:11:\d+ steps\.0\.text$/);
    expect(r.body.error.issues[0].message).to.contain('{客户姓名}');
    const data = await client.post('/api/v1/sop/templates/validate', { definition: { key: 'x', name: 'x', trigger: { type: 'event', event: 'nope' }, steps: [] } });
    expect(data.status).to.equal(400);
    expect(data.body.error.issues.map((i: { path: string }) => i.path)).to.include.members(['body.definition.trigger.event', 'body.definition.steps']);
    expect((await client.get('/api/v1/sop/templates/api-bad')).status).to.equal(404);
  });

  it('reports a template’s problems with 200 when asked to (report: true), naming each field, and says ok for a good one', async () => {
    const client = await app.client().login('ops');
    const bad = await client.post('/api/v1/sop/templates/validate', { report: true, definition: { key: 'x', name: 'x', trigger: { type: 'event', event: 'nope' }, steps: [] } });
    expect(bad.status).to.equal(200);
    expect(bad.body.ok).to.equal(false);
    expect(bad.body.issues.map((i: { path: string }) => i.path)).to.include.members(['body.definition.trigger.event', 'body.definition.steps']);
    const yaml = await client.post('/api/v1/sop/templates/validate', { report: true, source: source('report-bad', '您好{客户姓名}') });
    expect([yaml.status, yaml.body.ok]).to.deep.equal([200, false]);
    expect(yaml.body.issues[0].path).to.match(/^body\.source\.yaml:11:\d+ steps\.0\.text$/);
    const good = await client.post('/api/v1/sop/templates/validate', { report: true, source: source('report-good') });
    expect(good.body).to.deep.equal({ ok: true, key: 'report-good', steps: 2, issues: [] });
    // Without either field the request itself is wrong: still a 400.
    expect((await client.post('/api/v1/sop/templates/validate', { report: true })).status).to.equal(400);
    const compliance = await app.client().login('compliance');
    expect((await compliance.post('/api/v1/sop/templates/validate', { report: true, source: source('x') })).status).to.equal(403);
  });

  it('lets account managers and compliance read but not publish', async () => {
    const manager = await app.client().login('am.lina');
    expect((await manager.post('/api/v1/sop/templates/birthday-care/publish')).status).to.equal(403);
    const compliance = await app.client().login('compliance');
    expect((await compliance.get('/api/v1/sop/templates/birthday-care')).status).to.equal(200);
    expect((await compliance.post('/api/v1/sop/templates/birthday-care/publish')).status).to.equal(403);
  });

  it('creates, publishes, pauses and monitors a template, and the member works through its tasks', async () => {
    const ops = await app.client().login('ops');
    const created = await ops.post('/api/v1/sop/templates', { source: source('api-flow') });
    expect(created.status).to.equal(201);
    const published = await ops.post(`/api/v1/sop/templates/${created.body.id}/publish`);
    expect(published.body).to.include({ version: 1, created: true });
    expect((await ops.post(`/api/v1/sop/templates/${created.body.id}/publish`)).body, 'publishing an unchanged draft adds no version').to.include({ version: 1, created: false });
    const audit = await app.database.db.selectFrom('audit_log').select('action').where('target_id', '=', created.body.id).execute();
    expect(audit.map((a) => a.action)).to.include.members(['sop.template.create', 'sop.template.publish']);

    const c = await customerWithContact(app.database.db, { name: '郑一', userid: 'LiNa' });
    const logger = createLogger({ level: 'silent' });
    await handleSopEvent({ db: app.database.db, logger, wake: async () => {} }, { kind: 'contact_added', corpId: CORP, externalUserid: c.externalUserid, memberUserid: 'LiNa', channel: 'api-1', key: 'api-flow-1' }, { type: 'system', id: 'test' });
    await advanceDueSteps({ db: app.database.db, gate: app.gate, events: app.events, gateway: app.wecom.gateway, logger });

    const monitor = await ops.get(`/api/v1/sop/templates/${created.body.id}/monitor`);
    expect(monitor.body.enrollments).to.deep.equal({ completed: 1 });
    expect(monitor.body.steps.map((s: { step_id: string; status: string; n: number }) => [s.step_id, s.status, s.n])).to.deep.equal([['hello', 'done', 1], ['todo', 'done', 1]]);
    const enrollments = await ops.get(`/api/v1/sop/templates/${created.body.id}/enrollments`);
    expect(enrollments.body.enrollments[0].name, 'ops see names masked').to.equal('郑*');
    const detail = await ops.get(`/api/v1/sop/enrollments/${enrollments.body.enrollments[0].id}`);
    expect(detail.body.steps.map((s: { delivery: string | null }) => s.delivery)).to.deep.equal(['sidebar_task', null]);

    const lina = await app.client().login('am.lina');
    const tasks = (await lina.get(`/api/v1/sop/tasks?customerId=${c.id}`)).body.tasks;
    expect(tasks.map((t: { kind: string; title: string }) => [t.kind, t.title])).to.deep.equal([['send', '发送旅程消息'], ['todo', '了解客户需求']]);
    expect(tasks[0].body).to.equal('郑先生您好，我是李娜。');
    const other = await app.client().login('am.zhangwei');
    expect((await other.post(`/api/v1/sop/tasks/${tasks[0].id}/done`)).status, 'another member cannot close it').to.equal(403);
    expect((await lina.post(`/api/v1/sop/tasks/${tasks[0].id}/done`)).status).to.equal(200);
    const row = await app.database.db.selectFrom('outbox').select(['status', 'channel']).where('ref_type', '=', 'sop_step_run').where('recipient', '=', c.externalUserid).executeTakeFirstOrThrow();
    expect(row).to.deep.equal({ status: 'sent', channel: 'sidebar' });
    const later = new Date(Date.now() + 3_600_000).toISOString();
    expect((await lina.post(`/api/v1/sop/tasks/${tasks[1].id}/snooze`, { until: later })).status).to.equal(200);
    expect((await lina.get('/api/v1/sop/tasks')).body.tasks.map((t: { id: string }) => t.id), 'a snoozed task leaves the open list').to.not.include(tasks[1].id);
    const bad = await lina.post(`/api/v1/sop/tasks/${tasks[1].id}/snooze`, { until: 'tomorrow' });
    expect(bad.status).to.equal(400);
    expect(bad.body.error.issues[0].path).to.equal('body.until');

    expect((await ops.post(`/api/v1/sop/templates/${created.body.id}/pause`)).body.status).to.equal('paused');
    expect((await ops.post(`/api/v1/sop/templates/${created.body.id}/resume`)).body.status).to.equal('active');
  });

  it('shows a branch manager only the enrollments of their branch’s customers, and masks other branches’ names in a dry run', async () => {
    const ops = await app.client().login('ops');
    const created = await ops.post('/api/v1/sop/templates', { source: source('api-scope') });
    await ops.post(`/api/v1/sop/templates/${created.body.id}/publish`);
    const mine = await customerWithContact(app.database.db, { name: '钱多多', userid: 'LiNa', branchId: 'br-hz-xihu', birthDate: '1980-03-07' });
    const theirs = await customerWithContact(app.database.db, { name: '孙小小', userid: 'SunHao', branchId: 'br-nb-yinzhou', birthDate: '1981-03-07' });
    const logger = createLogger({ level: 'silent' });
    for (const [c, userid] of [[mine, 'LiNa'], [theirs, 'SunHao']] as const) {
      await handleSopEvent({ db: app.database.db, logger, wake: async () => {} }, { kind: 'contact_added', corpId: CORP, externalUserid: c.externalUserid, memberUserid: userid, channel: 'api-1', key: `api-scope-${c.id}` }, { type: 'system', id: 'test' });
    }
    const all = (await ops.get(`/api/v1/sop/templates/${created.body.id}/enrollments`)).body.enrollments as { id: string; customer_id: string }[];
    expect(all.map((e) => e.customer_id)).to.have.members([mine.id, theirs.id]);
    const bm = await app.client().login('bm.liuyang');
    const seen = (await bm.get(`/api/v1/sop/templates/${created.body.id}/enrollments`)).body.enrollments as { customer_id: string; name: string }[];
    expect(seen.map((e) => [e.customer_id, e.name])).to.deep.equal([[mine.id, '钱多多']]);
    const other = all.find((e) => e.customer_id === theirs.id)!;
    expect((await bm.get(`/api/v1/sop/enrollments/${other.id}`)).status).to.equal(400);
    expect((await bm.get(`/api/v1/sop/enrollments/${all.find((e) => e.customer_id === mine.id)!.id}`)).status).to.equal(200);

    const birthdays = await ops.post('/api/v1/sop/templates', { definition: { key: 'api-scope-birthday', name: '生日', trigger: { type: 'date', date: 'birthday' }, steps: [{ id: 'hi', type: 'send', purpose: 'service', text: '{称呼}生日快乐' }] } });
    const dry = await bm.post(`/api/v1/sop/templates/${birthdays.body.id}/dry-run`, { date: '2027-03-07', draft: true });
    expect(dry.status, JSON.stringify(dry.body)).to.equal(200);
    const names = Object.fromEntries((dry.body.customers as { customerId: string; name: string }[]).map((c) => [c.customerId, c.name]));
    expect([names[mine.id], names[theirs.id]]).to.deep.equal(['钱多多', '孙**']);
  });

  it('documents every SOP route in the OpenAPI document', async () => {
    const doc = (await app.client().get('/api/v1/openapi.json')).body;
    for (const path of ['/api/v1/sop/templates', '/api/v1/sop/templates/{id}/dry-run', '/api/v1/sop/templates/{id}/monitor', '/api/v1/sop/tasks/{id}/snooze']) expect(doc.paths, path).to.have.property(path);
  });
});
