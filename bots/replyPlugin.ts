import { types, type Message, type Wechaty, type WechatyPlugin } from 'wechaty';
import { deliver, type SendOutcome } from '../src/outbox/index.js';
import type { OutboxStatus } from '../src/platform/db/schema.js';
import { handleInbound, type InboundMessage, type ReplyDecision, type ReplyDeps } from '../src/replies/index.js';
import type { ConversationQueues } from './conversations.js';
import { SendLimiterClosed, type SendLimiter } from './rateLimit.js';

/**
 * The bot's replies as a Wechaty plugin: every text a customer writes (one to one, or in a room
 * with an @-mention of the bot) goes into the reply engine, and the answer the engine wrote to the
 * outbox is said back by this bot — into the room mentioning the customer, or into the chat —
 * within the send limits. The engine records each message once under its Wechaty id, so a
 * message delivered twice is answered once.
 */
export interface HandledMessage {
  messageId: string;
  conversation: string;
  isGroup: boolean;
  decision: ReplyDecision['decision'];
  /** False when the message had been handled before (a redelivery). */
  fresh: boolean;
  reason?: string;
  outboxId?: string;
  /** The answer's outbox status after this bot's attempt; undefined when there is no answer. */
  delivery?: OutboxStatus;
}

export interface ReplyContext {
  deps: ReplyDeps;
  /** The corp the bot's conversations belong to, and the member it works for (handoffs alert them). */
  corpId: string | null;
  memberUserid: string | null;
  limiter: SendLimiter;
  conversations: ConversationQueues;
}

export interface ReplyPluginOptions extends ReplyContext {
  /** Messages sent before this instant (history a puppet replays at login) are not answered. */
  since: Date;
  onHandled?: (handled: HandledMessage) => void;
}

/** Says an outbox row's text with the bot: into a room (mentioning `payload.mention`) or to a contact. */
export async function sayAnswer(bot: Wechaty, recipient: string, payload: Record<string, unknown>): Promise<SendOutcome> {
  const text = typeof payload.text === 'string' ? payload.text : '';
  if (!text) return { status: 'failed', error: 'the answer has no text' };
  if (payload.room === true) {
    const room = await bot.Room.find({ id: recipient });
    if (!room) return { status: 'failed', error: `the bot is not in room ${recipient}` };
    const mention = typeof payload.mention === 'string' ? await bot.Contact.find({ id: payload.mention }) : undefined;
    if (mention) await room.say(text, mention);
    else await room.say(text);
  } else {
    const contact = await bot.Contact.find({ id: recipient });
    if (!contact) return { status: 'failed', error: `contact ${recipient} not found` };
    await contact.say(text);
  }
  return { status: 'sent' };
}

/**
 * Sends a pending answer row once a send slot is free; returns its status afterwards. Rows already
 * sent (a redelivered message) are left alone; a send that fails leaves the row pending for the
 * next login's resend. Call it inside the conversation's queue so answers keep their order.
 */
export async function deliverAnswer(bot: Wechaty, ctx: Pick<ReplyContext, 'deps' | 'limiter'>, row: { id: string; recipient: string }): Promise<OutboxStatus | undefined> {
  const { db, logger } = ctx.deps;
  const current = await db.selectFrom('outbox').select('status').where('id', '=', row.id).executeTakeFirst();
  if (current?.status !== 'pending') return current?.status;
  try {
    await ctx.limiter.acquire(row.recipient);
  } catch (error) {
    if (error instanceof SendLimiterClosed) {
      logger.info({ outboxId: row.id }, 'bot stopping; the answer stays queued in the outbox');
      return 'pending';
    }
    throw error;
  }
  const status = await deliver(db, row.id, (payload) => sayAnswer(bot, row.recipient, payload));
  if (status === 'pending') logger.warn({ outboxId: row.id }, 'the bot could not say the answer; it is sent again after the next login');
  return status;
}

/** The engine's view of a Wechaty message, or undefined when there is nothing to answer. */
async function inboundOf(bot: Wechaty, message: Message, ctx: ReplyContext): Promise<InboundMessage | undefined> {
  const room = message.room();
  const talker = message.talker();
  const mentioned = await message.mentionSelf();
  const text = (room ? await message.mentionText() : message.text()).trim();
  if (!text) return undefined;
  const conversation = room?.id ?? talker.id;
  return {
    channel: 'bot',
    messageId: message.id,
    corpId: ctx.corpId,
    conversation,
    sender: talker.id,
    memberUserid: ctx.memberUserid,
    isGroup: Boolean(room),
    mentioned,
    text,
    reply: {
      channel: 'bot',
      recipient: conversation,
      sender: bot.isLoggedIn ? bot.currentUser.id : null,
      extra: room ? { room: true, mention: talker.id } : { room: false },
    },
  };
}

/** Messages the engine should never see: the bot's own, non-text, replayed history, official accounts. */
function skipReason(message: Message, since: Date): string | undefined {
  if (message.self()) return 'self';
  if (message.type() !== types.Message.Text) return 'not text';
  if (message.date().getTime() < since.getTime()) return 'sent before the bot started';
  if (message.talker().type() === types.Contact.Official) return 'official account';
  return undefined;
}

export function replyPlugin(options: ReplyPluginOptions): WechatyPlugin {
  return (bot) => {
    const log = options.deps.logger.child({ component: 'bot-replies' });

    const answer = async (message: Message): Promise<void> => {
      const inbound = await inboundOf(bot, message, options);
      if (!inbound) return;
      const decision = await handleInbound(options.deps, inbound);
      const delivery = decision.outboxId ? await deliverAnswer(bot, options, { id: decision.outboxId, recipient: inbound.reply.recipient }) : undefined;
      const handled: HandledMessage = {
        messageId: inbound.messageId, conversation: inbound.conversation, isGroup: inbound.isGroup,
        decision: decision.decision, fresh: decision.fresh, reason: decision.reason, outboxId: decision.outboxId, delivery,
      };
      log.info({ ...handled, reason: undefined }, 'bot message handled');
      options.onHandled?.(handled);
    };

    const onMessage = (message: Message) => {
      const skip = skipReason(message, options.since);
      if (skip) {
        log.debug({ messageId: message.id, skip }, 'bot message skipped');
        return;
      }
      const conversation = message.room()?.id ?? message.talker().id;
      options.conversations.run(conversation, () => answer(message)).catch((error: unknown) => {
        log.error({ err: error, messageId: message.id, conversation }, 'bot message not handled');
      });
    };

    bot.on('message', onMessage);
    return () => {
      bot.off('message', onMessage);
    };
  };
}
