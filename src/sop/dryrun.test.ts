import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { bootApp, type TestApp } from '../../test/harness.js';
import { createLogger } from '../platform/logger.js';
import { dryRun } from './dryrun.js';
import { advanceDueSteps, type EngineDeps } from './engine.js';
import { parseTemplate } from './load.js';
import { publish, customerWithContact } from './testing.js';
import { runClock } from './triggers.js';

const at = (iso: string) => new Date(iso);

describe('a dry run', function () {
  this.timeout(60_000);
  let app: TestApp;
  let deps: EngineDeps;
  before(async () => {
    app = await bootApp();
    deps = { db: app.database.db, gate: app.gate, events: app.events, gateway: app.wecom.gateway, logger: createLogger({ level: 'silent' }) };
  });
  after(() => app.close());
  const db = () => app.database.db;

  it('lists who would enrol on a day and what each would receive, and the real run sends exactly that', async () => {
    const template = parseTemplate(await readFile('templates/sop/wealth-maturity.yaml', 'utf8'), 'wealth-maturity.yaml');
    const taskStep = template.steps.find((s) => s.type === 'task');
    if (taskStep?.type !== 'task') throw new Error('the template has a task step');
    taskStep.title = `回访{称呼}：${taskStep.title}`;
    const maturing = (productId: string, date: string) => ({ maturities: [{ productId, date }] });
    const a = await customerWithContact(db(), { name: '钱海', gender: 'M', products: ['p-wm-fi-r2-180'], attrs: maturing('p-wm-fi-r2-180', '2027-04-09') });
    const b = await customerWithContact(db(), { name: '欧阳娜', gender: 'F', products: ['p-wm-mix-r3'], attrs: maturing('p-wm-mix-r3', '2027-04-09'), userid: 'ZhaoMin' });
    const noContact = await customerWithContact(db(), { name: '冯刚', products: ['p-wm-fi-r2-180'], attrs: maturing('p-wm-fi-r2-180', '2027-04-09'), contact: false });
    await customerWithContact(db(), { name: '不到期', products: ['p-wm-fi-r2-180'], attrs: maturing('p-wm-fi-r2-180', '2027-05-09') });
    await customerWithContact(db(), { name: '非理财', products: ['p-dep-fix-1y'], attrs: maturing('p-dep-fix-1y', '2027-04-09') });

    const preview = await dryRun(deps, template, '2027-04-02');
    expect(preview.total).to.equal(3);
    expect(preview.firings).to.deep.equal([at('2027-04-02T09:30:00+08:00').toISOString()]);
    const byCustomer = new Map(preview.customers.map((c) => [c.customerId, c]));
    expect([...byCustomer.keys()].sort()).to.deep.equal([a.id, b.id, noContact.id].sort());
    const sendsOf = (id: string) => byCustomer.get(id)!.steps.filter((s) => s.kind === 'send' && s.text);
    expect(sendsOf(a.id).map((s) => s.at)).to.deep.equal([at('2027-04-02T09:30:00+08:00').toISOString(), at('2027-04-08T10:00:00+08:00').toISOString()]);
    expect(sendsOf(a.id)[0]!.text).to.match(/^钱先生您好，您持有的星河恒享固收增强180天持有期理财将于2027年4月9日到期/);
    expect(sendsOf(b.id)[0]!.text).to.match(/^欧阳女士您好/);
    expect(sendsOf(a.id).every((s) => s.verdict !== 'block')).to.equal(true);
    expect(sendsOf(noContact.id), 'a customer without a WeCom relation receives nothing').to.have.length(0);
    expect(await db().selectFrom('outbox').select('id').execute(), 'a dry run writes nothing').to.have.length(0);
    expect(await db().selectFrom('sop_enrollments').select('id').execute()).to.have.length(0);

    // The real run on that day.
    const { templateId } = await publish(db(), template, at('2027-04-01T00:00:00+08:00'));
    await runClock({ db: db(), logger: deps.logger, wake: async () => {} }, at('2027-04-02T09:30:01+08:00'));
    for (const moment of ['2027-04-02T09:30:01+08:00', '2027-04-08T10:00:01+08:00']) await advanceDueSteps(deps, { now: at(moment) });
    const enrolled = await db().selectFrom('sop_enrollments').select('customer_id').where('template_id', '=', templateId).execute();
    expect(enrolled.map((e) => e.customer_id).sort()).to.deep.equal([a.id, b.id, noContact.id].sort());
    for (const c of [a, b]) {
      const rows = await db().selectFrom('outbox').select(['payload', 'not_before', 'sender']).where('recipient', '=', c.externalUserid).orderBy('created_at').execute();
      expect(rows.map((r) => (r.payload as { text: string }).text), `what ${c.externalUserid} receives`).to.deep.equal(sendsOf(c.id).map((s) => s.text));
      expect(rows.every((r) => r.sender === c.userid)).to.equal(true);
    }
    const tasks = await db().selectFrom('sop_tasks').select(['member_userid', 'title']).execute();
    expect(tasks.map((t) => t.member_userid).sort()).to.deep.equal(['LiNa', 'ZhaoMin']);
    // Task titles are rendered with the customer's variables in the preview as in the real run.
    for (const c of [a, b]) {
      const task = tasks.find((t) => t.member_userid === c.userid)!;
      const planned = byCustomer.get(c.id)!.steps.find((s) => s.kind === 'task')!;
      expect(task.title).to.match(/^回访.+(先生|女士)：/);
      expect(planned.action).to.contain(`创建任务「${task.title}」`);
    }
    expect(byCustomer.get(noContact.id)!.steps.find((s) => s.kind === 'task')?.action ?? '').to.not.match(/\{/);
  });

  it('is available from the API to operations staff, with names masked, for a template not yet published', async () => {
    const client = await app.client().login('ops');
    const created = await client.post('/api/v1/sop/templates', { source: await readFile('templates/sop/birthday-care.yaml', 'utf8'), format: 'yaml' });
    expect(created.status).to.equal(201);
    await customerWithContact(db(), { name: '生日星', birthDate: '1988-06-01' });
    const response = await client.post(`/api/v1/sop/templates/${created.body.id}/dry-run`, { date: '2027-06-01', draft: true });
    expect(response.status).to.equal(200);
    const entry = response.body.customers.find((c: { name: string }) => c.name === '生**');
    expect(entry, JSON.stringify(response.body)).to.not.equal(undefined);
    expect(entry.steps[0].text).to.match(/^生先生，生日快乐！今天是6月1日/);
    const bad = await client.post(`/api/v1/sop/templates/${created.body.id}/dry-run`, { date: '2027-13-01' });
    expect(bad.status).to.equal(400);
    expect(bad.body.error.issues[0].path).to.equal('body.date');
  });
});
