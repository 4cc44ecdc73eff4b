import { sql, type RawBuilder } from 'kysely';
import { CronExpressionParser } from 'cron-parser';
import type { Db } from '../platform/db/database.js';
import { causeLabel, EVENTS, type Cause, type EventBus, type EventName, type EventPayloads } from '../platform/events.js';
import type { JobRunner } from '../platform/jobs.js';
import type { Logger } from '../platform/logger.js';
import type { SopTemplate, SopTrigger } from './definition.js';
import { announceEnrolled, enrollSelection, enrollTarget, exitJoined, type EnrollResult, type EnrollTarget, type EnrollVersion } from './enroll.js';
import { addDays, atLocalTime, dateInZone } from './schedule.js';
import type { SopProgressSink } from './progress.js';
import { activeVersions, templatesGeneration } from './store.js';

/**
 * What starts a journey: domain events (through a job, so a crash loses none), and the clock for
 * date and schedule triggers. The clock fires every occurrence between a template's `fired_until`
 * and now, so a stopped worker catches up and a second worker finds the run keys taken.
 */
export type Selection = RawBuilder<{ customer_id: string; occurrence: string; context: unknown }>;

type DateTrigger = Extract<SopTrigger, { type: 'date' }>;

/** Customers a date trigger selects on local day `day` (YYYY-MM-DD in the trigger's zone). */
export function dateSelection(trigger: DateTrigger, day: string): Selection {
  const target = addDays(day, trigger.daysBefore);
  const tz = trigger.timezone;
  switch (trigger.date) {
    case 'birthday': {
      const md = target.slice(5);
      const year = Number(target.slice(0, 4));
      const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
      // A 29 February birthday is kept on 28 February in common years.
      const alsoLeapDay = md === '02-28' && !leap;
      return sql`SELECT c.id AS customer_id, ${target}::text AS occurrence, jsonb_build_object('birthday', ${target}::text) AS context
                   FROM customers c
                  WHERE to_char(c.birth_date, 'MM-DD') = ${md} OR (${alsoLeapDay} AND to_char(c.birth_date, 'MM-DD') = '02-29')`;
    }
    case 'product_maturity':
      return sql`SELECT c.id AS customer_id, (m.value->>'productId') || ':' || ${target} AS occurrence,
                        jsonb_build_object('productId', m.value->>'productId', 'maturityDate', ${target}::text) AS context
                   FROM customers c
                  CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(c.attrs->'maturities') = 'array' THEN c.attrs->'maturities' ELSE '[]'::jsonb END) m
                  WHERE jsonb_typeof(m.value) = 'object' AND left(m.value->>'date', 10) = ${target} AND m.value->>'productId' IS NOT NULL`;
    case 'risk_assessment_expiry':
      return sql`SELECT c.id AS customer_id, ${target}::text AS occurrence, jsonb_build_object('expiresOn', ${target}::text) AS context
                   FROM customers c WHERE c.risk_assessed_at = (${target}::date - 365)`;
    case 'no_contact': {
      const last = addDays(day, -(trigger.days ?? 90));
      return sql`SELECT c.id AS customer_id, ${last}::text AS occurrence, jsonb_build_object('lastContact', ${last}::text) AS context
                   FROM customers c WHERE (c.last_contact_at AT TIME ZONE ${tz})::date = ${last}::date`;
    }
    case 'payday':
      return Number(day.slice(8, 10)) === trigger.dayOfMonth
        ? sql`SELECT c.id AS customer_id, ${day}::text AS occurrence, '{}'::jsonb AS context FROM customers c`
        : sql`SELECT c.id AS customer_id, ''::text AS occurrence, '{}'::jsonb AS context FROM customers c WHERE false`;
  }
}

/** Every customer (the audience narrows it), for a schedule's firing. */
export const everyone = (occurrence: string): Selection => sql`SELECT c.id AS customer_id, ${occurrence}::text AS occurrence, '{}'::jsonb AS context FROM customers c`;

/** The moments a timed trigger fires in (after, until], with the occurrence each stands for. */
export function firings(trigger: SopTrigger, after: Date, until: Date): { at: Date; occurrence: string; day: string }[] {
  const out: { at: Date; occurrence: string; day: string }[] = [];
  if (trigger.type === 'date') {
    for (let day = dateInZone(after, trigger.timezone); ; day = addDays(day, 1)) {
      const at = atLocalTime(day, trigger.at, trigger.timezone);
      if (at.getTime() > until.getTime()) break;
      if (at.getTime() > after.getTime()) out.push({ at, occurrence: day, day });
      if (out.length > 400) break;
    }
  } else if (trigger.type === 'schedule') {
    const it = CronExpressionParser.parse(trigger.cron, { currentDate: after, endDate: until, tz: trigger.timezone });
    while (it.hasNext() && out.length < 400) {
      const at = it.next().toDate();
      if (at.getTime() > until.getTime()) break;
      out.push({ at, occurrence: at.toISOString(), day: dateInZone(at, trigger.timezone) });
    }
  }
  return out;
}

export interface TriggerDeps {
  db: Db;
  events?: EventBus;
  logger: Logger;
  /** Asks the engine to advance now (new enrollments have a first step due). */
  wake: () => Promise<void>;
  /** Told of enrolments and of journeys left for them, for the console's live monitor (progress.ts). */
  progress?: SopProgressSink;
}

async function afterEnrolling(deps: TriggerDeps, version: EnrollVersion, result: EnrollResult, now: Date): Promise<void> {
  if (!result.enrollmentIds.length) return;
  deps.progress?.touch(version.templateId, { enrolled: result.enrollmentIds.length });
  const left = await exitJoined(deps.db, version, result.enrollmentIds, now);
  for (const [templateId, n] of left) deps.progress?.touch(templateId, { enrollments: { exited: n } });
  announceEnrolled(deps.events, version, result);
}

/** A long fact or rule run stamps its rows before it commits: the clock looks back this far for tags. */
const TAG_LOOKBACK_MS = 60 * 60_000;

/**
 * Customers given `tag` (a name or group:name) in (after, until], once the template version was published.
 * The product's own tags (fact, rule and model runs, members, imports) raise no event, so the clock reads
 * their assignments; tags linked to a WeCom corp tag arrive as events (tags.changed) instead, and tags
 * an SOP assigned never start a journey (the loop guard).
 */
export function tagAssignedSelection(tag: string, after: Date, until: Date, versionId: string): Selection {
  return sql`SELECT ct.customer_id, 'tag+:' || ct.tag_id || ':' || to_char(ct.assigned_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS occurrence,
                    jsonb_build_object('event', 'tag_added', 'tag', ${tag}::text) AS context
               FROM customer_tags ct
               JOIN tags t ON t.id = ct.tag_id AND t.deleted_at IS NULL AND t.wecom_tag_id IS NULL
               JOIN tag_groups g ON g.id = t.group_id
              WHERE (t.name = ${tag} OR g.name || ':' || t.name = ${tag}) AND ct.source <> 'sop'
                AND ct.assigned_at > ${after} AND ct.assigned_at <= ${until}
                AND ct.assigned_at > (SELECT published_at FROM sop_template_versions WHERE id = ${versionId}::uuid)`;
}

/**
 * Fires the timed triggers of every active template up to `now`, and `tag_added` triggers for the
 * product's own tags assigned since the last look. Returns enrollments made.
 */
export async function runClock(deps: TriggerDeps, now = new Date()): Promise<number> {
  let made = 0;
  const tagged = (await activeVersions(deps.db, 'event')).filter((v) => v.definition.trigger.type === 'event' && v.definition.trigger.event === 'tag_added');
  for (const version of [...(await activeVersions(deps.db, 'date')), ...(await activeVersions(deps.db, 'schedule')), ...tagged]) {
    const after = version.firedUntil ?? now;
    const trigger = version.definition.trigger;
    if (trigger.type === 'event' && trigger.tag && now.getTime() > after.getTime()) {
      const selection = tagAssignedSelection(trigger.tag, new Date(after.getTime() - TAG_LOOKBACK_MS), now, version.id);
      const result = await enrollSelection(deps.db, version, selection, { occurrence: '', cause: { type: 'system', id: `sop-clock:${version.key}:tags` }, now });
      await afterEnrolling(deps, version, result, now);
      made += result.enrollmentIds.length;
    }
    for (const firing of firings(trigger, after, now)) {
      const selection = trigger.type === 'date' ? dateSelection(trigger, firing.day) : everyone(firing.occurrence);
      const cause: Cause = { type: 'system', id: `sop-clock:${version.key}:${firing.occurrence}` };
      const result = await enrollSelection(deps.db, version, selection, { occurrence: firing.occurrence, cause, now: firing.at, timezone: trigger.type === 'event' ? undefined : trigger.timezone });
      await afterEnrolling(deps, version, result, now);
      made += result.enrollmentIds.length;
    }
    // Only this worker's clock moves it forward: a concurrent clock that already went further is not undone.
    await deps.db.updateTable('sop_templates').set({ fired_until: now }).where('id', '=', version.templateId).where((eb) => eb.or([eb('fired_until', 'is', null), eb('fired_until', '<', now)])).execute();
  }
  if (made) await deps.wake();
  return made;
}

/** The event a template's trigger listens to, in domain-event terms. */
export interface SopEvent {
  kind: SopTemplate['trigger'] extends infer T ? (T extends { type: 'event'; event: infer E } ? E : never) : never;
  corpId?: string;
  customerId?: string | null;
  externalUserid?: string;
  memberUserid?: string;
  /** contact_added: the channel state. */
  channel?: string;
  /** tag_added / tag_removed: tag names (and group:name forms). */
  tags?: string[];
  /** attribute_changed. */
  changed?: Record<string, { from: unknown; to: unknown }>;
  text?: string;
  intents?: string[];
  /** Identifies the event, so a replay enrols no one twice. */
  key: string;
}

export function eventMatches(trigger: SopTrigger, e: SopEvent): boolean {
  if (trigger.type !== 'event' || trigger.event !== e.kind) return false;
  switch (e.kind) {
    case 'contact_added':
      if (!trigger.channel) return true;
      return trigger.channel.endsWith('*') ? (e.channel ?? '').startsWith(trigger.channel.slice(0, -1)) : e.channel === trigger.channel;
    case 'tag_added':
    case 'tag_removed':
      return Boolean(trigger.tag && e.tags?.includes(trigger.tag));
    case 'attribute_changed': {
      const change = trigger.attribute ? e.changed?.[trigger.attribute] : undefined;
      if (!change) return false;
      if (trigger.from !== undefined && String(change.from) !== String(trigger.from)) return false;
      if (trigger.to !== undefined && String(change.to) !== String(trigger.to)) return false;
      return true;
    }
    case 'message_received':
      if (trigger.intent && !e.intents?.includes(trigger.intent)) return false;
      if (trigger.keyword && !(e.text ?? '').includes(trigger.keyword)) return false;
      return true;
    case 'card_visited':
      return true;
  }
  return false;
}

/** Enrols the event's customer (or contact) in every active template whose trigger it matches. */
export async function handleSopEvent(deps: TriggerDeps, e: SopEvent, cause: Cause, now = new Date()): Promise<number> {
  let customerId = e.customerId ?? null;
  if (!customerId && e.corpId && e.externalUserid) {
    customerId = (await deps.db.selectFrom('external_contacts').select('customer_id').where('corp_id', '=', e.corpId).where('external_userid', '=', e.externalUserid).executeTakeFirst())?.customer_id ?? null;
  }
  let made = 0;
  for (const version of await activeVersions(deps.db, 'event')) {
    if (!eventMatches(version.definition.trigger, e)) continue;
    const target: EnrollTarget = { customerId, corpId: e.corpId, externalUserid: e.externalUserid, memberUserid: e.memberUserid, context: { event: e.kind, channel: e.channel ?? null } };
    const result = await enrollTarget(deps.db, version, target, { occurrence: e.key, cause, now });
    await afterEnrolling(deps, version, result, now);
    made += result.enrollmentIds.length;
  }
  if (made) await deps.wake();
  return made;
}

/** Domain events → SOP events. Events caused by an SOP are ignored: automation never triggers on its own effects. */
export function toSopEvents<N extends EventName>(name: N, payload: EventPayloads[N], tagNames: (ids: string[]) => Promise<string[]>, causeKey = ''): Promise<SopEvent[]> {
  return (async () => {
    switch (name) {
      case EVENTS.contactAdded: {
        const p = payload as EventPayloads['contact.added'];
        return [{ kind: 'contact_added', corpId: p.corpId, externalUserid: p.externalUserid, memberUserid: p.userid, channel: p.state, key: `added:${p.corpId}:${p.userid}:${p.externalUserid}` }];
      }
      case EVENTS.tagsChanged: {
        const p = payload as EventPayloads['tags.changed'];
        if (!p.externalUserid) return [];
        const out: SopEvent[] = [];
        if (p.added.length) out.push({ kind: 'tag_added', corpId: p.corpId, externalUserid: p.externalUserid, tags: await tagNames(p.added), key: `tag+:${p.corpId}:${p.externalUserid}:${[...p.added].sort().join(',')}` });
        if (p.removed.length) out.push({ kind: 'tag_removed', corpId: p.corpId, externalUserid: p.externalUserid, tags: await tagNames(p.removed), key: `tag-:${p.corpId}:${p.externalUserid}:${[...p.removed].sort().join(',')}` });
        return out;
      }
      case EVENTS.customerUpdated: {
        const p = payload as EventPayloads['customer.updated'];
        // The cause is in the key: the same change made again later (R4 → R3 → R4) is a new event.
        return [{ kind: 'attribute_changed', customerId: p.customerId, changed: p.changed, key: `changed:${p.customerId}:${causeKey}:${Object.entries(p.changed).map(([k, v]) => `${k}=${String(v.to)}`).join(',')}` }];
      }
      case EVENTS.messageClassified: {
        // The reply engine's reading of a customer's message (with its intents), once per message.
        const p = payload as EventPayloads['message.classified'];
        return [{ kind: 'message_received', corpId: p.corpId, customerId: p.customerId ?? null, externalUserid: p.from, text: p.text, intents: p.intents, key: `msg:${p.channel}:${p.messageId}` }];
      }
      case EVENTS.cardVisited: {
        const p = payload as EventPayloads['card.visited'];
        return [{ kind: 'card_visited', corpId: p.corpId, customerId: p.customerId ?? null, externalUserid: p.externalUserid, memberUserid: p.memberUserid, key: `card:${p.visitorId}:${p.memberUserid}` }];
      }
      default:
        return [];
    }
  })();
}

export const SOP_JOBS = { event: 'sop.event', clock: 'sop.clock', advance: 'sop.advance', sweep: 'sop.sweep' } as const;

/** Subscribes to the domain events the triggers listen to; each becomes a keyed job. */
export function subscribeSopTriggers(events: EventBus, jobs: JobRunner, deps: { db: Db; logger: Logger; onDeleted: (p: { corpId: string; userid: string; externalUserid: string }) => Promise<void>; onMessage: (p: EventPayloads['message.received']) => Promise<void> }): void {
  const names = [EVENTS.contactAdded, EVENTS.tagsChanged, EVENTS.customerUpdated, EVENTS.messageReceived, EVENTS.messageClassified, EVENTS.cardVisited] as const;
  const tagNames = async (ids: string[]) => {
    if (!ids.length) return [];
    // Events name WeCom tag ids; the product's tags carry the same names (and group:name).
    const rows = await deps.db.selectFrom('tags as t').innerJoin('tag_groups as g', 'g.id', 't.group_id').select(['t.name', 'g.name as group']).where((eb) => eb.or([eb('t.wecom_tag_id', 'in', ids), eb(sql<string>`t.id::text`, 'in', ids)])).execute();
    return rows.flatMap((r) => [r.name, `${r.group}:${r.name}`]);
  };
  // Which event kinds any active template listens to, re-read at most every few seconds: a daily
  // import that moves a million balances must not become a million jobs nobody wants.
  let watched: { at: number; generation: number; kinds: Promise<Set<string>> } | undefined;
  const watchedKinds = () => {
    if (!watched || watched.generation !== templatesGeneration() || Date.now() - watched.at > 5_000) {
      const kinds = activeVersions(deps.db, 'event').then((vs) => new Set(vs.map((v) => (v.definition.trigger.type === 'event' ? v.definition.trigger.event : ''))));
      watched = { at: Date.now(), generation: templatesGeneration(), kinds };
      kinds.catch(() => (watched = undefined));
    }
    return watched.kinds;
  };
  for (const name of names) {
    events.on(name, async (event) => {
      if (name === EVENTS.messageReceived) await deps.onMessage(event.payload as EventPayloads['message.received']);
      if (event.cause.type === 'sop') return;
      const kinds = await watchedKinds();
      for (const e of await toSopEvents(name, event.payload, tagNames, causeLabel(event.cause))) {
        if (!kinds.has(e.kind)) continue;
        await jobs.enqueue(SOP_JOBS.event, e, { key: e.key, cause: event.cause });
      }
    });
  }
  events.on(EVENTS.contactDeletedByCustomer, async ({ payload }) => deps.onDeleted(payload));
  events.on(EVENTS.contactDeletedByMember, async ({ payload }) => deps.onDeleted(payload));
}
