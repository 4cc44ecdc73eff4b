import { expect } from 'chai';
import { bootApp, testCipher, type TestApp } from '../../test/harness.js';
import { settled, until } from '../../test/wecom.js';
import { OutboxDispatcher, syncSendResults } from '../outbox/index.js';
import { createLogger } from '../platform/logger.js';
import { getSetting } from '../settings/index.js';
import { recomputeFactTags } from '../tags/index.js';
import type { SopTemplate } from './definition.js';
import { dryRun } from './dryrun.js';
import { advanceDueSteps, type EngineDeps } from './engine.js';
import { wakeBranchesOnReply } from './jobs.js';
import { loadTemplateDir } from './load.js';
import { addDays, atLocalTime, dateInZone } from './schedule.js';
import { setTemplateStatus } from './store.js';
import { CORP, publish } from './testing.js';
import { runClock } from './triggers.js';

/**
 * The shipped templates (templates/sop), each read from its file and published, run for customers who
 * are bank customers and real contacts in the sandbox world (a scan of the member's card, linked by the
 * remark mobile), through to what the sandbox customer received. Time is driven by hand: the clock and
 * the engine at each moment the template's waits land on, the outbox dispatcher at the same moment, and
 * the member confirming WeCom's mass-send tasks. Every moment driven lies days or months ahead of the
 * wall clock (the timed journeys in 2027), so the app's own minute jobs never touch these journeys; only
 * the welcome journey's start runs on the app's jobs, from the scan.
 */
const at = (iso: string) => new Date(iso);
const logger = createLogger({ level: 'silent' });
const cipher = testCipher();

interface CustomerInput {
  name: string;
  gender: 'M' | 'F';
  birthDate?: string;
  branchId?: string;
  aum?: number;
  riskLevel?: 'R1' | 'R2' | 'R3' | 'R4' | 'R5';
  riskAssessedAt?: string | null;
  products?: string[];
  segments?: string[];
  consent?: boolean;
  lastTxnAt?: Date | null;
  attrs?: Record<string, unknown>;
}

interface Contact {
  id: string;
  name: string;
  mobile: string;
  externalUserid: string;
  userid: string;
}

describe('the shipped SOP journeys, against the sandbox', function () {
  this.timeout(60_000);
  let app: TestApp;
  let deps: EngineDeps;
  let templates: Map<string, SopTemplate>;
  const published: string[] = [];
  const db = () => app.database.db;
  const control = () => app.wecom.sandbox!.control;
  const triggerDeps = () => ({ db: db(), events: app.events, logger, wake: async () => {} });

  before(async () => {
    app = await bootApp();
    // The test drives the dispatcher itself, at simulated moments.
    await app.outbox?.stop();
    deps = { db: app.database.db, gate: app.gate, events: app.events, gateway: app.wecom.gateway, logger };
    templates = new Map((await loadTemplateDir('templates/sop')).map((f) => [f.template.key, f.template]));
  });
  after(() => app.close());
  // Each test's journey stops when it ends (its open enrollments are cancelled), so journeys never cross.
  afterEach(async () => {
    for (const id of published.splice(0)) await setTemplateStatus(db(), id, 'archived');
  });

  /** The file's template, published at `now` (a timed trigger fires only after it). */
  async function publishFile(key: string, now = new Date()): Promise<{ templateId: string; template: SopTemplate }> {
    const template = templates.get(key);
    expect(template, `templates/sop has ${key}`).to.not.equal(undefined);
    const { templateId } = await publish(db(), template, now);
    published.push(templateId);
    return { templateId, template: template! };
  }

  let seq = 0;
  /** A bank customer with a mobile (encrypted, with its lookup hash), as an import writes one. */
  async function bankCustomer(c: CustomerInput): Promise<{ id: string; name: string; mobile: string; gender: 'M' | 'F' }> {
    const n = ++seq;
    const mobile = `1380${String(process.pid % 1000).padStart(3, '0')}${String(n).padStart(4, '0')}`;
    const row = await db()
      .insertInto('customers')
      .values({
        cif_no: `JRN-${process.pid}-${n}`,
        name: c.name,
        gender: c.gender,
        mobile_enc: cipher.encrypt(mobile),
        mobile_hash: cipher.lookupHash('mobile', mobile),
        birth_date: c.birthDate ?? '1980-01-15',
        branch_id: c.branchId ?? 'br-hz-xihu',
        aum: c.aum ?? 200_000,
        risk_level: c.riskLevel ?? 'R3',
        risk_assessed_at: c.riskAssessedAt === undefined ? '2027-01-10' : c.riskAssessedAt,
        products: c.products ?? [],
        segments: c.segments ?? [],
        last_txn_at: c.lastTxnAt ?? null,
        marketing_consent: c.consent ?? true,
        attrs: JSON.stringify(c.attrs ?? {}),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { id: row.id, name: c.name, mobile, gender: c.gender };
  }

  /**
   * Bank customers who scan the member's card in WeCom: the sandbox makes them contacts and calls the
   * app back (add_external_contact); the app records the contact and the relation and links each to
   * their customer record by the mobile the member noted.
   */
  async function scannedCustomers(list: CustomerInput[], userid = 'LiNa'): Promise<Contact[]> {
    const customers = await Promise.all(list.map((c) => bankCustomer(c)));
    const contacts = customers.map((c) => {
      const scan = control().scanQr({ state: `card-${userid}`, customer: { name: c.name, mobile: c.mobile, gender: c.gender === 'M' ? 1 : 2 } });
      return { id: c.id, name: c.name, mobile: c.mobile, externalUserid: scan.externalUserid, userid };
    });
    await settled(app);
    for (const c of contacts) {
      const linked = await db().selectFrom('external_contacts').select('customer_id').where('corp_id', '=', CORP).where('external_userid', '=', c.externalUserid).executeTakeFirst();
      expect(linked?.customer_id, `${c.name} linked by mobile`).to.equal(c.id);
    }
    return contacts;
  }

  /**
   * The outbox dispatcher at `now` hands due rows to WeCom; the members confirm every task WeCom shows
   * them; the result sync reads what each recipient got. Every customer here stays within WeCom's
   * receiving quota (4 mass messages a month), so every task reaches everyone it names.
   */
  async function deliverAt(now: Date): Promise<void> {
    await new OutboxDispatcher({ db: db(), gateway: app.wecom.gateway, logger, now: () => now }).drainOnce();
    // One WeCom task per row here; the dispatcher creates them concurrently, so the member confirms them
    // in the order the journeys queued them (two sends at one moment reach the customer in step order).
    const handed = await db().selectFrom('outbox').select(['id', 'msgid']).where('delivery', '=', 'awaiting').where('msgid', 'is not', null).orderBy('created_at').execute();
    for (const msgid of new Set(handed.map((r) => r.msgid!))) control().confirmMassSend({ msgid });
    await syncSendResults({ db: db(), gateway: app.wecom.gateway, logger });
    if (!handed.length) return;
    const results = await db().selectFrom('outbox').select(['recipient', 'delivery']).where('id', 'in', handed.map((r) => r.id)).execute();
    expect(results.filter((r) => r.delivery !== 'delivered'), 'rows WeCom did not deliver').to.deep.equal([]);
  }

  /** What WeCom delivered to a customer (or a group, or a member), oldest first. */
  const received = (to: string, kind?: 'welcome' | 'mass' | 'app') =>
    control()
      .received({ to, ...(kind ? { kind } : {}) })
      .map((r) => (r.content.text as { content: string } | undefined)?.content ?? '');

  const enrollmentsOf = (templateId: string) => db().selectFrom('sop_enrollments').selectAll().where('template_id', '=', templateId).orderBy('started_at').execute();
  const enrollmentOf = async (templateId: string, customerId: string) => {
    const found = (await enrollmentsOf(templateId)).filter((e) => e.customer_id === customerId);
    expect(found, 'one enrollment').to.have.length(1);
    return found[0]!;
  };
  const pathOf = async (enrollmentId: string) =>
    (await db().selectFrom('sop_step_runs').select(['step_id', 'status']).where('enrollment_id', '=', enrollmentId).orderBy('created_at').orderBy('id').execute()).map((s) => `${s.step_id}:${s.status}`);
  const rowsTo = (recipient: string) => db().selectFrom('outbox').selectAll().where('recipient', '=', recipient).orderBy('created_at').execute();
  const tasksOf = (customerId: string) => db().selectFrom('sop_tasks').selectAll().where('customer_id', '=', customerId).orderBy('created_at').execute();
  const tagsOf = async (customerId: string) =>
    (await db().selectFrom('customer_tags as ct').innerJoin('tags as t', 't.id', 'ct.tag_id').select('t.name').where('ct.customer_id', '=', customerId).where('ct.source', '=', 'sop').execute()).map((t) => t.name).sort();
  /** The texts a dry run says a customer would receive. */
  const dryTexts = (preview: Awaited<ReturnType<typeof dryRun>>, customerId: string) =>
    preview.customers.find((c) => c.customerId === customerId)?.steps.filter((s) => s.kind === 'send' && s.text).map((s) => s.text!) ?? [];
  const localTime = (d: Date) => new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit', hour12: false }).format(d);

  it('tests a journey for every template file in templates/sop', () => {
    expect([...templates.keys()].sort()).to.deep.equal(
      ['birthday-care', 'dormant-wakeup', 'new-customer-7d', 'payroll-day-benefits', 'pre-retirement-planning', 'risk-assessment-expiry', 'wealth-maturity'],
    );
  });

  it('new-customer-7d: a customer who scans the card is welcomed, introduced the next morning, asked their needs on day 3, and the member reminded when no reply comes', async () => {
    const { templateId } = await publishFile('new-customer-7d');
    const customer = await bankCustomer({ name: '周敏', gender: 'F' });
    // The real path: scan → add_external_contact → contact.added → sop.event job → enrollment.
    const scan = control().scanQr({ state: 'card-LiNa', customer: { name: customer.name, mobile: customer.mobile, gender: 2 } });
    await settled(app);
    const enrollment = await until(async () => (await enrollmentsOf(templateId))[0], 20_000, 'the add event to enrol the customer');
    expect(enrollment).to.include({ external_userid: scan.externalUserid, member_userid: 'LiNa', corp_id: CORP });
    // The first steps run at once, on the app's own engine job: the tag, then the wait to the next morning.
    const day1Wait = await until(
      async () => (await db().selectFrom('sop_step_runs').selectAll().where('enrollment_id', '=', enrollment.id).where('step_id', '=', 'day-1').where('status', '=', 'waiting').executeTakeFirst()),
      20_000,
      'the first wait',
    );
    expect(await tagsOf(customer.id)).to.deep.equal(['新客旅程']);
    const start = new Date(enrollment.started_at);
    const day1 = new Date(day1Wait.run_at);
    expect(localTime(day1)).to.equal('10:00');
    expect(day1.getTime() - start.getTime()).to.be.within(12 * 3_600_000, 36 * 3_600_000);

    await advanceDueSteps(deps, { now: day1 });
    await deliverAt(day1);
    const day3 = new Date(day1.getTime() + 2 * 86_400_000); // 36h from 10:00 is 22:00 the next day; on to 10:00
    await advanceDueSteps(deps, { now: day3 });
    await deliverAt(day3);
    expect(await pathOf(enrollment.id)).to.deep.equal(['mark:done', 'day-1:done', 'card:done', 'day-3:done', 'ask-needs:done', 'replied:waiting']);

    const deadline = new Date(day3.getTime() + 4 * 86_400_000);
    await advanceDueSteps(deps, { now: new Date(deadline.getTime() - 1000) });
    expect((await pathOf(enrollment.id)).at(-1), 'still waiting for a reply').to.equal('replied:waiting');
    await advanceDueSteps(deps, { now: deadline });
    await deliverAt(deadline);

    expect(await pathOf(enrollment.id)).to.deep.equal(['mark:done', 'day-1:done', 'card:done', 'day-3:done', 'ask-needs:done', 'replied:done', 'remind-manager:done', 'done:done']);
    expect((await enrollmentsOf(templateId))[0]).to.include({ status: 'completed', customer_id: customer.id });
    const welcome = (await getSetting(db(), 'wecom.welcomeText')).text.replaceAll('{客户经理}', '李娜');
    expect(control().received({ to: scan.externalUserid }).map((r) => [r.kind, (r.content.text as { content: string }).content])).to.deep.equal([
      ['welcome', welcome],
      ['mass', '周女士您好，我是您在星河银行杭州西湖支行的客户经理李娜。\n点开我的企业微信头像即可查看我的名片，上面有网点地址、营业时间和我的联系方式。\n办理业务前可以先在这里留言，我帮您确认需要携带的材料，节省您的排队时间。'],
      ['mass', '周女士，打扰您一分钟：您目前比较关心哪方面的业务？回复数字即可。\n1 存款　2 理财　3 贷款　4 信用卡　5 其他\n我会按您的需要整理资料发给您。'],
    ]);
    expect(received('LiNa', 'app')).to.include('新客户周女士添加您已一周，尚未回复需求询问。建议通过电话或在网点见面时了解需求，并在侧边栏记录跟进结果。');
    expect((await rowsTo(scan.externalUserid)).filter((r) => r.channel === 'mass_single').map((r) => [r.status, r.delivery])).to.deep.equal([['sent', 'delivered'], ['sent', 'delivered']]);
  });

  it('birthday-care: at 09:00 on the birthday every contact is greeted, one who declined marketing too, and the member asked to call those with AUM of 500,000 or more', async () => {
    const { templateId, template } = await publishFile('birthday-care', at('2027-05-19T12:00:00+08:00'));
    const [rich, modest, declined] = await scannedCustomers([
      { name: '钱海', gender: 'M', birthDate: '1975-05-20', aum: 800_000 },
      { name: '孙丽', gender: 'F', birthDate: '1990-05-20', aum: 120_000 },
      { name: '欧阳娜', gender: 'F', birthDate: '1985-05-20', aum: 650_000, consent: false },
    ]);
    await bankCustomer({ name: '赵云', gender: 'M', birthDate: '1980-05-20' }); // not a WeCom contact: outside the audience
    const nine = at('2027-05-20T09:00:00+08:00');
    const preview = await dryRun(deps, template, '2027-05-20');
    expect(preview.firings).to.deep.equal([nine.toISOString()]);
    expect(preview.total).to.equal(3);

    expect(await runClock(triggerDeps(), at('2027-05-20T08:59:00+08:00'))).to.equal(0);
    expect(await runClock(triggerDeps(), nine)).to.equal(3);
    await advanceDueSteps(deps, { now: nine });
    await deliverAt(nine);

    const greeting = (salutation: string) =>
      `${salutation}，生日快乐！今天是5月20日，星河银行杭州西湖支行全体同事和我祝您身体健康、万事顺意。\n生日当月可在手机银行“我的-权益中心”领取生日礼遇，具体内容以当期活动规则为准。新的一岁有任何需要，随时在这里找我。\n——您的客户经理李娜`;
    for (const [c, salutation] of [[rich!, '钱先生'], [modest!, '孙女士'], [declined!, '欧阳女士']] as const) {
      expect(received(c.externalUserid, 'mass'), c.name).to.deep.equal([greeting(salutation)]);
      expect(dryTexts(preview, c.id), `${c.name}: the dry run said the same`).to.deep.equal([greeting(salutation)]);
      expect(await tagsOf(c.id)).to.deep.equal(['已送生日祝福']);
      expect((await enrollmentOf(templateId, c.id)).status).to.equal('completed');
    }
    expect(await pathOf((await enrollmentOf(templateId, modest!.id)).id)).to.deep.equal(['greeting:done', 'mark:done', 'call:skipped']);
    for (const c of [rich!, declined!]) {
      const tasks = await tasksOf(c.id);
      expect(tasks.map((t) => [t.kind, t.title, t.member_userid])).to.deep.equal([['todo', '致电客户送上生日问候', 'LiNa']]);
      expect(new Date(tasks[0]!.due_at!).toISOString()).to.equal(at('2027-05-20T17:00:00+08:00').toISOString());
    }
    expect(await tasksOf(modest!.id)).to.have.length(0);
  });

  it('wealth-maturity: seven days and one day before a wealth product matures the holder is told when the money returns, naming product and date, and the member gets a follow-up task', async () => {
    const { templateId, template } = await publishFile('wealth-maturity', at('2027-06-10T12:00:00+08:00'));
    const maturing = (productId: string) => ({ products: [productId], attrs: { maturities: [{ productId, date: '2027-06-18' }] } });
    const [holder, declined] = await scannedCustomers([
      { name: '郑伟', gender: 'M', ...maturing('p-wm-fi-r2-180') },
      { name: '王芳', gender: 'F', consent: false, ...maturing('p-wm-mix-r3') },
    ]);
    const [depositor] = await scannedCustomers([{ name: '冯刚', gender: 'M', ...maturing('p-dep-fix-1y') }]); // a deposit only: outside the audience
    const morning = at('2027-06-11T09:30:00+08:00');
    const dayBefore = at('2027-06-17T10:00:00+08:00'); // 09:30 plus six days, then on to 10:00
    const preview = await dryRun(deps, template, '2027-06-11');
    expect(preview.total).to.equal(2);
    expect(preview.customers.find((c) => c.customerId === holder!.id)!.steps.filter((s) => s.kind === 'send').map((s) => s.at)).to.deep.equal([morning.toISOString(), dayBefore.toISOString()]);

    expect(await runClock(triggerDeps(), morning)).to.equal(2);
    await advanceDueSteps(deps, { now: morning });
    await deliverAt(morning);
    await advanceDueSteps(deps, { now: new Date(dayBefore.getTime() - 1000) });
    expect(received(holder!.externalUserid, 'mass'), 'nothing before the second moment').to.have.length(1);
    await advanceDueSteps(deps, { now: dayBefore });
    await deliverAt(dayBefore);

    // The messages name a wealth product, so the compliance gate appends the required disclosure.
    const notices = (salutation: string, product: string) => [
      `${salutation}您好，您持有的${product}将于2027年6月18日到期，到期资金将按产品说明书约定的时间返回您的账户。\n如需提前安排这笔资金，欢迎随时联系我。——星河银行杭州西湖支行 李娜\n理财非存款、产品有风险、投资须谨慎。`,
      `${salutation}您好，您持有的${product}将于明天（2027年6月18日）到期。资金到账时间以产品说明书为准，到账后您可在手机银行查看。\n如有疑问请随时联系我。\n理财非存款、产品有风险、投资须谨慎。`,
    ];
    for (const [c, salutation, product] of [[holder!, '郑先生', '星河恒享固收增强180天持有期理财'], [declined!, '王女士', '星河睿选混合类理财（1年封闭）']] as const) {
      expect(received(c.externalUserid, 'mass'), c.name).to.deep.equal(notices(salutation, product));
      expect(dryTexts(preview, c.id)).to.deep.equal(notices(salutation, product));
      const e = await enrollmentOf(templateId, c.id);
      expect(e).to.include({ status: 'completed', occurrence: `${c === holder ? 'p-wm-fi-r2-180' : 'p-wm-mix-r3'}:2027-06-18` });
      const [task] = await tasksOf(c.id);
      expect(task).to.include({ title: '跟进客户到期资金安排', member_userid: 'LiNa' });
      expect(task!.body).to.equal(`客户持有的${product}将于明天（2027年6月18日）到期。请了解客户的资金安排需求；如需介绍产品，须符合客户风险测评等级，并使用已审核的素材。`);
    }
    expect((await enrollmentsOf(templateId)).map((e) => e.customer_id)).to.not.include(depositor!.id);
    expect(received(depositor!.externalUserid, 'mass')).to.deep.equal([]);
  });

  it('dormant-wakeup: 90 days after the last contact a customer likely to leave is greeted; one who writes back is woken (converted), one who stays silent gets a call', async () => {
    const [silent, replying, loyal] = await scannedCustomers([
      { name: '吴强', gender: 'M', aum: 180_000, lastTxnAt: at('2026-10-20T10:00:00+08:00') },
      { name: '陈静', gender: 'F', aum: 90_000, lastTxnAt: at('2026-09-01T10:00:00+08:00') },
      { name: '林峰', gender: 'M', aum: 300_000, lastTxnAt: at('2026-09-01T10:00:00+08:00') },
    ]);
    // The churn model's view: a high band, a probability of at least 0.5, and a customer unlikely to leave.
    await db()
      .insertInto('customer_scores')
      .values([
        { customer_id: silent!.id, recency_score: 2, frequency_score: 2, monetary_score: 3, rfm_class: null, churn_probability: 0.42, churn_band: 'high', churn_reasons: '[]', propensity: '[]' },
        { customer_id: replying!.id, recency_score: 1, frequency_score: 2, monetary_score: 2, rfm_class: null, churn_probability: 0.61, churn_band: 'medium', churn_reasons: '[]', propensity: '[]' },
        { customer_id: loyal!.id, recency_score: 5, frequency_score: 5, monetary_score: 4, rfm_class: null, churn_probability: 0.08, churn_band: 'low', churn_reasons: '[]', propensity: '[]' },
      ])
      .execute();
    // Their last contact is adding the member today: the journey picks them up 90 days later.
    const lastContacts = await db().selectFrom('customers').select('last_contact_at').where('id', 'in', [silent!.id, replying!.id]).execute();
    const days = [...new Set(lastContacts.map((r) => dateInZone(new Date(r.last_contact_at!), 'Asia/Shanghai')))];
    expect(days).to.have.length(1);
    const day = addDays(days[0]!, 90);
    const ten = atLocalTime(day, '10:00', 'Asia/Shanghai');
    const { templateId, template } = await publishFile('dormant-wakeup', new Date(ten.getTime() - 86_400_000));
    const preview = await dryRun(deps, template, day);
    expect(preview.customers.map((c) => c.customerId).sort()).to.deep.equal([silent!.id, replying!.id].sort());

    expect(await runClock(triggerDeps(), ten)).to.equal(2);
    await advanceDueSteps(deps, { now: ten });
    await deliverAt(ten);
    // 陈静 writes back two days later; her message wakes the branch at once.
    const reply = new Date(ten.getTime() + 2 * 86_400_000 + 5 * 3_600_000);
    await db()
      .insertInto('timeline_events')
      .values({ customer_id: replying!.id, corp_id: CORP, external_userid: replying!.externalUserid, kind: 'message_in', summary: '发来消息：最近挺好的，谢谢关心', detail: JSON.stringify({ channel: 'kf:wkXinghe' }), cause_type: 'customer', cause_id: replying!.externalUserid, at: reply })
      .execute();
    expect(await wakeBranchesOnReply(db(), CORP, replying!.externalUserid, reply)).to.equal(1);
    await advanceDueSteps(deps, { now: reply });
    const woken = await enrollmentOf(templateId, replying!.id);
    expect(woken).to.include({ status: 'completed', exit_reason: '已达成旅程目标（转化）' });
    expect(await pathOf(woken.id)).to.deep.equal(['hello:done', 'replied:done', 'woken:done', 'woken-end:done']);
    expect(await tagsOf(replying!.id)).to.deep.equal(['已唤醒']);
    expect(await pathOf((await enrollmentOf(templateId, silent!.id)).id)).to.deep.equal(['hello:done', 'replied:waiting']);

    const deadline = new Date(ten.getTime() + 7 * 86_400_000);
    await advanceDueSteps(deps, { now: deadline });
    await deliverAt(deadline);
    const quiet = await enrollmentOf(templateId, silent!.id);
    expect(quiet).to.include({ status: 'completed', exit_reason: null });
    expect(await pathOf(quiet.id)).to.deep.equal(['hello:done', 'replied:done', 'call:done', 'done:done']);
    const [call] = await tasksOf(silent!.id);
    expect(call).to.include({ title: '电话回访沉睡客户', member_userid: 'LiNa' });
    expect(new Date(call!.due_at!).toISOString()).to.equal(new Date(deadline.getTime() + 3 * 86_400_000).toISOString());
    expect(await tasksOf(replying!.id)).to.have.length(0);
    expect(await tagsOf(silent!.id)).to.deep.equal([]);

    const hello = (salutation: string) => `${salutation}您好，我是星河银行杭州西湖支行的客户经理李娜，有段时间没联系了，想问问您最近是否方便？\n账户、银行卡或手机银行使用上有任何问题，回复这条消息就能找到我。`;
    expect(received(silent!.externalUserid, 'mass')).to.deep.equal([hello('吴先生')]);
    expect(received(replying!.externalUserid, 'mass')).to.deep.equal([hello('陈女士')]);
    expect(dryTexts(preview, silent!.id)).to.deep.equal([hello('吴先生')]);
    expect(received(loyal!.externalUserid, 'mass')).to.deep.equal([]);
  });

  it('payroll-day-benefits: at 10:00 on the 15th consenting payroll customers hear their benefits, those with a valid assessment the cash product with its disclosure too, and the member’s payroll group one message', async () => {
    const { templateId, template } = await publishFile('payroll-day-benefits', at('2027-07-14T12:00:00+08:00'));
    const [assessed, lapsed, declined, saver] = await scannedCustomers([
      { name: '黄磊', gender: 'M', segments: ['代发'], riskLevel: 'R2', riskAssessedAt: '2027-03-01' },
      { name: '何静', gender: 'F', segments: ['代发'], riskAssessedAt: '2025-11-01' },
      { name: '马超', gender: 'M', segments: ['代发'], consent: false },
      { name: '罗平', gender: 'M', segments: ['社保'] },
    ]);
    // The member's customer groups, made in WeCom; the app stores them from the callbacks.
    const payrollGroup = control().groupChange({ type: 'create', owner: 'LiNa', name: '星河代发客户群', members: [assessed!.externalUserid, lapsed!.externalUserid, saver!.externalUserid] });
    const salonGroup = control().groupChange({ type: 'create', owner: 'LiNa', name: '理财沙龙', members: [assessed!.externalUserid] });
    await settled(app);
    const membersOf = async (chatId: string) => (await db().selectFrom('wecom_group_members').select('member_id').where('chat_id', '=', chatId).execute()).map((m) => m.member_id).sort();
    expect(await membersOf(payrollGroup.chatId)).to.include.members([assessed!.externalUserid, lapsed!.externalUserid]);

    const ten = at('2027-07-15T10:00:00+08:00');
    const preview = await dryRun(deps, template, '2027-07-15');
    expect(preview.firings).to.deep.equal([ten.toISOString()]);
    expect(preview.customers.map((c) => c.customerId).sort()).to.deep.equal([assessed!.id, lapsed!.id].sort());
    expect(await runClock(triggerDeps(), ten)).to.equal(2);
    await advanceDueSteps(deps, { now: ten });
    await deliverAt(ten);

    const benefits = (salutation: string) =>
      `${salutation}您好，又到发薪日了。\n作为星河银行代发工资客户，您可享手机银行跨行转账免手续费、借记卡年费和小额账户管理费减免，以及每月发薪日礼遇活动。\n具体权益和参与条件以当期活动规则为准，可在手机银行“我的-权益中心”查看。`;
    const assessedGot = received(assessed!.externalUserid, 'mass');
    expect(assessedGot).to.have.length(2);
    expect(assessedGot[0]).to.equal(benefits('黄先生'));
    expect(assessedGot[1]).to.match(/^工资到账后暂时不用的零钱，也可以了解星河天天利现金管理类理财：1元起购/);
    expect(assessedGot[1]).to.contain('理财非存款、产品有风险、投资须谨慎');
    expect(assessedGot).to.deep.equal(dryTexts(preview, assessed!.id));
    expect(received(lapsed!.externalUserid, 'mass')).to.deep.equal([benefits('何女士')]);
    expect(await pathOf((await enrollmentOf(templateId, lapsed!.id)).id)).to.deep.equal(['benefits:done', 'idle-cash:skipped', 'groups:done']);
    expect(received(declined!.externalUserid, 'mass')).to.deep.equal([]);
    expect(received(saver!.externalUserid, 'mass')).to.deep.equal([]);

    // Two of the group's customers were enrolled; the group reads one message.
    expect(received(payrollGroup.chatId, 'mass')).to.deep.equal([
      '各位好，今天是15日发薪日。\n代发工资客户本月的权益已更新，包括手机银行跨行转账免手续费、借记卡年费减免等，具体权益和参与条件以当期活动规则为准，可在手机银行“我的-权益中心”查看。\n有问题欢迎在群里找我。',
    ]);
    expect(received(salonGroup.chatId, 'mass')).to.deep.equal([]);
    expect((await rowsTo(payrollGroup.chatId)).map((r) => [r.channel, r.sender, r.status, r.delivery])).to.deep.equal([['mass_group', 'LiNa', 'sent', 'delivered']]);
  });

  it('pre-retirement-planning: the nightly fact run tags customers near retirement; on the next working morning the member gets the pension message to send from the sidebar, a week later the pension wealth one for suitable customers only, and a meeting task', async () => {
    const { templateId } = await publishFile('pre-retirement-planning', at('2027-09-02T12:00:00+08:00'));
    const [suitable, cautious] = await scannedCustomers([
      { name: '杨军', gender: 'M', birthDate: '1970-03-10', riskLevel: 'R3', riskAssessedAt: '2027-02-01' },
      { name: '刘桂英', gender: 'F', birthDate: '1975-11-02', riskLevel: 'R1', riskAssessedAt: '2027-02-01' },
    ]);
    // The nightly fact run (men 55–59, women 50–54) tags them; the clock picks the tags up a minute later.
    await recomputeFactTags(db(), { now: at('2027-09-03T02:30:00+08:00'), customerIds: [suitable!.id, cautious!.id] });
    expect(await runClock(triggerDeps(), at('2027-09-03T02:31:00+08:00'))).to.equal(2);
    const morning = at('2027-09-03T10:00:00+08:00'); // Friday, a working day
    await advanceDueSteps(deps, { now: new Date(morning.getTime() - 1000) });
    expect(await tasksOf(suitable!.id), 'nothing at night').to.have.length(0);
    await advanceDueSteps(deps, { now: morning });
    await deliverAt(morning);

    const pension = (salutation: string) =>
      `${salutation}您好，我是星河银行杭州西湖支行的客户经理李娜。临近退休，不少客户会关心养老金领取和资金安排。\n个人养老金资金账户可在手机银行“养老金融-个人养老金”开立，每年缴存上限12000元，缴存时可按规定在个人所得税税前扣除，实际节税金额与个人适用税率有关，以国家税收政策为准。\n如果您想做一次养老规划，我可以为您一对一梳理。`;
    const member = await app.client().login('am.lina');
    const open = (await member.get(`/api/v1/sop/tasks?customerId=${suitable!.id}`)).body.tasks as { id: string; kind: string; title: string; body: string }[];
    expect(open.map((t) => [t.kind, t.title, t.body])).to.deep.equal([['send', '个人养老金介绍', pension('杨先生')]]);
    const [prepared] = await rowsTo(suitable!.externalUserid).then((rows) => rows.filter((r) => r.channel === 'sidebar'));
    expect(prepared).to.include({ status: 'pending', sender: 'LiNa' });
    // The member sends it from the sidebar and marks the task done: the outbox row is sent, by them.
    expect((await member.post(`/api/v1/sop/tasks/${open[0]!.id}/done`)).status).to.equal(200);
    expect((await db().selectFrom('outbox').select(['status', 'delivery']).where('id', '=', prepared!.id).executeTakeFirstOrThrow())).to.deep.equal({ status: 'sent', delivery: 'delivered' });

    const aWeekLater = at('2027-09-10T10:00:00+08:00');
    await advanceDueSteps(deps, { now: aWeekLater });
    await deliverAt(aWeekLater);
    const suitableTasks = await tasksOf(suitable!.id);
    expect(suitableTasks.map((t) => [t.kind, t.title, t.status])).to.deep.equal([
      ['send', '个人养老金介绍', 'done'],
      ['send', '养老理财介绍', 'open'],
      ['todo', '邀约客户面谈养老规划', 'open'],
    ]);
    expect(suitableTasks[1]!.body).to.match(/^杨先生，上次提到的养老规划，这里补充一个选择：颐年养老理财产品面向长期养老储备需求，风险等级R2，封闭期5年/);
    expect((await tasksOf(cautious!.id)).map((t) => [t.kind, t.title])).to.deep.equal([['send', '个人养老金介绍'], ['todo', '邀约客户面谈养老规划']]);
    expect((await tasksOf(cautious!.id))[0]!.body).to.equal(pension('刘女士'));
    expect(await pathOf((await enrollmentOf(templateId, cautious!.id)).id)).to.deep.equal(['morning:done', 'pension-account:done', 'a-week:done', 'pension-wealth:skipped', 'meeting:done']);
    for (const c of [suitable!, cautious!]) {
      expect((await enrollmentOf(templateId, c.id)).status).to.equal('completed');
      // Sidebar messages are sent by the member in their own chat, never as a WeCom mass send.
      expect(received(c.externalUserid, 'mass')).to.deep.equal([]);
    }
  });

  it('risk-assessment-expiry: fifteen days before expiry the customer is reminded and the member asked to help; on the next working day about five days before, only a customer who has not reassessed is reminded again', async () => {
    const { templateId, template } = await publishFile('risk-assessment-expiry', at('2027-08-03T12:00:00+08:00'));
    // Assessed 2026-08-19: valid through 2027-08-19, fifteen days after Wednesday 2027-08-04.
    const [stays, reassesses] = await scannedCustomers([
      { name: '高峰', gender: 'M', riskAssessedAt: '2026-08-19' },
      { name: '林娟', gender: 'F', riskAssessedAt: '2026-08-19', consent: false },
    ]);
    const nine = at('2027-08-04T09:00:00+08:00');
    // Ten days on is Saturday 14 August: the reminder waits for Monday.
    const monday = at('2027-08-16T10:00:00+08:00');
    const preview = await dryRun(deps, template, '2027-08-04');
    expect(preview.customers.map((c) => c.customerId).sort()).to.deep.equal([stays!.id, reassesses!.id].sort());
    expect(preview.customers.find((c) => c.customerId === stays!.id)!.steps.filter((s) => s.kind === 'send').map((s) => s.at)).to.deep.equal([nine.toISOString(), monday.toISOString()]);

    expect(await runClock(triggerDeps(), nine)).to.equal(2);
    await advanceDueSteps(deps, { now: nine });
    await deliverAt(nine);
    for (const c of [stays!, reassesses!]) expect((await tasksOf(c.id)).map((t) => t.title)).to.deep.equal(['协助客户完成风险测评']);
    // 林娟 reassesses in the branch two days later.
    await db().updateTable('customers').set({ risk_assessed_at: '2027-08-06', risk_level: 'R2' }).where('id', '=', reassesses!.id).execute();
    await advanceDueSteps(deps, { now: at('2027-08-14T10:00:00+08:00') });
    expect((await pathOf((await enrollmentOf(templateId, stays!.id)).id)).at(-1)).to.equal('later:waiting');
    await advanceDueSteps(deps, { now: monday });
    await deliverAt(monday);

    const notice = (salutation: string) =>
      `${salutation}您好，您在星河银行的风险测评将于2027年8月19日到期。到期后购买理财、基金等产品前需要重新测评。\n您可以在手机银行“我的-风险测评”在线完成，也可以到星河银行杭州西湖支行办理，请如实填写收入、投资经验和风险偏好。`;
    const again = '高先生您好，再次提醒：您的风险测评将于2027年8月19日到期。\n在手机银行“我的-风险测评”几分钟即可完成，如已重新测评请忽略本消息。';
    expect(received(stays!.externalUserid, 'mass')).to.deep.equal([notice('高先生'), again]);
    expect(dryTexts(preview, stays!.id)).to.deep.equal([notice('高先生'), again]);
    expect((await enrollmentOf(templateId, stays!.id)).status).to.equal('completed');
    expect(received(reassesses!.externalUserid, 'mass')).to.deep.equal([notice('林女士')]);
    expect(await enrollmentOf(templateId, reassesses!.id)).to.include({ status: 'completed', exit_reason: '已达成旅程目标（转化）' });
  });
});
