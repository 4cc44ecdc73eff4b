import readline from 'node:readline';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { DEMO_CORP_ID } from '../src/demo/seed.js';
import { seedKnowledgeBase } from '../src/kb/index.js';
import type { Config } from '../src/platform/config.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../src/platform/db/database.js';
import { ensureDatabase, startEmbeddedPostgres, type EmbeddedServer } from '../src/platform/db/embedded.js';
import { EventBus } from '../src/platform/events.js';
import { createLogger, type Logger } from '../src/platform/logger.js';
import { containAsyncFailures, loadConfigOrExit, onStopSignals } from '../src/platform/process.js';
import { buildReplyEngine } from '../src/replies/index.js';
import { startBot, type BotHandle } from './bot.js';
import { createMockWorld, type MockWorld, type WorldMessage } from './mockWorld.js';
import { PuppetUnavailableError, servicePuppet, type BotPuppet } from './puppet.js';

/**
 * `npm run bot`: one Wechaty bot process (the `bot` role). Configuration, the puppet, the database
 * (DATABASE_URL, or the embedded one), the reply engine built as the app builds it, and the bot.
 * In sandbox mode with the mock puppet it creates a small simulated WeChat world, logs in, has a
 * customer ask a first question, and lets you type as a customer.
 */
const DEMO_MEMBER = 'LiNa';
const DEMO_QUESTION = '大额存单利率多少？20万起存吗';

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

async function choosePuppet(config: Config): Promise<{ puppet: BotPuppet; world?: MockWorld }> {
  if (config.BOT_PUPPET === 'service') {
    try {
      // The token is checked by the configuration (required when BOT_PUPPET=service).
      return { puppet: await servicePuppet(config.BOT_PUPPET_TOKEN!) };
    } catch (error) {
      if (error instanceof PuppetUnavailableError) fail(error.message);
      throw error;
    }
  }
  if (!config.sandbox) {
    fail('BOT_PUPPET=mock runs a simulated WeChat world and only in sandbox mode.\n  To connect a real account set BOT_PUPPET=service and BOT_PUPPET_TOKEN (see bots/README.md).');
  }
  const world = createMockWorld({ botName: config.BOT_NAME });
  return { puppet: { kind: 'mock', puppet: world.puppet }, world };
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * DATABASE_URL, or the embedded server. A running `npm start` owns the embedded server: the bot
 * shares it rather than start its own (which would stop the service's as stale).
 */
async function openBotDatabase(config: Config, logger: Logger): Promise<{ url: string; embedded?: EmbeddedServer }> {
  if (config.DATABASE_URL) return { url: config.DATABASE_URL };
  // The embedded server's own credentials (startEmbeddedPostgres's defaults), on loopback only.
  const running = `postgres://scrm:scrm@127.0.0.1:${config.EMBEDDED_PG_PORT}/postgres`;
  if (await answers(running)) {
    logger.info({ port: config.EMBEDDED_PG_PORT }, 'using the embedded PostgreSQL of the running service');
    return { url: await ensureDatabase(running, 'scrm') };
  }
  const embedded = await startEmbeddedPostgres({ dataDir: config.DATA_DIR, port: config.EMBEDDED_PG_PORT, logger });
  return { url: await ensureDatabase(embedded.url, 'scrm'), embedded };
}

function showWorld(world: MockWorld, print: (line: string) => void): void {
  const topic = world.mocker.cacheRoomPayload.get(world.room.id)?.topic ?? '群聊';
  world.events.on('message', (m: WorldMessage) => {
    print(m.inRoom ? `  [${topic}] ${world.nameOf(m.from)}：${m.text}` : `  [${world.nameOf(m.from)} → ${world.nameOf(m.to)}] ${m.text}`);
  });
}

/** Lines typed on the terminal become customers' messages: "text", "@text" (room, mentioning the bot), "#text" (room), "2 text" (the second customer). */
function typeAsCustomers(world: MockWorld): readline.Interface {
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const picked = /^([1-9])\s+(.*)$/.exec(line.trim());
    const customer = world.customers[picked ? Number(picked[1]) - 1 : 0] ?? world.customers[0]!;
    const text = (picked ? picked[2]! : line).trim();
    if (!text) return;
    if (text.startsWith('@')) world.sayInRoom(customer, text.slice(1).trim(), { mentionBot: true });
    else if (text.startsWith('#')) world.sayInRoom(customer, text.slice(1).trim());
    else world.sayToBot(customer, text);
  });
  return rl;
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger({ level: config.LOG_LEVEL });
  containAsyncFailures(logger);
  const print = (line: string) => process.stdout.write(`${line}\n`);

  const { puppet, world } = await choosePuppet(config);
  const corpId = config.BOT_CORP_ID ?? (config.sandbox ? DEMO_CORP_ID : config.WECOM_CORP_ID!);
  const memberUserid = config.BOT_MEMBER_USERID ?? (config.sandbox ? DEMO_MEMBER : null);

  let embedded: EmbeddedServer | undefined;
  let database: DatabaseHandle | undefined;
  let bot: BotHandle | undefined;
  let rl: readline.Interface | undefined;
  // Wechaty keeps handles open after stop(): onStopSignals ends the process.
  onStopSignals(logger, async () => {
    rl?.close();
    await bot?.stop();
    await database?.close();
    await embedded?.stop();
  });

  try {
    const opened = await openBotDatabase(config, logger);
    embedded = opened.embedded;
    database = openDatabase({ url: opened.url, poolMax: config.DATABASE_POOL_MAX, logger });
    await migrateToLatest(database.db as unknown as Kysely<unknown>, logger);
    await seedKnowledgeBase(database.db);
    if (memberUserid) {
      const member = await database.db.selectFrom('staff').select('id').where('corp_id', '=', corpId).where('wecom_userid', '=', memberUserid).executeTakeFirst();
      if (!member) logger.warn({ corpId, memberUserid }, 'the bot’s member is not a known staff member yet: handoff alerts are queued as WeCom app messages only');
    }
    // Domain events stay in this process: the engine publishes them, nothing here needs to react.
    const events = new EventBus(logger);
    const engine = buildReplyEngine({ config, db: database.db, logger, events });
    if (world) showWorld(world, print);
    bot = await startBot(engine.deps, {
      name: config.BOT_NAME,
      puppet,
      corpId,
      memberUserid,
      limits: { perMinute: config.BOT_SENDS_PER_MINUTE, burst: config.BOT_SEND_BURST, conversationIntervalMs: config.BOT_CONVERSATION_INTERVAL_MS },
      reconnect: { enabled: config.BOT_RECONNECT, maxDelayMs: config.BOT_RECONNECT_MAX_MS },
      print,
    });
    if (world) {
      await bot.loggedIn();
      const names = world.customers.map((c, i) => `${i + 1} ${world.nameOf(c.id)}`).join('，');
      print(
        `\n  ${config.BOT_NAME} is logged in to a simulated WeChat (sandbox mode, BOT_PUPPET=mock).\n` +
          `  Customers: ${names}; group chat: ${world.mocker.cacheRoomPayload.get(world.room.id)?.topic}.\n` +
          `  Handoffs alert ${memberUserid ?? 'nobody'} (corp ${corpId}); answers are recorded in reply_log and outbox.\n` +
          `  Type to speak as customer 1: "text" to the bot, "@text" in the group mentioning the bot, "#text" in the group;\n` +
          `  start with "2 " or "3 " to speak as another customer. Ctrl-C stops.\n`,
      );
      world.sayToBot(world.customers[0]!, DEMO_QUESTION);
      rl = typeAsCustomers(world);
    }
  } catch (error) {
    logger.fatal({ err: error }, 'bot failed to start');
    await bot?.stop().catch(() => undefined);
    await database?.close().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    process.exit(1);
  }
}

void main();
