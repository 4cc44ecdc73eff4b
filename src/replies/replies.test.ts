import { expect } from 'chai';
import { io, type Socket } from 'socket.io-client';
import { bootApp, type TestApp } from '../../test/harness.js';
import { until } from '../../test/wecom.js';
import { createLogger } from '../platform/logger.js';
import { customerWithContact, CORP } from '../sop/testing.js';
import { handleInbound, HANDOFF_REPLY, type InboundMessage, type ReplyDeps } from './engine.js';
import { knowledgePort } from './ports.js';

/**
 * The reply engine end to end: customers write to the bank's WeChat customer service in the
 * sandbox; WeCom's callback, the kf/sync_msg pull, the engine, the compliance gate, the outbox and
 * the kf sender carry the answer back to the sandbox customer.
 */
describe('the reply engine', function () {
  this.timeout(60_000);
  let app: TestApp;
  before(async () => {
    app = await bootApp({ OUTBOX_POLL_MS: '200' });
  });
  after(() => app.close());
  const db = () => app.database.db;
  const sandbox = () => app.wecom.sandbox!;

  const kfReplies = async (externalUserid: string, count = 1) =>
    until(async () => {
      const got = sandbox().world.received.filter((r) => r.kind === 'kf' && r.to === externalUserid);
      return got.length >= count ? got : undefined;
    }, 20_000, `${count} kf replies to ${externalUserid}`);
  const textOf = (r: { content: unknown }) => (r.content as { text: { content: string } }).text.content;
  const logOf = (externalUserid: string) => db().selectFrom('reply_log').selectAll().where('external_userid', '=', externalUserid).orderBy('received_at').execute();

  it('answers a customer-service question from the knowledge base through the gate, the outbox and kf/send_msg', async () => {
    const sent = sandbox().control.kfCustomerMessage({ text: '大额存单现在利率多少？20万能买吗', externalUserid: 'wmKfQuestion1' });
    const [reply] = await kfReplies('wmKfQuestion1');
    expect(textOf(reply!)).to.contain('个人大额存单20万元起存');
    const [log] = await until(async () => {
      const rows = await logOf('wmKfQuestion1');
      return rows[0]?.decision === 'kb' ? rows : undefined;
    }, 10_000, 'the decision to be recorded');
    expect(log).to.include({ channel: 'kf', message_id: sent.msgid, decision: 'kb', kb_id: 'kb-001' });
    const row = await until(async () => {
      const r = await db().selectFrom('outbox').selectAll().where('id', '=', log!.outbox_id!).executeTakeFirstOrThrow();
      return r.status === 'sent' ? r : undefined;
    }, 10_000, 'the row to be marked sent');
    expect(row).to.include({ channel: 'kf', status: 'sent', purpose: 'service', verdict: 'pass', cause_type: 'customer', ref_type: 'reply' });
    expect(reply!.ref, 'the row id is the kf msgid').to.equal(row.id.replaceAll('-', ''));
  });

  it('never answers a fraud report itself: the customer is told a person is coming, the member is alerted at once and the session handed over', async () => {
    const c = await customerWithContact(db(), { name: '吴敏', gender: 'F', userid: 'LiNa' });
    const lina = await app.client().login('am.lina');
    const socket: Socket = io(app.url, { path: '/socket.io', extraHeaders: { cookie: lina.cookie }, transports: ['websocket'] });
    const alert = new Promise<Record<string, unknown>>((resolve) => socket.on('handoff.alert', resolve));
    try {
      await new Promise<void>((resolve, reject) => { socket.on('connect', () => resolve()); socket.on('connect_error', reject); });
      sandbox().control.kfCustomerMessage({ text: '有人冒充公安说我涉嫌洗钱，让我把钱转到安全账户，我已经转了一笔', externalUserid: c.externalUserid });
      const [reply] = await kfReplies(c.externalUserid);
      expect(textOf(reply!)).to.equal(HANDOFF_REPLY);
      const pushed = await alert;
      expect(pushed).to.include({ customerId: c.id, channel: 'kf' });
      const [log] = await until(async () => {
        const rows = await logOf(c.externalUserid);
        return rows[0]?.decision === 'handoff' ? rows : undefined;
      }, 10_000, 'the decision to be recorded');
      expect(log).to.include({ decision: 'handoff', member_userid: 'LiNa' });
      expect(log!.reason).to.contain('诈骗');
      const staffAlert = await until(() => sandbox().world.received.find((r) => r.kind === 'app' && r.to === 'LiNa' && JSON.stringify(r.content).includes('客户转人工')), 20_000, 'the member’s app message');
      expect(JSON.stringify(staffAlert.content)).to.contain('安全账户');
      const session = await until(() => {
        const s = [...sandbox().world.kfSessions.values()].find((x) => x.external_userid === c.externalUserid);
        return s && s.state === 3 ? s : undefined;
      }, 20_000, 'the session with a person');
      expect(session.servicer_userid).to.equal('LiNa');
      sandbox().control.kfCustomerMessage({ text: '大额存单利率多少', externalUserid: c.externalUserid });
      const later = await until(async () => {
        const rows = await logOf(c.externalUserid);
        return rows.length === 2 && rows[1]!.decision !== 'none' ? rows[1] : undefined;
      }, 10_000, 'the second message to be read');
      expect(later, 'the machine keeps out of a conversation a person has').to.include({ decision: 'ignored', reason: '人工接待中', outbox_id: null });
    } finally {
      socket.close();
    }
  });

  it('answers with an operations rule first, then not again within its cooldown', async () => {
    const ops = await app.client().login('ops');
    const created = await ops.post('/api/v1/replies/rules', { name: '营业时间', matchType: 'keyword', pattern: '营业时间|几点开门', replyText: '网点营业时间为工作日9:00-17:00，具体以网点公告为准。', cooldownMinutes: 60, priority: 10 });
    expect(created.status).to.equal(201);
    const listed = (await ops.get('/api/v1/replies/rules')).body;
    expect(listed.rules.map((r: { id: string }) => r.id)).to.include(created.body.id);
    expect(listed.intents).to.include.members(['大额存单', '理财', '信用卡']);
    sandbox().control.kfCustomerMessage({ text: '你们网点几点开门？', externalUserid: 'wmKfRule' });
    const [first] = await kfReplies('wmKfRule');
    expect(textOf(first!)).to.equal('网点营业时间为工作日9:00-17:00，具体以网点公告为准。');
    sandbox().control.kfCustomerMessage({ text: '周六几点开门', externalUserid: 'wmKfRule' });
    await kfReplies('wmKfRule', 2);
    const log = await until(async () => {
      const rows = await logOf('wmKfRule');
      return rows.length === 2 && rows.every((r) => r.decision !== 'none') ? rows : undefined;
    }, 10_000, 'both decisions to be recorded');
    expect(log.map((l) => l.decision)).to.deep.equal(['rule', log[1]!.decision === 'kb' ? 'kb' : 'handoff']);
    expect(log[1]!.rule_id, 'the cooldown kept the rule from answering twice').to.equal(null);
    const bad = await ops.post('/api/v1/replies/rules', { name: 'x', matchType: 'regex', pattern: '(a+)+$', replyText: 'x' });
    expect(bad.status).to.equal(400);
    expect(bad.body.error.issues[0].path).to.equal('body.pattern');
  });

  it('does not send a customer-service message more than 48 hours after the customer last wrote, and says why', async () => {
    sandbox().control.kfCustomerMessage({ text: '信用卡丢了怎么办', externalUserid: 'wmKfLate' });
    await kfReplies('wmKfLate');
    sandbox().control.advanceClock(49 * 3_600_000);
    const { queueMessage } = await import('../outbox/index.js');
    const openKfid = sandbox().world.kfAccounts[0]!.open_kfid;
    const queued = await queueMessage({ db: db(), gate: app.gate }, { idempotencyKey: 'kf-late-1', corpId: CORP, channel: 'kf', recipient: 'wmKfLate', content: { text: '您好，您咨询的问题已有结果。' }, purpose: 'service', cause: { type: 'system', id: 'test' }, extra: { open_kfid: openKfid } });
    const row = await until(async () => {
      const r = await db().selectFrom('outbox').select(['status', 'errcode', 'last_error']).where('id', '=', queued.id).executeTakeFirstOrThrow();
      return r.status === 'failed' ? r : undefined;
    }, 20_000, 'the late row to fail');
    expect(row).to.include({ errcode: 95002 });
    expect(row.last_error).to.contain('48小时');
  });

  describe('on any channel', () => {
    let deps: ReplyDeps;
    before(() => {
      deps = { db: db(), gate: app.gate, events: app.events, gateway: app.wecom.gateway, logger: createLogger({ level: 'silent' }), kb: knowledgePort(app.kb) };
    });
    const botMessage = (over: Partial<InboundMessage>): InboundMessage => ({
      channel: 'bot', messageId: `m-${Math.random()}`, conversation: 'room-1', sender: 'bot-contact-1', isGroup: false, mentioned: false, text: '你好',
      reply: { channel: 'bot', recipient: 'room-1' }, ...over,
    });

    it('ignores a group message that does not mention the bot', async () => {
      const decision = await handleInbound(deps, botMessage({ isGroup: true, mentioned: false, text: '大额存单利率多少' }));
      expect(decision).to.include({ decision: 'ignored', fresh: true });
      expect(await db().selectFrom('outbox').select('id').where('ref_id', '=', decision.logId).execute()).to.have.length(0);
    });

    it('answers a redelivered message once', async () => {
      const message = botMessage({ messageId: 'redelivered-1', text: '信用卡丢了怎么办' });
      const first = await handleInbound(deps, message);
      const again = await handleInbound(deps, message);
      expect(again).to.include({ fresh: false, decision: first.decision, outboxId: first.outboxId });
      expect(await db().selectFrom('outbox').select('id').where('idempotency_key', '=', 'reply:bot:redelivered-1').execute()).to.have.length(1);
    });

    it('tags a customer with a strong purchase intent, recording the message as the cause', async () => {
      const c = await customerWithContact(db(), { userid: 'ZhaoMin' });
      const decision = await handleInbound(deps, botMessage({ corpId: CORP, externalUserid: c.externalUserid, sender: c.externalUserid, text: '我想买大额存单，还有额度吗？' }));
      expect(decision.intents[0]).to.deep.include({ intent: '大额存单' });
      const tags = await db().selectFrom('customer_tags as ct').innerJoin('tags as t', 't.id', 'ct.tag_id').innerJoin('tag_groups as g', 'g.id', 't.group_id').select(['t.name', 'g.name as group', 'ct.source', 'ct.cause']).where('ct.customer_id', '=', c.id).execute();
      expect(tags).to.deep.include({ name: '大额存单', group: '意向', source: 'model', cause: `message:${decision.logId ? (await db().selectFrom('reply_log').select('message_id').where('id', '=', decision.logId).executeTakeFirstOrThrow()).message_id : ''}` });
      const weak = await handleInbound(deps, botMessage({ corpId: CORP, externalUserid: c.externalUserid, sender: c.externalUserid, text: '基金是什么意思' }));
      expect(weak.intents.find((i) => i.intent === '基金')!.score).to.be.below(0.8);
      const after = await db().selectFrom('customer_tags as ct').innerJoin('tags as t', 't.id', 'ct.tag_id').select('t.name').where('ct.customer_id', '=', c.id).execute();
      expect(after.map((t) => t.name), 'a question alone is not an intent').to.not.include('基金');
    });

    it('hands a customer over, with the handoff message, when the rule that matched is blocked by the gate', async () => {
      await db().insertInto('reply_rules').values({ name: '违规规则', match_type: 'keyword', pattern: '收益', reply_text: '这款理财保本保息，稳赚不赔', created_by: null, active_from: null, active_to: null }).execute();
      const decision = await handleInbound(deps, botMessage({ messageId: 'blocked-rule-1', conversation: 'c-blocked', sender: 'c-blocked', reply: { channel: 'bot', recipient: 'c-blocked' }, text: '理财收益怎么样' }));
      expect(decision).to.include({ decision: 'handoff', text: HANDOFF_REPLY });
      const rows = await db().selectFrom('outbox').select(['idempotency_key', 'status']).where('recipient', '=', 'c-blocked').orderBy('created_at').execute();
      expect(rows).to.deep.equal([{ idempotency_key: 'reply:bot:blocked-rule-1', status: 'blocked' }, { idempotency_key: 'reply:bot:blocked-rule-1:handoff', status: 'pending' }]);
      await db().deleteFrom('reply_rules').where('name', '=', '违规规则').execute();
    });

    it('keeps answering the rest of a group after one member of it was handed to a person', async () => {
      const group = { isGroup: true, mentioned: true, conversation: 'room-handoff', reply: { channel: 'bot' as const, recipient: 'room-handoff' } };
      expect((await handleInbound(deps, botMessage({ ...group, sender: 'victim', text: '我被骗了，对方让我转账到安全账户' }))).decision).to.equal('handoff');
      expect((await handleInbound(deps, botMessage({ ...group, sender: 'victim', text: '大额存单利率多少' }))).decision).to.equal('ignored');
      expect((await handleInbound(deps, botMessage({ ...group, sender: 'neighbour', text: '大额存单利率多少' }))).decision).to.equal('kb');
    });

    it('hands off what neither a rule, the knowledge base nor a model can answer (retrieval-only mode)', async () => {
      const decision = await handleInbound(deps, botMessage({ text: '今天杭州的天气怎么样呀' }));
      expect(decision).to.include({ decision: 'handoff', text: HANDOFF_REPLY });
      expect(decision.reason).to.equal('自动回复无法回答');
    });
  });
});
