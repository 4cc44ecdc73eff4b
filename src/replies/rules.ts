import { z } from 'zod';
import type { Db } from '../platform/db/database.js';
import { invalid, notFound } from '../platform/errors.js';
import { normalizeText } from '../compliance/index.js';
import type { MatchType } from './schema.js';

/**
 * Auto-reply rules: a message matches a rule exactly, by a keyword, by a regular expression or by a
 * detected intent; per channel; within active hours; at most once per customer per cooldown. The
 * first matching rule by priority (lower first) answers.
 */
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day HH:MM');

export const ruleInputSchema = z
  .object({
    name: z.string().trim().min(1).max(60),
    matchType: z.enum(['exact', 'keyword', 'regex', 'intent']),
    pattern: z.string().min(1).max(500),
    channels: z.array(z.enum(['bot', 'kf'])).max(2).default([]),
    activeFrom: hhmm.nullable().default(null),
    activeTo: hhmm.nullable().default(null),
    cooldownMinutes: z.number().int().min(0).max(10_080).default(0),
    replyText: z.string().trim().min(1).max(2000),
    priority: z.number().int().min(0).max(10_000).default(100),
    enabled: z.boolean().default(true),
  })
  .superRefine((r, ctx) => {
    if (r.matchType === 'regex') {
      try {
        new RegExp(r.pattern, 'u');
      } catch (error) {
        ctx.addIssue({ code: 'custom', path: ['pattern'], message: `not a valid regular expression: ${(error as Error).message}` });
      }
      // Nested quantifiers are the classic catastrophic-backtracking shape; refuse them outright.
      if (/\([^)]*[+*][^)]*\)[+*{]/.test(r.pattern)) ctx.addIssue({ code: 'custom', path: ['pattern'], message: 'nested quantifiers are not allowed' });
    }
    if ((r.activeFrom === null) !== (r.activeTo === null)) ctx.addIssue({ code: 'custom', path: ['activeTo'], message: 'give both activeFrom and activeTo, or neither' });
  });
export type RuleInput = z.output<typeof ruleInputSchema>;

export interface Rule {
  id: string;
  name: string;
  matchType: MatchType;
  pattern: string;
  channels: string[];
  activeFrom: string | null;
  activeTo: string | null;
  cooldownMinutes: number;
  replyText: string;
  priority: number;
  enabled: boolean;
}

type RuleRow = { id: string; name: string; match_type: MatchType; pattern: string; channels: string[]; active_from: string | null; active_to: string | null; cooldown_minutes: number; reply_text: string; priority: number; enabled: boolean };
const toRule = (r: RuleRow): Rule => ({
  id: r.id, name: r.name, matchType: r.match_type, pattern: r.pattern, channels: r.channels, activeFrom: r.active_from, activeTo: r.active_to,
  cooldownMinutes: r.cooldown_minutes, replyText: r.reply_text, priority: r.priority, enabled: r.enabled,
});
const toRow = (r: RuleInput) => ({
  name: r.name, match_type: r.matchType, pattern: r.pattern, channels: r.channels, active_from: r.activeFrom, active_to: r.activeTo,
  cooldown_minutes: r.cooldownMinutes, reply_text: r.replyText, priority: r.priority, enabled: r.enabled,
});

export async function listRules(db: Db): Promise<Rule[]> {
  return (await db.selectFrom('reply_rules').selectAll().orderBy('priority').orderBy('created_at').execute()).map(toRule);
}

export async function createRule(db: Db, input: RuleInput, staffId: string | null): Promise<Rule> {
  return toRule(await db.insertInto('reply_rules').values({ ...toRow(input), created_by: staffId }).returningAll().executeTakeFirstOrThrow());
}

export async function updateRule(db: Db, id: string, input: RuleInput): Promise<Rule> {
  const row = await db.updateTable('reply_rules').set({ ...toRow(input), updated_at: new Date() }).where('id', '=', id).returningAll().executeTakeFirst();
  if (!row) throw notFound('reply rule');
  return toRule(row);
}

export async function deleteRule(db: Db, id: string): Promise<void> {
  const result = await db.deleteFrom('reply_rules').where('id', '=', id).executeTakeFirst();
  if (!result.numDeletedRows) throw notFound('reply rule');
}

/** The minute of the day in a time zone. */
function minuteOfDay(at: Date, timezone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: timezone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return get('hour') * 60 + get('minute');
}
const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Whether a rule is active at a moment; a window may cross midnight (22:00–06:00). */
export function activeAt(rule: Pick<Rule, 'activeFrom' | 'activeTo'>, at: Date, timezone = 'Asia/Shanghai'): boolean {
  if (!rule.activeFrom || !rule.activeTo) return true;
  const m = minuteOfDay(at, timezone);
  const from = minutes(rule.activeFrom);
  const to = minutes(rule.activeTo);
  return from <= to ? m >= from && m < to : m >= from || m < to;
}

/** Whether the text matches the rule (intents as detected for the message). Full-width forms and spaces are normalised first. */
export function ruleMatches(rule: Pick<Rule, 'matchType' | 'pattern'>, text: string, intents: readonly string[]): boolean {
  const norm = normalizeText(text).text;
  switch (rule.matchType) {
    case 'exact':
      return norm === normalizeText(rule.pattern).text;
    case 'keyword':
      return rule.pattern.split('|').map((k) => normalizeText(k.trim()).text).some((k) => k.length > 0 && norm.includes(k));
    case 'regex':
      try {
        return new RegExp(rule.pattern, 'u').test(text);
      } catch {
        return false;
      }
    case 'intent':
      return intents.includes(rule.pattern);
  }
}

/** Takes the cooldown for (rule, subject) if it has passed; false while it runs. Atomic under concurrency. */
export async function takeCooldown(db: Db, rule: Pick<Rule, 'id' | 'cooldownMinutes'>, subject: string, now: Date): Promise<boolean> {
  if (rule.cooldownMinutes <= 0) return true;
  const cutoff = new Date(now.getTime() - rule.cooldownMinutes * 60_000);
  const row = await db
    .insertInto('reply_cooldowns')
    .values({ rule_id: rule.id, subject, last_at: now })
    .onConflict((oc) => oc.columns(['rule_id', 'subject']).doUpdateSet({ last_at: now }).where('reply_cooldowns.last_at', '<=', cutoff))
    .returning('rule_id')
    .executeTakeFirst();
  return Boolean(row);
}

export function checkRuleId(id: string): string {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw invalid('invalid rule id', [{ path: 'params.id', message: 'not a rule id' }]);
  return id;
}
