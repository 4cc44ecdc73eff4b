import { sql } from 'kysely';
import type { ComplianceGate } from '../compliance/index.js';
import { compileFilter } from '../filters/index.js';
import { getApprovedMaterial, materialContent } from '../materials/index.js';
import { blockReason, queueMessage, queueMessages, type OutboundChannel, type QueueInput } from '../outbox/index.js';
import type { Db } from '../platform/db/database.js';
import type { Cause, EventBus } from '../platform/events.js';
import type { Logger } from '../platform/logger.js';
import { changeCustomerTags, resolveTagNames } from '../tags/index.js';
import type { WeComGateway } from '../wecom/client/index.js';
import type { StepOf, SopStep, SopTemplate } from './definition.js';
import { renderText } from './render.js';
import { outOfQuietHours, parseDuration, resolveWait, type QuietHours, type WorkingCalendar } from './schedule.js';
import { subjectVariables, type Subject } from './subjects.js';

/**
 * What each kind of step does for one enrollment. A step is re-run after a crash, so every effect is
 * keyed: outbox rows by `sop:<step run id>`, tasks by the step run, tags are sets.
 */
export interface StepDeps {
  db: Db;
  gate: ComplianceGate;
  events?: EventBus;
  gateway?: WeComGateway;
  logger: Logger;
  /** Tells a member's open consoles and sidebars (task created, alert). */
  notifyMember?: (staffId: string, event: string, data: unknown) => void;
}

export interface StepContext {
  stepRunId: string;
  /** When the step became due: a wait counts from then, a branch waits for replies from then on. */
  createdAt: Date;
  /** What the step run found the last time it ran (a wait's end). */
  result: Record<string, unknown> | null;
  template: SopTemplate;
  versionId: string;
  subject: Subject;
  now: Date;
  timezone: string;
  quietHours: QuietHours;
  calendar: WorkingCalendar;
}

export type StepOutcome =
  | { status: 'done'; next?: string; result?: Record<string, unknown>; delivery?: string; outboxId?: string }
  | { status: 'skipped'; reason: string }
  | { status: 'waiting'; until: Date; result: Record<string, unknown> }
  | { status: 'failed'; error: string }
  | { status: 'end'; outcome: 'completed' | 'converted' };

const sopCause = (ctx: StepContext): Cause => ({ type: 'sop', id: ctx.subject.templateId });

export async function runStep(deps: StepDeps, step: SopStep, ctx: StepContext): Promise<StepOutcome> {
  if (step.when && !(await customerMatches(deps.db, ctx.subject.customerId, step.when, ctx))) {
    return { status: 'skipped', reason: '不满足步骤条件' };
  }
  switch (step.type) {
    case 'wait': return waitStep(step, ctx);
    case 'send': return sendStep(deps, step, ctx);
    case 'group_send': return groupSendStep(deps, step, ctx);
    case 'tag': return tagStep(deps, step, ctx);
    case 'task': return taskStep(deps, step, ctx);
    case 'notify': return notifyStep(deps, step, ctx);
    case 'branch': return branchStep(deps, step, ctx);
    case 'end': return { status: 'end', outcome: step.outcome };
  }
}

async function customerMatches(db: Db, customerId: string | null, filter: NonNullable<SopStep['when']>, ctx: Pick<StepContext, 'now' | 'timezone'>): Promise<boolean> {
  if (!customerId) return false;
  const row = await db.selectFrom('customers as c').select('c.id').where('c.id', '=', customerId).where(compileFilter(filter, { now: ctx.now, timezone: ctx.timezone })).executeTakeFirst();
  return Boolean(row);
}

/** A wait ends at the resolved moment, moved out of quiet hours so that a journey never moves at night. */
export function waitUntil(step: StepOf<'wait'>, from: Date, ctx: Pick<StepContext, 'calendar' | 'timezone' | 'quietHours'>): Date {
  return outOfQuietHours(resolveWait(from, step, ctx.calendar, ctx.timezone), ctx.quietHours);
}

function waitStep(step: StepOf<'wait'>, ctx: StepContext): StepOutcome {
  const recorded = typeof ctx.result?.waitUntil === 'string' ? new Date(ctx.result.waitUntil) : undefined;
  const until = recorded ?? waitUntil(step, ctx.createdAt, ctx);
  if (until.getTime() > ctx.now.getTime()) return { status: 'waiting', until, result: { waitUntil: until.toISOString() } };
  return { status: 'done', result: { waitUntil: until.toISOString() } };
}

interface Content {
  text: string;
  attachments: unknown[];
  productIds: string[];
}

/** The message of a send step for this subject, or why it cannot be written. */
export async function stepContent(db: Db, step: StepOf<'send'> | StepOf<'group_send'>, subject: Subject, now: Date, timezone: string): Promise<{ ok: true; content: Content } | { ok: false; error: string }> {
  let text = step.text ?? '';
  let attachments: unknown[] = [];
  let productIds = [...step.products];
  if (step.material) {
    let material;
    try {
      material = materialContent(await getApprovedMaterial(db, step.material));
    } catch (error) {
      return { ok: false, error: `素材不可用：${(error as Error).message}` };
    }
    text = step.text ? `${step.text}\n${material.text}` : material.text;
    attachments = material.attachments;
    productIds = [...new Set([...productIds, ...material.productIds])];
  }
  const rendered = renderText(text, subjectVariables(subject, now, timezone));
  if (!rendered.ok) return { ok: false, error: rendered.reason };
  return { ok: true, content: { text: rendered.text, attachments, productIds } };
}

async function blockedReason(db: Db, outboxId: string): Promise<string> {
  const row = await db.selectFrom('outbox').select('last_error').where('id', '=', outboxId).executeTakeFirst();
  return `合规拦截：${row?.last_error ?? '未通过合规检查'}`;
}

/**
 * Which path a message takes. A bot or customer-service chat is used only where the customer is in
 * one; until then the member confirms the send in WeCom, and the step records what was used.
 */
async function deliveryFor(db: Db, via: StepOf<'send'>['via'], subject: Subject): Promise<{ channel: OutboundChannel; delivery: string; extra?: Record<string, unknown> }> {
  if (via === 'sidebar_task') return { channel: 'sidebar', delivery: 'sidebar_task' };
  if (via === 'kf' && subject.externalUserid) {
    const session = await sql<{ channel: string }>`
      SELECT detail->>'channel' AS channel FROM timeline_events
       WHERE external_userid = ${subject.externalUserid} AND kind = 'message_in' AND detail->>'channel' LIKE 'kf:%' AND at > now() - interval '48 hours'
       ORDER BY at DESC LIMIT 1`.execute(db);
    const openKfid = session.rows[0]?.channel.slice('kf:'.length);
    if (openKfid) return { channel: 'kf', delivery: 'kf', extra: { open_kfid: openKfid } };
  }
  return { channel: 'mass_single', delivery: via === 'member_confirm' ? 'member_confirm' : `member_confirm（${via === 'bot' ? '机器人' : '客服'}会话不可用）` };
}

/** The outbox input of a send step for its subject (who has a live relation), keyed by the step run. */
function sendInput(step: StepOf<'send'>, ctx: StepContext, content: Content, channel: OutboundChannel, extra?: Record<string, unknown>): QueueInput {
  const { subject } = ctx;
  return {
    idempotencyKey: `sop:${ctx.stepRunId}`,
    corpId: subject.corpId!,
    channel,
    recipient: subject.externalUserid!,
    sender: subject.memberUserid,
    customerId: subject.customerId,
    content: { text: content.text, attachments: content.attachments },
    productIds: content.productIds,
    purpose: step.purpose,
    cause: sopCause(ctx),
    ref: { type: 'sop_step_run', id: ctx.stepRunId },
    extra,
    notBefore: step.purpose === 'marketing' ? outOfQuietHours(ctx.now, ctx.quietHours) : null,
    now: ctx.now,
  };
}

async function sendStep(deps: StepDeps, step: StepOf<'send'>, ctx: StepContext): Promise<StepOutcome> {
  const { db } = deps;
  const { subject } = ctx;
  if (!subject.memberUserid || !subject.externalUserid || !subject.corpId) return { status: 'skipped', reason: '客户没有企业微信好友关系，无法发送' };
  const made = await stepContent(db, step, subject, ctx.now, ctx.timezone);
  if (!made.ok) return { status: 'failed', error: made.error };
  const { channel, delivery, extra } = await deliveryFor(db, step.via, subject);
  const queued = await queueMessage({ db, gate: deps.gate }, sendInput(step, ctx, made.content, channel, extra));
  if (queued.status === 'blocked') return { status: 'failed', error: await blockedReason(db, queued.id) };
  if (channel === 'sidebar') {
    const text = ((await db.selectFrom('outbox').select('payload').where('id', '=', queued.id).executeTakeFirstOrThrow()).payload as { text: string }).text;
    await createTask(deps, ctx, { kind: 'send', title: step.name ?? '发送旅程消息', body: text, outboxId: queued.id, dueAt: new Date(ctx.now.getTime() + 86_400_000) });
  }
  return { status: 'done', delivery, outboxId: queued.id, result: { verdict: queued.verdict, channel } };
}

/** Whether a step can run in a batch with others (a send that needs no per-customer lookup of its path). */
export const bulkSendable = (step: SopStep): step is StepOf<'send'> => step.type === 'send' && (step.via === 'member_confirm' || step.via === 'bot') && !step.when;

/**
 * Many member-confirmed sends at once (an SOP round): the same outcome for each as sendStep, with the
 * messages judged, audited and written to the outbox in one statement each.
 */
export async function runSendStepsInBulk(deps: StepDeps, items: readonly { step: StepOf<'send'>; ctx: StepContext }[]): Promise<StepOutcome[]> {
  const outcomes: (StepOutcome | undefined)[] = new Array(items.length);
  const inputs: { index: number; input: QueueInput }[] = [];
  for (const [index, { step, ctx }] of items.entries()) {
    const { subject } = ctx;
    if (!subject.memberUserid || !subject.externalUserid || !subject.corpId) {
      outcomes[index] = { status: 'skipped', reason: '客户没有企业微信好友关系，无法发送' };
      continue;
    }
    const made = await stepContent(deps.db, step, subject, ctx.now, ctx.timezone);
    if (!made.ok) {
      outcomes[index] = { status: 'failed', error: made.error };
      continue;
    }
    inputs.push({ index, input: sendInput(step, ctx, made.content, 'mass_single') });
  }
  const queued = await queueMessages({ db: deps.db, gate: deps.gate }, inputs.map((i) => i.input));
  for (const [n, { index }] of inputs.entries()) {
    const q = queued[n]!;
    const step = items[index]!.step;
    if (q.status === 'blocked') {
      outcomes[index] = { status: 'failed', error: q.decision ? `合规拦截：${blockReason(q.decision)}` : await blockedReason(deps.db, q.id) };
    } else {
      outcomes[index] = { status: 'done', delivery: step.via === 'member_confirm' ? 'member_confirm' : 'member_confirm（机器人会话不可用）', outboxId: q.id, result: { verdict: q.verdict, channel: 'mass_single' } };
    }
  }
  return outcomes as StepOutcome[];
}

async function groupSendStep(deps: StepDeps, step: StepOf<'group_send'>, ctx: StepContext): Promise<StepOutcome> {
  const { db } = deps;
  const { subject } = ctx;
  if (!subject.memberUserid || !subject.externalUserid || !subject.corpId) return { status: 'skipped', reason: '客户没有企业微信好友关系，无法群发' };
  let q = db
    .selectFrom('wecom_groups as g')
    .innerJoin('wecom_group_members as gm', (j) => j.onRef('gm.corp_id', '=', 'g.corp_id').onRef('gm.chat_id', '=', 'g.chat_id'))
    .select(['g.chat_id', 'g.owner'])
    .where('g.corp_id', '=', subject.corpId)
    .where('g.owner', '=', subject.memberUserid)
    .where('g.dismissed_at', 'is', null)
    .where('gm.member_id', '=', subject.externalUserid);
  if (step.groupName) q = q.where('g.name', 'like', `%${step.groupName.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  const groups = await q.execute();
  if (!groups.length) return { status: 'skipped', reason: '客户不在客户经理的客户群中' };
  const made = await stepContent(db, step, { ...subject, name: subject.name }, ctx.now, ctx.timezone);
  if (!made.ok) return { status: 'failed', error: made.error };
  const ids: string[] = [];
  for (const group of groups) {
    // One message per group and occurrence, however many of the group's customers are enrolled.
    const queued = await queueMessage(
      { db, gate: deps.gate },
      {
        idempotencyKey: `sop:${subject.templateId}:${step.id}:${subject.occurrence}:${group.chat_id}`,
        corpId: subject.corpId,
        channel: 'mass_group',
        recipient: group.chat_id,
        sender: subject.memberUserid,
        content: { text: made.content.text, attachments: made.content.attachments },
        productIds: made.content.productIds,
        purpose: step.purpose,
        cause: sopCause(ctx),
        ref: { type: 'sop_step_run', id: ctx.stepRunId },
        notBefore: outOfQuietHours(ctx.now, ctx.quietHours),
        now: ctx.now,
      },
    );
    if (queued.status === 'blocked') return { status: 'failed', error: await blockedReason(db, queued.id) };
    ids.push(queued.id);
  }
  return { status: 'done', delivery: 'group_confirm', outboxId: ids[0], result: { groups: groups.map((g) => g.chat_id), outboxIds: ids } };
}

const JOURNEY_TAGS = { group: '旅程标签', layer: 'manual', description: 'SOP 旅程打的标签' } as const;

async function tagStep(deps: StepDeps, step: StepOf<'tag'>, ctx: StepContext): Promise<StepOutcome> {
  const { subject } = ctx;
  if (!subject.customerId) return { status: 'skipped', reason: '企微客户尚未关联银行客户，无法打标签' };
  if (!deps.gateway || !deps.events) return { status: 'failed', error: '标签服务不可用' };
  const add = await resolveTagNames(deps.db, step.add, JOURNEY_TAGS);
  const remove = await resolveTagNames(deps.db, step.remove, JOURNEY_TAGS);
  const change = await changeCustomerTags(
    { db: deps.db, gateway: deps.gateway, events: deps.events },
    { customerId: subject.customerId, add, remove, source: 'sop', cause: sopCause(ctx), causeText: `sop:${subject.templateId}:${step.id}` },
  );
  return { status: 'done', result: { added: change.added, removed: change.removed } };
}

async function staffIdOf(db: Db, corpId: string | null, userid: string): Promise<string | undefined> {
  if (!corpId) return undefined;
  return (await db.selectFrom('staff').select('id').where('corp_id', '=', corpId).where('wecom_userid', '=', userid).executeTakeFirst())?.id;
}

async function createTask(deps: StepDeps, ctx: StepContext, task: { kind: 'todo' | 'send'; title: string; body: string; outboxId?: string; dueAt: Date }): Promise<string | undefined> {
  const { subject } = ctx;
  if (!subject.memberUserid) return undefined;
  const row = await deps.db
    .insertInto('sop_tasks')
    .values({
      corp_id: subject.corpId,
      member_userid: subject.memberUserid,
      customer_id: subject.customerId,
      external_userid: subject.externalUserid,
      enrollment_id: subject.enrollmentId,
      step_run_id: ctx.stepRunId,
      mass_send_id: null,
      kind: task.kind,
      title: task.title,
      body: task.body,
      outbox_id: task.outboxId ?? null,
      due_at: task.dueAt,
      snoozed_until: null,
      done_at: null,
      done_by: null,
      cause_type: 'sop',
      cause_id: subject.templateId,
    })
    .onConflict((oc) => oc.column('step_run_id').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (row) {
    const staffId = await staffIdOf(deps.db, subject.corpId, subject.memberUserid);
    if (staffId) deps.notifyMember?.(staffId, 'task.created', { id: row.id, title: task.title, customerId: subject.customerId, dueAt: task.dueAt });
  }
  return row?.id;
}

async function taskStep(deps: StepDeps, step: StepOf<'task'>, ctx: StepContext): Promise<StepOutcome> {
  if (!ctx.subject.memberUserid) return { status: 'skipped', reason: '客户没有跟进的客户经理' };
  const vars = subjectVariables(ctx.subject, ctx.now, ctx.timezone);
  const title = renderText(step.title, vars);
  const body = renderText(step.body, vars);
  if (!title.ok) return { status: 'failed', error: title.reason };
  if (!body.ok) return { status: 'failed', error: body.reason };
  const id = await createTask(deps, ctx, { kind: 'todo', title: title.text, body: body.text, dueAt: new Date(ctx.now.getTime() + parseDuration(step.dueIn)) });
  return { status: 'done', result: { taskId: id ?? null } };
}

async function notifyStep(deps: StepDeps, step: StepOf<'notify'>, ctx: StepContext): Promise<StepOutcome> {
  const { db } = deps;
  const { subject } = ctx;
  const rendered = renderText(step.text, subjectVariables(subject, ctx.now, ctx.timezone));
  if (!rendered.ok) return { status: 'failed', error: rendered.reason };
  let recipients: { corpId: string; userid: string; staffId?: string }[] = [];
  if (step.to === 'member') {
    if (subject.memberUserid && subject.corpId) recipients = [{ corpId: subject.corpId, userid: subject.memberUserid, staffId: await staffIdOf(db, subject.corpId, subject.memberUserid) }];
  } else if (subject.branchId) {
    const managers = await db.selectFrom('staff').select(['id', 'corp_id', 'wecom_userid']).where('role', '=', 'branch_manager').where('branch_id', '=', subject.branchId).where('wecom_userid', 'is not', null).where('corp_id', 'is not', null).execute();
    recipients = managers.map((m) => ({ corpId: m.corp_id!, userid: m.wecom_userid!, staffId: m.id }));
  }
  if (!recipients.length) return { status: 'skipped', reason: step.to === 'member' ? '客户没有跟进的客户经理' : '客户所属网点没有网点负责人' };
  const ids: string[] = [];
  for (const r of recipients) {
    const queued = await queueMessage(
      { db, gate: deps.gate },
      {
        idempotencyKey: `sop:${ctx.stepRunId}:${r.userid}`,
        corpId: r.corpId,
        channel: 'app_message',
        recipient: r.userid,
        customerId: null,
        content: { text: rendered.text },
        purpose: 'service',
        cause: sopCause(ctx),
        ref: { type: 'sop_step_run', id: ctx.stepRunId },
        now: ctx.now,
      },
    );
    if (queued.status === 'blocked') return { status: 'failed', error: await blockedReason(db, queued.id) };
    ids.push(queued.id);
    if (r.staffId) deps.notifyMember?.(r.staffId, 'sop.alert', { text: rendered.text, customerId: subject.customerId, enrollmentId: subject.enrollmentId });
  }
  return { status: 'done', delivery: 'app_message', outboxId: ids[0], result: { recipients: recipients.map((r) => r.userid) } };
}

/** Timeline kinds that stand for each event a branch can wait for. */
const EVENT_KINDS: Record<string, string> = {
  contact_added: 'contact_added',
  tag_added: 'tags_changed',
  tag_removed: 'tags_changed',
  attribute_changed: 'customer_updated',
  message_received: 'message_in',
  card_visited: 'card_visited',
};

async function happenedSince(db: Db, subject: Subject, kind: string, since: Date): Promise<boolean> {
  const { rows } = await sql<{ one: number }>`
    SELECT 1 AS one FROM timeline_events t
     WHERE t.kind = ${kind} AND t.at > ${since}
       AND ((${subject.customerId}::uuid IS NOT NULL AND t.customer_id = ${subject.customerId}::uuid)
         OR (t.corp_id = ${subject.corpId} AND t.external_userid = ${subject.externalUserid}))
     LIMIT 1`.execute(db);
  return rows.length > 0;
}

async function branchStep(deps: StepDeps, step: StepOf<'branch'>, ctx: StepContext): Promise<StepOutcome> {
  if (step.on === 'condition') {
    const holds = await customerMatches(deps.db, ctx.subject.customerId, step.condition!, ctx);
    return { status: 'done', next: holds ? step.then : step.else, result: { branch: holds ? 'then' : 'else' } };
  }
  const kind = step.on === 'reply' ? 'message_in' : EVENT_KINDS[step.event!]!;
  if (await happenedSince(deps.db, ctx.subject, kind, ctx.createdAt)) return { status: 'done', next: step.then, result: { branch: 'then' } };
  const deadline = new Date(ctx.createdAt.getTime() + parseDuration(step.within!));
  if (deadline.getTime() > ctx.now.getTime()) return { status: 'waiting', until: deadline, result: { deadline: deadline.toISOString() } };
  return { status: 'done', next: step.else, result: { branch: 'else' } };
}
