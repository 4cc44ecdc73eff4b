import { expect } from 'chai';
import { sql } from 'kysely';
import { bootApp, type TestApp } from '../../test/harness.js';
import { EVENTS } from '../platform/events.js';
import { recomputeFactTags } from '../tags/index.js';
import { advanceDueSteps, setEnrollmentStatus, type EngineDeps } from './engine.js';
import { setTemplateStatus } from './store.js';
import { CORP, customerWithContact, publish } from './testing.js';
import { handleSopEvent, runClock, SOP_JOBS } from './triggers.js';
import { wakeBranchesOnReply } from './jobs.js';

/**
 * The engine against a real database and app. Simulated time runs in March 2027, ahead of the
 * clock, so the app's own minute jobs never touch these journeys.
 */
const at = (iso: string) => new Date(iso);
const T0 = at('2027-03-02T10:00:00+08:00'); // a Tuesday

describe('the SOP engine', function () {
  this.timeout(60_000);
  let app: TestApp;
  let deps: EngineDeps;
  const wake = async () => {};
  const triggerDeps = () => ({ db: app.database.db, events: app.events, logger: app.logs ? deps.logger : deps.logger, wake });

  before(async () => {
    app = await bootApp();
    deps = { db: app.database.db, gate: app.gate, events: app.events, gateway: app.wecom.gateway, logger: (await import('../platform/logger.js')).createLogger({ level: 'silent' }) };
  });
  after(() => app.close());
  // Each test's templates stop listening when it ends, so one test's events enrol no one in another's journeys.
  afterEach(async () => {
    await db().updateTable('sop_templates').set({ status: 'archived' }).where('status', '!=', 'archived').execute();
  });

  const db = () => app.database.db;
  const enrollmentsOf = (templateId: string) => db().selectFrom('sop_enrollments').selectAll().where('template_id', '=', templateId).orderBy('started_at').execute();
  const stepsOf = (enrollmentId: string) => db().selectFrom('sop_step_runs').selectAll().where('enrollment_id', '=', enrollmentId).orderBy('created_at').orderBy('step_id').execute();
  const rowsFor = (externalUserid: string) => db().selectFrom('outbox').selectAll().where('recipient', '=', externalUserid).orderBy('created_at').execute();
  const added = (c: { externalUserid: string; userid: string }, state = 'card-LiNa') => ({ kind: 'contact_added' as const, corpId: CORP, externalUserid: c.externalUserid, memberUserid: c.userid, channel: state, key: `added:${c.externalUserid}` });

  const welcomeJourney = (key: string) => ({
    key, name: '测试欢迎旅程',
    trigger: { type: 'event', event: 'contact_added', channel: 'card-*' },
    steps: [
      { id: 'hello', type: 'send', text: '{称呼}您好，我是{客户经理}，很高兴为您服务。' },
      { id: 'mark', type: 'tag', add: ['旅程测试'] },
      { id: 'wait1', type: 'wait', duration: '1d', until: '10:00' },
      { id: 'day1', type: 'send', text: '{称呼}，这是我的名片，有需要随时找我。' },
      { id: 'replied', type: 'branch', on: 'reply', within: '2d', then: 'thanks', else: 'remind' },
      { id: 'thanks', type: 'send', purpose: 'service', text: '感谢您的回复，稍后为您详细介绍。', next: 'done' },
      { id: 'remind', type: 'notify', text: '客户{姓名}两天未回复，请电话跟进。' },
      { id: 'done', type: 'end' },
    ],
  });

  it('enrols a customer who adds a member through a card and sends the rendered welcome through the outbox', async () => {
    const { templateId } = await publish(db(), welcomeJourney('t-welcome-a'), T0);
    const c = await customerWithContact(db(), { name: '王建国', gender: 'M' });
    expect(await handleSopEvent(triggerDeps(), added(c), { type: 'system', id: 'test' }, T0)).to.equal(1);
    expect(await handleSopEvent(triggerDeps(), added(c), { type: 'system', id: 'test' }, T0), 'a replayed event enrols no one again').to.equal(0);
    await advanceDueSteps(deps, { now: T0 });
    const [enrollment] = await enrollmentsOf(templateId);
    expect(enrollment).to.include({ customer_id: c.id, member_userid: 'LiNa', status: 'active' });
    const steps = await stepsOf(enrollment!.id);
    expect(steps.map((s) => [s.step_id, s.status])).to.deep.equal([['hello', 'done'], ['mark', 'done'], ['wait1', 'waiting']]);
    expect(new Date(steps[2]!.run_at).toISOString()).to.equal('2027-03-03T02:00:00.000Z');
    const [row] = await rowsFor(c.externalUserid);
    expect(row).to.include({ channel: 'mass_single', sender: 'LiNa', status: 'pending', idempotency_key: `sop:${steps[0]!.id}`, ref_type: 'sop_step_run', cause_type: 'sop', cause_id: templateId });
    expect((row!.payload as { text: string }).text).to.equal('王先生您好，我是李娜，很高兴为您服务。');
    const tags = await db().selectFrom('customer_tags as ct').innerJoin('tags as t', 't.id', 'ct.tag_id').select(['t.name', 'ct.source']).where('ct.customer_id', '=', c.id).execute();
    expect(tags).to.deep.include({ name: '旅程测试', source: 'sop' });
  });

  it('takes the reply branch when the customer writes back within the window', async () => {
    const { templateId } = await publish(db(), welcomeJourney('t-welcome-b'), T0);
    const c = await customerWithContact(db());
    await handleSopEvent(triggerDeps(), added(c), { type: 'system', id: 'test' }, T0);
    await advanceDueSteps(deps, { now: T0 });
    const day1 = at('2027-03-03T10:00:01+08:00');
    await advanceDueSteps(deps, { now: day1 });
    await db().insertInto('timeline_events').values({ customer_id: c.id, corp_id: CORP, external_userid: c.externalUserid, kind: 'message_in', summary: '发来消息：好的', detail: '{}', cause_type: 'customer', cause_id: c.externalUserid, at: at('2027-03-03T15:00:00+08:00') }).execute();
    expect(await wakeBranchesOnReply(db(), CORP, c.externalUserid, at('2027-03-03T15:00:01+08:00'))).to.equal(1);
    await advanceDueSteps(deps, { now: at('2027-03-03T15:00:05+08:00') });
    const [enrollment] = await enrollmentsOf(templateId);
    expect(enrollment!.status).to.equal('completed');
    expect((await stepsOf(enrollment!.id)).map((s) => s.step_id)).to.deep.equal(['hello', 'mark', 'wait1', 'day1', 'replied', 'thanks', 'done']);
  });

  it('reminds the member when no reply comes by the branch deadline', async () => {
    const { templateId } = await publish(db(), welcomeJourney('t-welcome-c'), T0);
    const c = await customerWithContact(db(), { name: '李秀英', gender: 'F' });
    await handleSopEvent(triggerDeps(), added(c), { type: 'system', id: 'test' }, T0);
    await advanceDueSteps(deps, { now: T0 });
    await advanceDueSteps(deps, { now: at('2027-03-03T10:00:01+08:00') });
    await advanceDueSteps(deps, { now: at('2027-03-04T10:00:00+08:00') });
    const [waiting] = await enrollmentsOf(templateId);
    expect((await stepsOf(waiting!.id)).at(-1)).to.include({ step_id: 'replied', status: 'waiting' });
    await advanceDueSteps(deps, { now: at('2027-03-05T10:00:02+08:00') });
    const [enrollment] = await enrollmentsOf(templateId);
    expect(enrollment!.status).to.equal('completed');
    const steps = await stepsOf(enrollment!.id);
    expect(steps.map((s) => s.step_id)).to.deep.equal(['hello', 'mark', 'wait1', 'day1', 'replied', 'remind', 'done']);
    const alert = await db().selectFrom('outbox').selectAll().where('idempotency_key', '=', `sop:${steps[5]!.id}:LiNa`).executeTakeFirstOrThrow();
    expect(alert).to.include({ channel: 'app_message', recipient: 'LiNa', purpose: 'service' });
    expect((alert.payload as { text: string }).text).to.equal('客户李秀英两天未回复，请电话跟进。');
  });

  it('moves a wait that would end in quiet hours to the morning after', async () => {
    const { templateId } = await publish(db(), { key: 't-quiet', name: '免打扰测试', trigger: { type: 'event', event: 'contact_added' }, steps: [{ id: 'w', type: 'wait', duration: '2h' }, { id: 's', type: 'send', text: '早上好' }] }, T0);
    const c = await customerWithContact(db());
    const evening = at('2027-03-02T20:00:00+08:00');
    await handleSopEvent(triggerDeps(), added(c, 'qr-x'), { type: 'system', id: 'test' }, evening);
    await advanceDueSteps(deps, { now: evening });
    const [enrollment] = await enrollmentsOf(templateId);
    const [wait] = await stepsOf(enrollment!.id);
    expect(wait).to.include({ status: 'waiting' });
    expect(new Date(wait!.run_at).toISOString()).to.equal(at('2027-03-03T08:00:00+08:00').toISOString());
    await advanceDueSteps(deps, { now: at('2027-03-02T23:00:00+08:00') });
    expect((await rowsFor(c.externalUserid)).length, 'nothing is sent during the night').to.equal(0);
    await advanceDueSteps(deps, { now: at('2027-03-03T08:00:00+08:00') });
    expect((await rowsFor(c.externalUserid)).length).to.equal(1);
  });

  it('enrols contacts not yet linked to a bank customer, addressing them by the name and gender WeCom gives', async () => {
    const { templateId } = await publish(db(), { key: 't-contact', name: '未关联客户', trigger: { type: 'event', event: 'contact_added' }, steps: [{ id: 's', type: 'send', purpose: 'service', text: '{称呼}您好' }, { id: 't', type: 'tag', add: ['x'] }] }, T0);
    await db().insertInto('external_contacts').values({ corp_id: CORP, external_userid: 'wmUnlinked1', name: '周敏', gender: 2, unionid: null, avatar: null, customer_id: null }).execute();
    await db().insertInto('follow_relations').values({ corp_id: CORP, userid: 'ZhaoMin', external_userid: 'wmUnlinked1', remark: null, description: null, remark_mobiles: [], add_way: 1, state: null, added_at: T0, deleted_at: null, deleted_by: null }).execute();
    await handleSopEvent(triggerDeps(), { kind: 'contact_added', corpId: CORP, externalUserid: 'wmUnlinked1', memberUserid: 'ZhaoMin', key: 'k-unlinked' }, { type: 'system', id: 'test' }, T0);
    await advanceDueSteps(deps, { now: T0 });
    const [enrollment] = await enrollmentsOf(templateId);
    expect(enrollment).to.include({ customer_id: null, external_userid: 'wmUnlinked1', status: 'completed' });
    expect(((await rowsFor('wmUnlinked1'))[0]!.payload as { text: string }).text).to.equal('周女士您好');
    expect((await stepsOf(enrollment!.id))[1]).to.include({ status: 'skipped', error: '企微客户尚未关联银行客户，无法打标签' });
  });

  it('carries on as the bank customer once the contact it enrolled is linked to one', async () => {
    const { templateId } = await publish(db(), { key: 't-linked-later', name: '入组后关联', trigger: { type: 'event', event: 'contact_added' }, steps: [{ id: 't', type: 'tag', add: ['入组后关联'] }, { id: 's', type: 'send', purpose: 'service', text: '{称呼}您好，我是{网点}的{客户经理}。' }] }, T0);
    const c = await customerWithContact(db(), { name: '钱海', gender: 'M' });
    // The add event is handled before the contact is linked (linking is another handler of the same event).
    await db().updateTable('external_contacts').set({ customer_id: null }).where('external_userid', '=', c.externalUserid).execute();
    await handleSopEvent(triggerDeps(), added(c), { type: 'system', id: 'test' }, T0);
    expect((await enrollmentsOf(templateId))[0]!.customer_id).to.equal(null);
    await db().updateTable('external_contacts').set({ customer_id: c.id }).where('external_userid', '=', c.externalUserid).execute();
    await advanceDueSteps(deps, { now: T0 });
    const [enrollment] = await enrollmentsOf(templateId);
    expect(enrollment).to.include({ customer_id: c.id, status: 'completed' });
    expect((await stepsOf(enrollment!.id)).map((s) => [s.step_id, s.status])).to.deep.equal([['t', 'done'], ['s', 'done']]);
    expect(((await rowsFor(c.externalUserid))[0]!.payload as { text: string }).text).to.equal('钱先生您好，我是星河银行杭州西湖支行的李娜。');
  });

  it('fails a step whose message lacks a variable, saying which, and sends nothing', async () => {
    const { templateId } = await publish(db(), { key: 't-missing', name: '缺变量', trigger: { type: 'event', event: 'contact_added' }, steps: [{ id: 's', type: 'send', text: '您的{产品名称}将于{到期日}到期' }] }, T0);
    const c = await customerWithContact(db());
    await handleSopEvent(triggerDeps(), added(c), { type: 'system', id: 'test' }, T0);
    await advanceDueSteps(deps, { now: T0 });
    const [enrollment] = await enrollmentsOf(templateId);
    expect(enrollment!.status).to.equal('failed');
    expect(enrollment!.exit_reason).to.equal('s：缺少变量：{产品名称}、{到期日}');
    expect(await rowsFor(c.externalUserid)).to.have.length(0);
  });

  it('stops a journey whose message the compliance gate blocks, keeping the blocked row as evidence', async () => {
    const { templateId } = await publish(db(), { key: 't-blocked', name: '违规', trigger: { type: 'event', event: 'contact_added' }, steps: [{ id: 's', type: 'send', text: '这款理财保本保息，稳赚不赔' }] }, T0);
    const c = await customerWithContact(db());
    await handleSopEvent(triggerDeps(), added(c), { type: 'system', id: 'test' }, T0);
    await advanceDueSteps(deps, { now: T0 });
    const [enrollment] = await enrollmentsOf(templateId);
    expect(enrollment!.status).to.equal('failed');
    expect(enrollment!.exit_reason).to.contain('合规拦截');
    expect((await rowsFor(c.externalUserid))[0]).to.include({ status: 'blocked', verdict: 'block' });
  });

  describe('exit conditions', () => {
    const journey = (key: string, exit: Record<string, unknown> = {}) => ({
      key, name: '退出测试', trigger: { type: 'event', event: 'contact_added' }, exit,
      steps: [{ id: 'w', type: 'wait', duration: '1d' }, { id: 's', type: 'send', text: '第二天的消息' }],
    });
    const start = async (key: string, exit?: Record<string, unknown>) => {
      const { templateId } = await publish(db(), journey(key, exit), T0);
      const c = await customerWithContact(db());
      await handleSopEvent(triggerDeps(), added(c), { type: 'system', id: 'test' }, T0);
      await advanceDueSteps(deps, { now: T0 });
      return { templateId, c };
    };
    const later = at('2027-03-03T10:00:01+08:00');

    it('ends the journey when the customer deletes the member', async () => {
      const { templateId, c } = await start('t-exit-deleted');
      await db().updateTable('follow_relations').set({ deleted_at: T0, deleted_by: 'customer' }).where('external_userid', '=', c.externalUserid).execute();
      await advanceDueSteps(deps, { now: later });
      const [e] = await enrollmentsOf(templateId);
      expect(e).to.include({ status: 'exited', exit_reason: '客户与客户经理已不是好友' });
      expect(await rowsFor(c.externalUserid)).to.have.length(0);
    });

    it('ends the journey at once when WeCom reports the deletion', async () => {
      const { templateId, c } = await start('t-exit-event');
      app.events.publish(EVENTS.contactDeletedByCustomer, { corpId: CORP, userid: c.userid, externalUserid: c.externalUserid }, { type: 'customer', id: c.externalUserid });
      await app.events.settled();
      const [e] = await enrollmentsOf(templateId);
      expect(e!.status).to.equal('exited');
      expect((await stepsOf(e!.id))[0]!.status).to.equal('cancelled');
    });

    it('ends the journey when the customer withdraws marketing consent', async () => {
      const { templateId, c } = await start('t-exit-consent');
      await db().updateTable('customers').set({ marketing_consent: false }).where('id', '=', c.id).execute();
      await advanceDueSteps(deps, { now: later });
      expect((await enrollmentsOf(templateId))[0]).to.include({ status: 'exited', exit_reason: '客户已退订营销信息' });
    });

    it('completes the journey as converted when the goal filter starts to hold', async () => {
      const { templateId, c } = await start('t-exit-converted', { converted: { field: 'aum', op: 'gte', value: 1_000_000 } });
      await db().updateTable('customers').set({ aum: 1_200_000 }).where('id', '=', c.id).execute();
      await advanceDueSteps(deps, { now: later });
      expect((await enrollmentsOf(templateId))[0]).to.include({ status: 'completed', exit_reason: '已达成旅程目标（转化）' });
    });

    it('leaves a journey when the customer joins one its exit names', async () => {
      const { templateId, c } = await start('t-exit-joined', { joined: ['t-joined-target'] });
      const { templateId: other } = await publish(db(), { key: 't-joined-target', name: '另一旅程', trigger: { type: 'event', event: 'card_visited' }, steps: [{ id: 'e', type: 'end' }] }, T0);
      await handleSopEvent(triggerDeps(), { kind: 'card_visited', corpId: CORP, externalUserid: c.externalUserid, memberUserid: c.userid, key: `card:${c.id}` }, { type: 'customer', id: c.externalUserid }, T0);
      expect((await enrollmentsOf(other)).length).to.equal(1);
      expect((await enrollmentsOf(templateId))[0]).to.include({ status: 'exited', exit_reason: '加入了旅程 另一旅程' });
    });
  });

  describe('timed triggers', () => {
    it('fires a birthday journey at 09:00 on the day, once, including on a catch-up after downtime', async () => {
      const { templateId } = await publish(db(), { key: 't-birthday', name: '生日', trigger: { type: 'date', date: 'birthday', at: '09:00' }, exit: { unsubscribed: false }, steps: [{ id: 's', type: 'send', purpose: 'service', text: '{称呼}，祝您{生日}生日快乐！' }] }, at('2027-03-01T12:00:00+08:00'));
      const today = await customerWithContact(db(), { name: '陈立', birthDate: '1980-03-02' });
      await customerWithContact(db(), { name: '赵云', birthDate: '1980-03-03' });
      expect(await runClock(triggerDeps(), at('2027-03-02T08:59:00+08:00'))).to.equal(0);
      // The worker was down from 08:59 to 11:00: the 09:00 firing is caught up once.
      expect(await runClock(triggerDeps(), at('2027-03-02T11:00:00+08:00'))).to.equal(1);
      expect(await runClock(triggerDeps(), at('2027-03-02T11:01:00+08:00'))).to.equal(0);
      const [e] = await enrollmentsOf(templateId);
      expect(e).to.include({ customer_id: today.id, occurrence: '2027-03-02' });
      await advanceDueSteps(deps, { now: at('2027-03-02T11:00:00+08:00') });
      expect(((await rowsFor(today.externalUserid))[0]!.payload as { text: string }).text).to.equal('陈先生，祝您3月2日生日快乐！');
    });

    it('reminds of a maturing product seven days and one day before, naming the product and date', async () => {
      const { templateId } = await publish(db(), {
        key: 't-maturity', name: '到期', trigger: { type: 'date', date: 'product_maturity', daysBefore: 7, at: '09:30' },
        steps: [
          { id: 'd7', type: 'send', purpose: 'service', text: '{称呼}，您持有的{产品名称}将于{到期日}到期。' },
          { id: 'w', type: 'wait', duration: '6d' },
          { id: 'd1', type: 'send', purpose: 'service', text: '{称呼}，{产品名称}明天到期。' },
        ],
      }, at('2027-03-01T00:00:00+08:00'));
      const c = await customerWithContact(db(), { name: '孙丽', gender: 'F', products: ['p-dep-fix-1y'], attrs: { maturities: [{ productId: 'p-dep-fix-1y', date: '2027-03-09' }, { productId: 'p-dep-lcd-3y', date: '2027-05-01' }] } });
      expect(await runClock(triggerDeps(), at('2027-03-02T09:31:00+08:00'))).to.equal(1);
      const [e] = await enrollmentsOf(templateId);
      expect(e!.occurrence).to.equal('p-dep-fix-1y:2027-03-09');
      await advanceDueSteps(deps, { now: at('2027-03-02T09:31:00+08:00') });
      await advanceDueSteps(deps, { now: at('2027-03-08T09:31:00+08:00') });
      const texts = (await rowsFor(c.externalUserid)).map((r) => (r.payload as { text: string }).text);
      expect(texts).to.deep.equal(['孙女士，您持有的星河整存整取定期存款（1年期）将于2027年3月9日到期。', '孙女士，星河整存整取定期存款（1年期）明天到期。']);
    });

    it('selects risk assessments about to expire, customers without contact for N days and payday', async () => {
      const base = { exit: { unsubscribed: false }, steps: [{ id: 'e', type: 'end' }] };
      const risk = await publish(db(), { ...base, key: 't-risk', name: '测评', trigger: { type: 'date', date: 'risk_assessment_expiry', daysBefore: 15 } }, at('2027-03-01T00:00:00+08:00'));
      const quiet = await publish(db(), { ...base, key: 't-quiet90', name: '沉睡', trigger: { type: 'date', date: 'no_contact', days: 90 } }, at('2027-03-01T00:00:00+08:00'));
      const pay = await publish(db(), { ...base, key: 't-payday', name: '代发', trigger: { type: 'date', date: 'payday', dayOfMonth: 2 }, audience: { field: 'segments', op: 'has_any', value: ['代发'] } }, at('2027-03-01T00:00:00+08:00'));
      // Assessed 2026-03-17: valid 365 days, to 2027-03-17, which is 15 days after 2027-03-02.
      const expiring = await customerWithContact(db(), { riskAssessedAt: '2026-03-17' });
      const dormant = await customerWithContact(db(), { addedAt: at('2026-12-02T12:00:00+08:00') });
      const payroll = await customerWithContact(db(), { segments: ['代发'] });
      await runClock(triggerDeps(), at('2027-03-02T09:00:01+08:00'));
      const ids = async (t: string) => (await enrollmentsOf(t)).map((e) => e.customer_id);
      expect(await ids(risk.templateId)).to.deep.equal([expiring.id]);
      expect(await ids(quiet.templateId)).to.include(dormant.id);
      expect(await ids(pay.templateId)).to.deep.equal([payroll.id]);
    });

    it('starts a tag_added journey within a minute of the nightly fact run tagging a customer, once, and never for a tag an SOP assigned', async () => {
      const { templateId } = await publish(db(), { key: 't-fact-tag', name: '临近退休', trigger: { type: 'event', event: 'tag_added', tag: '客户属性:临近退休' }, steps: [{ id: 'e', type: 'end' }] }, at('2027-03-01T12:00:00+08:00'));
      const c = await customerWithContact(db(), { segments: ['临近退休'] });
      const bySop = await customerWithContact(db(), { segments: [] });
      // Fact tags raise no event: the clock finds the assignment.
      await recomputeFactTags(db(), { now: at('2027-03-02T02:30:00+08:00'), customerIds: [c.id] });
      const tag = await db().selectFrom('tags as t').innerJoin('tag_groups as g', 'g.id', 't.group_id').select('t.id').where('g.name', '=', '客户属性').where('t.name', '=', '临近退休').executeTakeFirstOrThrow();
      await db().insertInto('customer_tags').values({ customer_id: bySop.id, tag_id: tag.id, source: 'sop', cause: 'sop:other', assigned_at: at('2027-03-02T02:30:00+08:00') }).execute();
      expect(await runClock(triggerDeps(), at('2027-03-02T02:31:00+08:00'))).to.equal(1);
      expect(await runClock(triggerDeps(), at('2027-03-02T02:32:00+08:00')), 'looked at again, enrolled once').to.equal(0);
      expect((await enrollmentsOf(templateId)).map((e) => e.customer_id)).to.deep.equal([c.id]);
    });

    it('fires a cron schedule in its time zone for the audience', async () => {
      const { templateId } = await publish(db(), { key: 't-cron', name: '月度', trigger: { type: 'schedule', cron: '0 10 2 * *' }, audience: { field: 'name', op: 'eq', value: '定时客户' }, steps: [{ id: 'e', type: 'end' }] }, at('2027-03-01T00:00:00+08:00'));
      const c = await customerWithContact(db(), { name: '定时客户' });
      expect(await runClock(triggerDeps(), at('2027-03-02T09:59:00+08:00'))).to.equal(0);
      expect(await runClock(triggerDeps(), at('2027-03-02T10:00:30+08:00'))).to.equal(1);
      expect((await enrollmentsOf(templateId))[0]).to.include({ customer_id: c.id, occurrence: '2027-03-02T02:00:00.000Z' });
    });
  });

  it('holds every step of a paused template and of a paused enrollment, and cancels an enrollment', async () => {
    const { templateId } = await publish(db(), { key: 't-pause', name: '暂停', trigger: { type: 'event', event: 'contact_added' }, steps: [{ id: 'w', type: 'wait', duration: '1h' }, { id: 's', type: 'send', text: '一小时后' }] }, T0);
    const [a, b] = [await customerWithContact(db()), await customerWithContact(db())];
    for (const c of [a, b]) await handleSopEvent(triggerDeps(), added(c), { type: 'system', id: 'test' }, T0);
    await advanceDueSteps(deps, { now: T0 });
    await setTemplateStatus(db(), templateId, 'paused');
    await advanceDueSteps(deps, { now: at('2027-03-02T12:00:00+08:00') });
    expect([...(await rowsFor(a.externalUserid)), ...(await rowsFor(b.externalUserid))]).to.have.length(0);
    await setTemplateStatus(db(), templateId, 'active');
    const [ea, eb] = await enrollmentsOf(templateId);
    const first = ea!.customer_id === a.id ? ea! : eb!;
    const second = first === ea ? eb! : ea!;
    expect(await setEnrollmentStatus(db(), first.id, 'pause')).to.equal('paused');
    expect(await setEnrollmentStatus(db(), second.id, 'cancel')).to.equal('cancelled');
    await advanceDueSteps(deps, { now: at('2027-03-02T12:00:01+08:00') });
    expect(await rowsFor(a.externalUserid)).to.have.length(0);
    expect(await rowsFor(b.externalUserid)).to.have.length(0);
    expect(await setEnrollmentStatus(db(), first.id, 'resume')).to.equal('active');
    await advanceDueSteps(deps, { now: at('2027-03-02T12:00:02+08:00') });
    expect(await rowsFor(a.externalUserid)).to.have.length(1);
    expect((await stepsOf(second.id))[0]!.status).to.equal('cancelled');
  });

  it('never triggers on the effects of an SOP (the loop guard)', async () => {
    await publish(db(), { key: 't-loop', name: '标签触发', trigger: { type: 'event', event: 'tag_added', tag: 'tag-a' }, steps: [{ id: 'e', type: 'end' }] }, T0);
    const count = async () => Number((await sql<{ n: string }>`SELECT count(*) AS n FROM agenda_jobs WHERE name = ${SOP_JOBS.event}`.execute(db())).rows[0]!.n);
    const before = await count();
    app.events.publish(EVENTS.tagsChanged, { corpId: CORP, externalUserid: 'wmLoop', added: ['tag-a'], removed: [] }, { type: 'sop', id: 'some-template' });
    await app.events.settled();
    expect(await count(), 'an SOP-caused tag change enqueues nothing').to.equal(before);
    app.events.publish(EVENTS.tagsChanged, { corpId: CORP, externalUserid: 'wmLoop', added: ['tag-a'], removed: [] }, { type: 'member', id: 'LiNa' });
    await app.events.settled();
    expect(await count(), 'a member’s tag change is considered').to.equal(before + 1);
  });

  it('enqueues nothing for events no active template listens to', async () => {
    const count = async () => Number((await sql<{ n: string }>`SELECT count(*) AS n FROM agenda_jobs WHERE name = ${SOP_JOBS.event}`.execute(db())).rows[0]!.n);
    const before = await count();
    app.events.publish(EVENTS.customerUpdated, { customerId: '00000000-0000-0000-0000-000000000001', changed: { aum: { from: 1, to: 2 } } }, { type: 'system', id: 'import:x' });
    await app.events.settled();
    expect(await count()).to.equal(before);
  });
});
