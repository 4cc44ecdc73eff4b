import { EventEmitter } from 'node:events';
import type { Logger } from './logger.js';

/**
 * What caused something. Every domain event and every automated action carries one, so that
 * automation can ignore its own effects (a loop guard) and the timeline can say why.
 */
export type Cause =
  | { type: 'member'; id: string }
  | { type: 'customer'; id: string }
  | { type: 'sop'; id: string }
  | { type: 'system'; id?: string };

export const causeLabel = (cause: Cause) => (cause.type === 'system' && !cause.id ? 'system' : `${cause.type}:${cause.id}`);

/** Every domain event name, in one place. Payloads are typed below. */
export const EVENTS = {
  staffLoggedIn: 'staff.logged_in',
  settingChanged: 'setting.changed',
  customerImported: 'customer.imported',
  customerUpdated: 'customer.updated',
  contactAdded: 'contact.added',
  contactDeletedByCustomer: 'contact.deleted_by_customer',
  contactDeletedByMember: 'contact.deleted_by_member',
  contactTransferFailed: 'contact.transfer_failed',
  contactEdited: 'contact.edited',
  tagsChanged: 'tags.changed',
  groupChanged: 'group.changed',
  messageReceived: 'message.received',
  wecomSynced: 'wecom.synced',
  cardVisited: 'card.visited',
  messageClassified: 'message.classified',
  handoffRequested: 'handoff.requested',
  sopEnrolled: 'sop.enrolled',
} as const;

export type EventName = (typeof EVENTS)[keyof typeof EVENTS];

export interface EventPayloads {
  'staff.logged_in': { staffId: string };
  'setting.changed': { key: string; version: number };
  'customer.imported': { customerId: string; created: boolean };
  'customer.updated': { customerId: string; changed: Record<string, { from: unknown; to: unknown }> };
  'contact.added': { corpId: string; userid: string; externalUserid: string; state?: string; welcomeCode?: string };
  'contact.deleted_by_customer': { corpId: string; userid: string; externalUserid: string };
  'contact.deleted_by_member': { corpId: string; userid: string; externalUserid: string; source?: string };
  'contact.transfer_failed': { corpId: string; userid: string; externalUserid: string; reason: string };
  'contact.edited': { corpId: string; userid: string; externalUserid: string };
  'tags.changed': { corpId: string; externalUserid?: string; added: string[]; removed: string[] };
  'group.changed': { corpId: string; chatId: string; change: string };
  /** `from` is the customer's external_userid (or a member's userid on the app channel); `intents` as detected by the reply engine. */
  'message.received': { channel: string; from: string; text: string; corpId?: string; intents?: string[]; messageId?: string };
  /** The reply engine read a customer's message: what it is about, for triggers and tags. */
  'message.classified': { channel: string; from: string; text: string; corpId?: string; customerId?: string | null; intents: string[]; messageId: string };
  /** A customer needs a person: the member is alerted and the customer told someone is coming. */
  'handoff.requested': { channel: string; corpId?: string; customerId?: string | null; externalUserid?: string; memberUserid?: string | null; reason: string; text: string };
  'wecom.synced': { corpId: string; runId: string };
  'card.visited': { corpId: string; memberUserid: string; externalUserid?: string; customerId?: string; visitorId: string };
  'sop.enrolled': { templateId: string; templateKey: string; enrollmentIds: string[] };
}

export interface DomainEvent<N extends EventName = EventName> {
  name: N;
  payload: EventPayloads[N];
  cause: Cause;
  at: Date;
}

type Handler<N extends EventName> = (event: DomainEvent<N>) => void | Promise<void>;

/**
 * In-process bus. Handlers run after the publisher's work, one failure never stops the others, and
 * every failure is logged with the event. Durable work belongs in a job the handler enqueues.
 */
export class EventBus {
  private readonly emitter = new EventEmitter({ captureRejections: false });
  private readonly pending = new Set<Promise<void>>();
  /** The handler runs of an event published with publishAndWait, and their failures. */
  private readonly awaited = new WeakMap<object, { runs: Promise<void>[]; failures: unknown[] }>();

  constructor(private readonly logger: Logger) {
    this.emitter.setMaxListeners(100);
  }

  on<N extends EventName>(name: N, handler: Handler<N>): () => void {
    const listener = (event: DomainEvent<N>) => {
      const run = (async () => {
        try {
          await handler(event);
        } catch (error) {
          this.logger.error({ err: error, event: event.name, cause: event.cause }, 'event handler failed');
          this.awaited.get(event)?.failures.push(error);
        }
      })();
      this.awaited.get(event)?.runs.push(run);
      this.pending.add(run);
      void run.finally(() => this.pending.delete(run));
    };
    this.emitter.on(name, listener);
    return () => this.emitter.off(name, listener);
  }

  publish<N extends EventName>(name: N, payload: EventPayloads[N], cause: Cause): void {
    const event: DomainEvent<N> = { name, payload, cause, at: new Date() };
    this.emitter.emit(name, event);
  }

  /**
   * Publishes and resolves once this event's handlers have finished; rejects when one of them failed. For a
   * publisher that keeps the event until it has been handled (the import follow-up), so it can publish it again.
   */
  async publishAndWait<N extends EventName>(name: N, payload: EventPayloads[N], cause: Cause): Promise<void> {
    const event: DomainEvent<N> = { name, payload, cause, at: new Date() };
    const record = { runs: [] as Promise<void>[], failures: [] as unknown[] };
    this.awaited.set(event, record);
    this.emitter.emit(name, event); // listeners are called synchronously, so every run is recorded here
    await Promise.all(record.runs);
    if (record.failures.length) throw new Error(`${record.failures.length} handler(s) of ${name} failed`, { cause: record.failures[0] });
  }

  /** Resolves when every handler started so far has finished (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }
}
