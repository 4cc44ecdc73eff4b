import type { ComplianceGate, GateDecision } from '../compliance/index.js';
import type { CustomerFacts } from '../compliance/index.js';
import type { Db } from '../platform/db/database.js';
import type { ActorType, OutboxStatus } from '../platform/db/schema.js';
import type { Cause } from '../platform/events.js';

/**
 * The one way a message enters the outbox. The row is written under its idempotency key before any
 * provider call, after the compliance gate has judged the content for this customer (forbidden
 * phrases, disclosures appended, suitability of the products named, marketing consent). A blocked
 * message is kept as a `blocked` row with the findings, so the cause can see why; a second call
 * with the same key returns the first row and judges nothing again.
 */
export type OutboundChannel =
  /** send_welcome_msg with the add event's WelcomeCode */
  | 'welcome'
  /** add_msg_template chat_type single: the member (sender) confirms, then the customer receives it */
  | 'mass_single'
  /** add_msg_template chat_type group: recipient is a chat_id owned by the sender */
  | 'mass_group'
  /** message/send to a member (recipient = the member's userid) */
  | 'app_message'
  /** kf/send_msg (recipient = the customer's external_userid; payload carries open_kfid) */
  | 'kf'
  /** a Wechaty bot's chat (recipient = the bot's contact or room id) */
  | 'bot'
  /** prepared content the member sends from the sidebar; no API call, the sidebar marks it sent */
  | 'sidebar';

export interface OutboundContent {
  text: string;
  /** WeCom attachment objects (SHAPES: image, link, miniprogram, video, file), at most 9. */
  attachments?: unknown[];
}

export interface QueueInput {
  idempotencyKey: string;
  corpId: string;
  channel: OutboundChannel;
  recipient: string;
  sender?: string | null;
  /** The bank customer the message is for, when known: consent, suitability, quota and timeline. */
  customerId?: string | null;
  content: OutboundContent;
  /** Products the content carries (product cards, named products): disclosures and suitability. */
  productIds?: string[];
  purpose: 'marketing' | 'service';
  cause: Cause;
  /** What the row belongs to: { type: 'sop_step_run' | 'mass_send' | 'reply' | ..., id }. */
  ref?: { type: string; id: string };
  /** Channel-specific fields kept in the payload beside text and attachments (welcome_code, open_kfid, ...). */
  extra?: Record<string, unknown>;
  /**
   * Rows with the same group key go out together in one provider call (one add_msg_template for
   * up to 10,000 recipients). Only rows of one corp, channel, sender and content may share a key,
   * e.g. `mass:<massSendId>:<sender>`; without one each row is its own call.
   */
  groupKey?: string | null;
  notBefore?: Date | null;
  expiresAt?: Date | null;
  /** Staff wrote the text (not approved material): held for review when it reads like marketing and did not pass. */
  freeText?: { authorId: string };
  now?: Date;
}

export interface QueuedMessage {
  id: string;
  status: OutboxStatus;
  /** False when a row with the same key already existed (nothing was judged or written). */
  created: boolean;
  verdict: 'pass' | 'warn' | 'block' | null;
  /** The gate's decision, when this call made it. */
  decision?: GateDecision;
}

export interface OutboxPayload extends Record<string, unknown> {
  text: string;
  attachments: unknown[];
}

const actorTypeOf = (cause: Cause): ActorType => (cause.type === 'member' ? 'staff' : cause.type === 'customer' ? 'customer' : cause.type === 'sop' ? 'sop' : 'system');

/** What the gate needs to know about a customer; undefined when the customer is unknown. */
export async function customerFacts(db: Db, customerId: string | null | undefined): Promise<CustomerFacts | undefined> {
  if (!customerId) return undefined;
  const row = await db.selectFrom('customers').select(['risk_level', 'risk_assessed_at', 'marketing_consent']).where('id', '=', customerId).executeTakeFirst();
  if (!row) return undefined;
  return { riskLevel: row.risk_level, riskAssessedAt: row.risk_assessed_at ? String(row.risk_assessed_at) : null, marketingConsent: row.marketing_consent };
}

async function existing(db: Db, key: string): Promise<QueuedMessage | undefined> {
  const row = await db.selectFrom('outbox').select(['id', 'status', 'verdict']).where('idempotency_key', '=', key).executeTakeFirst();
  return row && { id: row.id, status: row.status, verdict: row.verdict, created: false };
}

const judged = (input: QueueInput) => ({
  input: { text: input.content.text, productIds: input.productIds ?? [], purpose: input.purpose, now: input.now },
  caller: { actorType: actorTypeOf(input.cause), actorId: input.cause.id ?? null, source: input.channel, target: input.ref },
});

/** The outbox row for an input and the gate's decision on it. */
function outboxRow(input: QueueInput, decision: GateDecision) {
  const payload: OutboxPayload = { ...input.extra, text: decision.text, attachments: input.content.attachments ?? [] };
  const blocked = decision.verdict === 'block';
  return {
    idempotency_key: input.idempotencyKey,
    corp_id: input.corpId,
    channel: input.channel,
    recipient: input.recipient,
    sender: input.sender ?? null,
    customer_id: input.customerId ?? null,
    payload: JSON.stringify(payload),
    status: blocked ? ('blocked' as const) : ('pending' as const),
    last_error: blocked ? blockReason(decision) : null,
    purpose: input.purpose,
    verdict: decision.verdict,
    findings: JSON.stringify(decision.findings),
    rule_set_version: decision.ruleSetVersion,
    review_id: decision.reviewId ?? null,
    ref_type: input.ref?.type ?? null,
    ref_id: input.ref?.id ?? null,
    group_key: input.groupKey ?? null,
    cause_type: input.cause.type,
    cause_id: input.cause.id ?? null,
    not_before: input.notBefore ?? null,
    expires_at: input.expiresAt ?? null,
    errcode: null,
    result: null,
    sent_at: null,
  };
}

export async function queueMessage(deps: { db: Db; gate: ComplianceGate }, input: QueueInput): Promise<QueuedMessage> {
  const { db, gate } = deps;
  const found = await existing(db, input.idempotencyKey);
  if (found) return found;
  const { input: check, caller } = judged(input);
  const decision = await gate.checkAndRecord({ ...check, customer: await customerFacts(db, input.customerId) }, caller, input.freeText ? { freeText: true, authorId: input.freeText.authorId } : {});
  const inserted = await db
    .insertInto('outbox')
    .values(outboxRow(input, decision))
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .returning(['id', 'status'])
    .executeTakeFirst();
  // Another caller wrote the same key between our look and our insert: theirs stands.
  if (!inserted) return (await existing(db, input.idempotencyKey))!;
  return { id: inserted.id, status: inserted.status, verdict: decision.verdict, created: true, decision };
}

/**
 * Many automated messages at once (an SOP round, a page of a mass send), with the same outcome as
 * queueMessage for each, in the order given: keys already in the outbox are returned as they are and
 * judged no more; the rest are judged, audited and written in one statement each. Staff free text
 * goes through queueMessage (it may need a review).
 */
export async function queueMessages(deps: { db: Db; gate: ComplianceGate }, inputs: readonly QueueInput[]): Promise<QueuedMessage[]> {
  const { db, gate } = deps;
  if (!inputs.length) return [];
  if (inputs.some((i) => i.freeText)) throw new Error('queueMessages is for automated messages; staff free text goes through queueMessage');
  const byKey = new Map<string, QueuedMessage>();
  const keys = [...new Set(inputs.map((i) => i.idempotencyKey))];
  for (const row of await db.selectFrom('outbox').select(['id', 'status', 'verdict', 'idempotency_key']).where('idempotency_key', 'in', keys).execute()) {
    byKey.set(row.idempotency_key, { id: row.id, status: row.status, verdict: row.verdict, created: false });
  }
  const fresh = inputs.filter((input, i) => !byKey.has(input.idempotencyKey) && inputs.findIndex((x) => x.idempotencyKey === input.idempotencyKey) === i);
  if (fresh.length) {
    const customerIds = [...new Set(fresh.map((i) => i.customerId).filter((id): id is string => Boolean(id)))];
    const facts = new Map<string, CustomerFacts>();
    if (customerIds.length) {
      const rows = await db.selectFrom('customers').select(['id', 'risk_level', 'risk_assessed_at', 'marketing_consent']).where('id', 'in', customerIds).execute();
      for (const r of rows) facts.set(r.id, { riskLevel: r.risk_level, riskAssessedAt: r.risk_assessed_at ? String(r.risk_assessed_at) : null, marketingConsent: r.marketing_consent });
    }
    const decisions = await gate.checkAndRecordMany(
      fresh.map((input) => {
        const { input: check, caller } = judged(input);
        return { input: { ...check, customer: input.customerId ? facts.get(input.customerId) : undefined }, caller };
      }),
    );
    const inserted = await db
      .insertInto('outbox')
      .values(fresh.map((input, i) => outboxRow(input, decisions[i]!)))
      .onConflict((oc) => oc.column('idempotency_key').doNothing())
      .returning(['id', 'status', 'idempotency_key'])
      .execute();
    const made = new Map(inserted.map((r) => [r.idempotency_key, r]));
    const lost: string[] = [];
    fresh.forEach((input, i) => {
      const row = made.get(input.idempotencyKey);
      if (row) byKey.set(input.idempotencyKey, { id: row.id, status: row.status, verdict: decisions[i]!.verdict, created: true, decision: decisions[i] });
      else lost.push(input.idempotencyKey);
    });
    // Written by another caller between our look and our insert: theirs stands.
    if (lost.length) {
      for (const row of await db.selectFrom('outbox').select(['id', 'status', 'verdict', 'idempotency_key']).where('idempotency_key', 'in', lost).execute()) {
        byKey.set(row.idempotency_key, { id: row.id, status: row.status, verdict: row.verdict, created: false });
      }
    }
  }
  return inputs.map((input) => byKey.get(input.idempotencyKey)!);
}

/** Why a message was blocked, in one line for the row and the run that caused it. */
export function blockReason(decision: GateDecision): string {
  const reasons: string[] = [];
  const rules = [...new Set(decision.findings.filter((f) => f.kind === 'block').map((f) => `${f.rule}「${f.match}」`))];
  if (rules.length) reasons.push(`违规用语：${rules.join('、')}`);
  for (const s of decision.suitability.filter((s) => !s.ok)) reasons.push(`适当性：${s.reason}`);
  if (!decision.consent.ok) reasons.push('客户未授权营销信息');
  return reasons.join('；') || '合规检查未通过';
}
