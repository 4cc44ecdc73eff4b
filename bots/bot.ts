import { EventEmitter } from 'node:events';
import { WechatyBuilder, qrcodeValueToImageUrl, types, type Wechaty } from 'wechaty';
import type { ReplyDeps } from '../src/replies/index.js';
import { ConversationQueues } from './conversations.js';
import { wechatyPuppetOptions, type BotPuppet } from './puppet.js';
import { DEFAULT_SEND_LIMITS, SendLimiter, type SendLimits } from './rateLimit.js';
import { deliverAnswer, replyPlugin, type HandledMessage } from './replyPlugin.js';

/**
 * A Wechaty bot that answers customers with the reply engine: it logs in through its puppet, routes
 * every message to the engine (replyPlugin), says the answers within the send limits, and comes
 * back after a logout or a puppet failure (restarting the puppet with backoff). After each login it
 * says the answers that were left pending while it was away.
 */
export interface BotOptions {
  /** The Wechaty instance's name (logs, and a real puppet's session). */
  name: string;
  puppet: BotPuppet;
  /** The corp the conversations belong to and the member the bot works for: handoffs alert them. */
  corpId: string | null;
  memberUserid: string | null;
  limits?: SendLimits;
  reconnect?: { enabled: boolean; minDelayMs?: number; maxDelayMs?: number };
  /** Answers still pending and younger than this are said after a login; older ones are left for a person. */
  resendWindowMs?: number;
  /** Where a production puppet's scan URL is shown to a person (default: stdout). */
  print?: (line: string) => void;
}

export interface BotHandle {
  wechaty: Wechaty;
  events: EventEmitter<{ handled: [HandledMessage]; login: [string]; logout: [string] }>;
  /** The account's contact id once logged in (at once when it is). */
  loggedIn(): Promise<string>;
  /** Resolves when every message received so far has been answered or left queued. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

export const DEFAULT_RESEND_WINDOW_MS = 10 * 60_000;

/** Exponential backoff with ±20% jitter: min · 2^attempt, never above max. */
export function reconnectDelay(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(Math.min(maxMs, base * (0.8 + 0.4 * random())));
}

export async function startBot(deps: ReplyDeps, options: BotOptions): Promise<BotHandle> {
  const log = deps.logger.child({ component: 'bot', bot: options.name });
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const reconnect = { enabled: options.reconnect?.enabled ?? true, minDelayMs: options.reconnect?.minDelayMs ?? 1000, maxDelayMs: options.reconnect?.maxDelayMs ?? 300_000 };
  const resendWindowMs = options.resendWindowMs ?? DEFAULT_RESEND_WINDOW_MS;
  const limiter = new SendLimiter(options.limits ?? DEFAULT_SEND_LIMITS);
  const conversations = new ConversationQueues();
  const events = new EventEmitter<{ handled: [HandledMessage]; login: [string]; logout: [string] }>();
  const wechaty = WechatyBuilder.build({ name: options.name, ...wechatyPuppetOptions(options.puppet) });
  const ctx = { deps, corpId: options.corpId, memberUserid: options.memberUserid, limiter, conversations };

  const uninstall = wechaty.use(replyPlugin({ ...ctx, since: new Date(), onHandled: (h) => events.emit('handled', h) }));

  let stopping = false;
  let restarting = false;
  let attempt = 0;
  let timer: NodeJS.Timeout | undefined;

  const restart = (why: string) => {
    if (stopping || restarting || timer || !reconnect.enabled) return;
    const delayMs = reconnectDelay(attempt++, reconnect.minDelayMs, reconnect.maxDelayMs);
    log.warn({ why, attempt, delayMs }, 'restarting the puppet');
    timer = setTimeout(() => {
      timer = undefined;
      restarting = true;
      void (async () => {
        try {
          await wechaty.stop();
          if (!stopping) await wechaty.start();
          restarting = false;
        } catch (error) {
          restarting = false;
          log.error({ err: error }, 'puppet restart failed');
          restart('restart failed');
        }
      })();
    }, delayMs);
  };

  /** Answers left pending (the bot was offline, or stopped while they waited for a slot). */
  const resendPending = async (selfId: string) => {
    const rows = await deps.db
      .selectFrom('outbox')
      .select(['id', 'recipient'])
      .where('channel', '=', 'bot')
      .where('corp_id', '=', options.corpId ?? 'bot')
      .where('sender', '=', selfId)
      .where('status', '=', 'pending')
      .where('created_at', '>', new Date(Date.now() - resendWindowMs))
      .orderBy('created_at')
      .execute();
    if (rows.length) log.info({ count: rows.length }, 'saying answers left pending');
    for (const row of rows) {
      conversations.run(row.recipient, () => deliverAnswer(wechaty, ctx, row)).catch((error: unknown) => log.error({ err: error, outboxId: row.id }, 'pending answer not said'));
    }
  };

  wechaty.on('scan', (qrcode, status) => {
    const url = qrcodeValueToImageUrl(qrcode);
    log.info({ status: types.ScanStatus[status], url }, 'scan');
    if (options.puppet.kind !== 'mock' && (status === types.ScanStatus.Waiting || status === types.ScanStatus.Timeout)) {
      print(`Scan with WeChat to log ${options.name} in: ${url}`);
    }
  });
  wechaty.on('login', (user) => {
    attempt = 0;
    log.info({ userId: user.id, name: user.name() }, 'logged in');
    events.emit('login', user.id);
    resendPending(user.id).catch((error: unknown) => log.error({ err: error }, 'could not look for pending answers'));
  });
  wechaty.on('logout', (user, reason) => {
    events.emit('logout', user.id);
    if (stopping || restarting) return;
    log.warn({ userId: user.id, reason }, 'logged out');
    restart('logout');
  });
  wechaty.on('error', (error) => {
    log.error({ err: error }, 'wechaty error');
    if (!wechaty.isLoggedIn) restart('error while logged out');
  });

  await wechaty.start();
  log.info({ puppet: options.puppet.kind, corpId: options.corpId, memberUserid: options.memberUserid, limits: limiter.limits }, 'bot started');

  return {
    wechaty,
    events,
    loggedIn: () =>
      wechaty.isLoggedIn ? Promise.resolve(wechaty.currentUser.id) : new Promise<string>((resolve) => events.once('login', resolve)),
    settled: () => conversations.settled(),
    async stop() {
      if (stopping) return;
      stopping = true;
      clearTimeout(timer);
      uninstall();
      // Sends waiting for a slot stay pending in the outbox; work in flight finishes first.
      limiter.close();
      await conversations.settled();
      await wechaty.stop();
      log.info('bot stopped');
    },
  };
}
