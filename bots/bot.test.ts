import { expect } from 'chai';
import { io, type Socket } from 'socket.io-client';
import { types } from 'wechaty';
import { bootApp, type TestApp } from '../test/harness.js';
import { until } from '../test/wecom.js';
import { DEMO_CORP_ID } from '../src/demo/seed.js';
import { ConfigError, loadConfig } from '../src/platform/config.js';
import { createLogger } from '../src/platform/logger.js';
import { assistantPort, HANDOFF_REPLY, knowledgePort, type ReplyDeps } from '../src/replies/index.js';
import { reconnectDelay, startBot, type BotHandle } from './bot.js';
import { createMockWorld, type MockWorld, type WorldMessage } from './mockWorld.js';
import { PuppetUnavailableError, servicePuppet, SERVICE_PUPPET } from './puppet.js';
import type { HandledMessage } from './replyPlugin.js';

/**
 * The bot end to end: customers in a simulated WeChat (wechaty-puppet-mock) write to a real
 * Wechaty bot; the reply engine answers from the app's knowledge base, gate and assistant on a
 * real database; the bot says the answers back, and handoffs reach the bot's member (LiNa).
 */
const BOT_NAME = '星河银行助手';
const KB_001 = '个人大额存单20万元起存';

describe('the Wechaty bot', function () {
  this.timeout(60_000);
  let app: TestApp;
  let world: MockWorld;
  let bot: BotHandle;
  const handled: HandledMessage[] = [];
  const logins: string[] = [];
  const db = () => app.database.db;

  before(async () => {
    app = await bootApp({ OUTBOX_POLL_MS: '200' });
    const deps: ReplyDeps = {
      db: db(), gate: app.gate, events: app.events, gateway: app.wecom.gateway, logger: createLogger({ level: 'silent' }),
      kb: knowledgePort(app.kb), assistant: assistantPort(app.assistant), alertMember: (staffId, event, data) => app.realtime?.toMember(staffId, event, data),
    };
    world = createMockWorld({ botName: BOT_NAME, customers: [] });
    bot = await startBot(deps, {
      name: BOT_NAME,
      puppet: { kind: 'mock', puppet: world.puppet },
      corpId: DEMO_CORP_ID,
      memberUserid: 'LiNa',
      // Small limits keep the suite quick; every send still waits for its slot.
      limits: { perMinute: 600, burst: 2, conversationIntervalMs: 30 },
      reconnect: { enabled: true, minDelayMs: 20, maxDelayMs: 200 },
    });
    bot.events.on('handled', (h) => handled.push(h));
    bot.events.on('login', (id) => logins.push(id));
    await bot.loggedIn();
  });
  after(async () => {
    await bot?.stop();
    await app?.close();
  });

  const handledOf = (message: WorldMessage, count = 1) =>
    until(() => {
      const got = handled.filter((h) => h.messageId === message.id);
      return got.length >= count ? got : undefined;
    }, 20_000, `the bot to handle ${message.id} ${count} time(s)`);
  const logOf = (message: WorldMessage) => db().selectFrom('reply_log').selectAll().where('channel', '=', 'bot').where('message_id', '=', message.id).executeTakeFirstOrThrow();
  const outboxRow = (id: string) => db().selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const textOf = (row: { payload: unknown }) => (row.payload as { text: string }).text;

  it('answers a customer who asks about 大额存单 with the knowledge-base entry', async () => {
    const customer = world.addCustomer('王建国');
    const asked = world.sayToBot(customer, '大额存单利率多少？20万起存吗');
    const [h] = await handledOf(asked);
    expect(h).to.include({ decision: 'kb', delivery: 'sent', isGroup: false, conversation: customer.id, fresh: true });
    const said = world.botSaid(customer.id);
    expect(said).to.have.length(1);
    expect(said[0]).to.contain(KB_001);
    const log = await logOf(asked);
    expect(log).to.include({ decision: 'kb', kb_id: 'kb-001', conversation: customer.id, sender: customer.id, corp_id: DEMO_CORP_ID, member_userid: 'LiNa', text: '大额存单利率多少？20万起存吗' });
    const row = await outboxRow(log.outbox_id!);
    expect(row).to.include({ channel: 'bot', status: 'sent', recipient: customer.id, sender: world.self.id, purpose: 'service', verdict: 'pass', ref_type: 'reply' });
    expect(said[0], 'the bot says what the gate let through').to.equal(textOf(row));
  });

  it('never answers a fraud report itself: the customer hears a person is coming and the bot’s member is alerted', async () => {
    const lina = await app.client().login('am.lina');
    const socket: Socket = io(app.url, { path: '/socket.io', extraHeaders: { cookie: lina.cookie }, transports: ['websocket'] });
    const alert = new Promise<Record<string, unknown>>((resolve) => socket.on('handoff.alert', resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        socket.on('connect', () => resolve());
        socket.on('connect_error', reject);
      });
      const customer = world.addCustomer('吴敏');
      const asked = world.sayToBot(customer, '我被骗了，对方让我转账到安全账户');
      const [h] = await handledOf(asked);
      expect(h).to.include({ decision: 'handoff', delivery: 'sent' });
      expect(world.botSaid(customer.id), 'only the handoff text, never the substance').to.deep.equal([HANDOFF_REPLY]);
      const log = await logOf(asked);
      expect(log).to.include({ decision: 'handoff', member_userid: 'LiNa' });
      expect(log.reason).to.contain('诈骗');
      const pushed = await alert;
      expect(pushed).to.include({ channel: 'bot', text: '我被骗了，对方让我转账到安全账户', logId: log.id });
      const alertRow = await outboxRow(log.alert_outbox_id!);
      expect(alertRow).to.include({ channel: 'app_message', recipient: 'LiNa', corp_id: DEMO_CORP_ID });
      expect(textOf(alertRow)).to.contain('客户转人工').and.to.contain('安全账户');
      const received = await until(
        () => app.wecom.sandbox!.world.received.find((r) => r.kind === 'app' && r.to === 'LiNa' && JSON.stringify(r.content).includes('我被骗了')),
        20_000,
        'LiNa’s WeCom app message',
      );
      expect(JSON.stringify(received.content)).to.contain('客户转人工');
    } finally {
      socket.close();
    }
  });

  it('ignores a room message that does not @-mention it', async () => {
    const customer = world.addCustomer('赵磊');
    const saidBefore = world.botSaid(world.room.id).length;
    const asked = world.sayInRoom(customer, '大额存单利率多少？20万起存吗');
    const [h] = await handledOf(asked);
    expect(h).to.include({ decision: 'ignored', isGroup: true, conversation: world.room.id });
    expect(h!.outboxId).to.equal(undefined);
    await bot.settled();
    expect(world.botSaid(world.room.id), 'nothing said in the room').to.have.length(saidBefore);
    expect(await logOf(asked)).to.include({ decision: 'ignored', reason: '群消息未@机器人', conversation: world.room.id, outbox_id: null });
  });

  it('answers a room message that @-mentions it in the room, mentioning the customer', async () => {
    const customer = world.addCustomer('孙丽');
    const asked = world.sayInRoom(customer, '大额存单利率多少？20万起存吗', { mentionBot: true });
    const [h] = await handledOf(asked);
    expect(h).to.include({ decision: 'kb', delivery: 'sent', isGroup: true, conversation: world.room.id });
    const said = world.botSaid(world.room.id).at(-1)!;
    expect(said).to.match(/^@孙丽\s/);
    expect(said).to.contain(KB_001);
    const log = await logOf(asked);
    expect(log, 'the engine reads the question without the @-mention').to.include({ decision: 'kb', kb_id: 'kb-001', text: '大额存单利率多少？20万起存吗', sender: customer.id });
    expect(await outboxRow(log.outbox_id!)).to.include({ recipient: world.room.id, status: 'sent' });
  });

  it('answers a burst of questions one by one, in the order they were asked, none dropped', async () => {
    const customer = world.addCustomer('周强');
    const questions = ['定期存款一年期利率是多少？', '七天通知存款是什么？', '怎么申请星河信用卡？', '怎么开通星河银行手机银行？', '手机银行转账限额是多少？'];
    const asked = questions.map((q) => world.sayToBot(customer, q));
    const all = await until(() => {
      const got = asked.map((a) => handled.find((h) => h.messageId === a.id));
      return got.every(Boolean) ? (got as HandledMessage[]) : undefined;
    }, 30_000, 'every question handled');
    expect(all.map((h) => h.delivery)).to.deep.equal(questions.map(() => 'sent'));
    expect(handled.filter((h) => h.conversation === customer.id).map((h) => h.messageId), 'handled in the order asked').to.deep.equal(asked.map((a) => a.id));
    const logs = await Promise.all(asked.map(logOf));
    expect(logs.map((l) => l.decision)).to.deep.equal(questions.map(() => 'kb'));
    const answers = await Promise.all(logs.map(async (l) => textOf(await outboxRow(l.outbox_id!))));
    expect(world.botSaid(customer.id), 'each answer said once, in the order asked').to.deep.equal(answers);
  });

  it('answers a message the puppet delivers twice once', async () => {
    const customer = world.addCustomer('钱芳');
    const asked = world.sayToBot(customer, '大额存单利率多少？20万起存吗');
    world.redeliver(asked.id);
    const [first, again] = await handledOf(asked, 2);
    expect(first).to.include({ fresh: true, decision: 'kb', delivery: 'sent' });
    expect(again).to.include({ fresh: false, decision: 'kb', outboxId: first!.outboxId, delivery: 'sent' });
    expect(world.botSaid(customer.id)).to.have.length(1);
    expect(await db().selectFrom('outbox').select('id').where('idempotency_key', '=', `reply:bot:${asked.id}`).execute()).to.have.length(1);
  });

  it('does not answer history the puppet replays from before the bot started', async () => {
    const customer = world.addCustomer('郑伟');
    const old = { id: `history-${customer.id}`, talkerId: customer.id, listenerId: world.self.id, text: '大额存单利率多少？', timestamp: Date.now() - 3_600_000, type: types.Message.Text };
    world.mocker.MessageMock.create(old);
    world.redeliver(old.id);
    const asked = world.sayToBot(customer, '定期存款一年期利率是多少？');
    await handledOf(asked);
    await bot.settled();
    expect(handled.find((h) => h.messageId === old.id)).to.equal(undefined);
    expect(await db().selectFrom('reply_log').select('id').where('message_id', '=', old.id).execute()).to.have.length(0);
    expect(world.botSaid(customer.id)).to.have.length(1);
  });

  it('logs back in after the account is logged out and answers again', async () => {
    const before = logins.length;
    await world.puppet.logout('在手机上退出了登录');
    await until(() => logins.length > before && bot.wechaty.isLoggedIn, 20_000, 'the bot to log in again');
    const customer = world.addCustomer('冯静');
    const asked = world.sayToBot(customer, '大额存单利率多少？20万起存吗');
    const [h] = await handledOf(asked);
    expect(h).to.include({ decision: 'kb', delivery: 'sent' });
    expect(world.botSaid(customer.id)[0]).to.contain(KB_001);
  });
});

describe('bot puppets and reconnects', () => {
  it('backs off exponentially between puppet restarts, up to the maximum', () => {
    const middle = () => 0.5;
    expect([0, 1, 2, 3].map((a) => reconnectDelay(a, 1000, 5000, middle))).to.deep.equal([1000, 2000, 4000, 5000]);
    expect(reconnectDelay(40, 1000, 300_000, () => 1), 'jitter never passes the maximum').to.equal(300_000);
  });

  it('refuses BOT_PUPPET=service when wechaty-puppet-service cannot be loaded, naming the package and the token variable', async () => {
    const missing = async () => {
      throw Object.assign(new Error(`Cannot find package '${SERVICE_PUPPET}'`), { code: 'ERR_MODULE_NOT_FOUND' });
    };
    const error = await servicePuppet('puppet_token', missing).then(() => undefined, (e: unknown) => e);
    expect(error).to.be.instanceOf(PuppetUnavailableError);
    expect((error as Error).message).to.contain('npm install wechaty-puppet-service').and.to.contain('BOT_PUPPET_TOKEN');
  });

  it('hands Wechaty the service puppet and its token when the package loads', async () => {
    expect(await servicePuppet('puppet_token', async () => ({}))).to.deep.equal({ kind: 'service', module: SERVICE_PUPPET, token: 'puppet_token' });
  });

  it('requires a token, and outside sandbox mode a member, for BOT_PUPPET=service', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return [];
      } catch (error) {
        return (error as ConfigError).problems.map((p) => p.variable);
      }
    };
    expect(problems({ BOT_PUPPET: 'service' })).to.deep.equal(['BOT_PUPPET_TOKEN']);
    expect(problems({ BOT_PUPPET: 'service', BOT_PUPPET_TOKEN: 't', SANDBOX: 'false', WECOM_CORP_ID: 'ww1', WECOM_CALLBACK_TOKEN: 'x', WECOM_CALLBACK_AES_KEY: 'a'.repeat(43) })).to.deep.equal(['BOT_MEMBER_USERID']);
    expect(problems({})).to.deep.equal([]);
  });
});
