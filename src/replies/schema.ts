import type { ColumnType, Generated } from 'kysely';

/** The reply engine's tables (migration 0015), merged into the Database interface. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T> = ColumnType<T, T | string | undefined, T | string>;

export type MatchType = 'exact' | 'keyword' | 'regex' | 'intent';
export type ReplyDecisionKind = 'rule' | 'kb' | 'ai' | 'handoff' | 'ignored' | 'none';

export interface ReplyRuleRow {
  id: Generated<string>;
  name: string;
  match_type: MatchType;
  /** exact: the whole message; keyword: words separated by | (any); regex: a JavaScript pattern; intent: an intent name. */
  pattern: string;
  /** Channels the rule answers on (bot, kf); empty = all. */
  channels: Generated<string[]>;
  active_from: string | null;
  active_to: string | null;
  cooldown_minutes: Generated<number>;
  reply_text: string;
  priority: Generated<number>;
  enabled: Generated<boolean>;
  created_by: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface ReplyCooldownRow {
  rule_id: string;
  subject: string;
  last_at: Timestamp;
}

export interface ReplyLogRow {
  id: Generated<string>;
  channel: string;
  message_id: string;
  corp_id: string | null;
  conversation: string;
  sender: string;
  customer_id: string | null;
  external_userid: string | null;
  member_userid: string | null;
  text: string;
  intents: Json<{ intent: string; score: number }[]>;
  decision: ReplyDecisionKind;
  reason: string | null;
  rule_id: string | null;
  kb_id: string | null;
  assistant_audit_id: string | null;
  outbox_id: string | null;
  alert_outbox_id: string | null;
  received_at: Generated<Date>;
}

declare module '../platform/db/schema.js' {
  interface Database {
    reply_rules: ReplyRuleRow;
    reply_cooldowns: ReplyCooldownRow;
    reply_log: ReplyLogRow;
  }
}
