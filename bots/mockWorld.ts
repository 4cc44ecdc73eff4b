import { EventEmitter } from 'node:events';
import { PuppetMock, mock } from 'wechaty-puppet-mock';

/**
 * A simulated WeChat world on wechaty-puppet-mock: the bot's own account, customers who write to
 * it, and a group chat. Every start of the puppet logs the bot's account in (as a phone would
 * after a scan), so a restarted bot comes back on its own. Sandbox mode and the tests use it.
 */
export interface WorldMessage {
  id: string;
  /** Contact id of the speaker. */
  from: string;
  /** The room id for a group message, else the listener's contact id. */
  to: string;
  inRoom: boolean;
  text: string;
  mentionIds: string[];
}

export interface MockWorld {
  mocker: mock.Mocker;
  puppet: PuppetMock;
  /** The bot's own WeChat account. */
  self: mock.ContactMock;
  customers: mock.ContactMock[];
  room: mock.RoomMock;
  /** Every text message said in the world, in order. */
  messages: WorldMessage[];
  events: EventEmitter<{ message: [WorldMessage] }>;
  /** A new customer (and member of the room). */
  addCustomer(name: string): mock.ContactMock;
  /** The customer writes to the bot one to one; returns the message. */
  sayToBot(customer: mock.ContactMock, text: string): WorldMessage;
  /** The customer writes in the room, @-mentioning the bot (as WeChat writes it: "@name\u2005text") or not. */
  sayInRoom(customer: mock.ContactMock, text: string, options?: { mentionBot?: boolean }): WorldMessage;
  /** The puppet announces a message again (as puppets do after a reconnect). */
  redeliver(messageId: string): void;
  /** What the bot said into a conversation (a customer's chat or the room), in order. */
  botSaid(conversationId: string): string[];
  nameOf(contactId: string): string;
}

export const DEFAULT_CUSTOMERS = ['王建国', '李秀英', '陈阿姨'];
export const DEFAULT_ROOM_TOPIC = '星河银行理财交流群';

export function createMockWorld(options: { botName: string; customers?: string[]; roomTopic?: string }): MockWorld {
  const mocker = new mock.Mocker();
  const self = mocker.createContact({ name: options.botName });
  const customers = (options.customers ?? DEFAULT_CUSTOMERS).map((name) => mocker.createContact({ name }));
  const room = mocker.createRoom({ topic: options.roomTopic ?? DEFAULT_ROOM_TOPIC, memberIdList: [self.id, ...customers.map((c) => c.id)], ownerId: self.id });
  mocker.use(() => {
    mocker.login(self);
    return () => undefined;
  });
  const puppet = new PuppetMock({ mocker });
  const messages: WorldMessage[] = [];
  const events = new EventEmitter<{ message: [WorldMessage] }>();
  // The puppet announces every message, the customers' and the bot's; the payload is in the mocker.
  puppet.on('message', ({ messageId }) => {
    const p = mocker.cacheMessagePayload.get(messageId);
    if (!p || typeof p.text !== 'string') return;
    const roomId = 'roomId' in p ? p.roomId : undefined;
    const entry: WorldMessage = {
      id: p.id,
      from: p.talkerId ?? '',
      to: roomId ?? ('listenerId' in p ? p.listenerId ?? '' : ''),
      inRoom: Boolean(roomId),
      text: p.text,
      mentionIds: 'mentionIdList' in p ? p.mentionIdList ?? [] : [],
    };
    messages.push(entry);
    events.emit('message', entry);
  });

  // The mock announces a message synchronously inside say().to(): it is the speaker's last one.
  const lastFrom = (contactId: string): WorldMessage => {
    const found = messages.findLast((m) => m.from === contactId);
    if (!found) throw new Error(`no message from ${contactId}`);
    return found;
  };

  const world: MockWorld = {
    mocker, puppet, self, customers, room, messages, events,
    addCustomer(name) {
      const contact = mocker.createContact({ name });
      const payload = mocker.roomPayload(room.id);
      mocker.roomPayload(room.id, { ...payload, memberIdList: [...payload.memberIdList, contact.id] });
      customers.push(contact);
      return contact;
    },
    sayToBot(customer, text) {
      customer.say(text).to(self);
      return lastFrom(customer.id);
    },
    sayInRoom(customer, text, opts = {}) {
      if (opts.mentionBot) customer.say(`@${options.botName}\u2005${text}`, [self]).to(room);
      else customer.say(text).to(room);
      return lastFrom(customer.id);
    },
    redeliver(messageId) {
      puppet.emit('message', { messageId });
    },
    botSaid(conversationId) {
      return messages.filter((m) => m.from === self.id && m.to === conversationId).map((m) => m.text);
    },
    nameOf(contactId) {
      return mocker.cacheContactPayload.get(contactId)?.name ?? contactId;
    },
  };
  return world;
}
