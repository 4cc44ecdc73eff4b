import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/** Row types of the tables the application queries through kysely. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T = Record<string, unknown>> = ColumnType<T, T | string | undefined, T | string>;

export type Role = 'admin' | 'ops' | 'compliance' | 'branch_manager' | 'account_manager';
export const ROLES: readonly Role[] = ['admin', 'ops', 'compliance', 'branch_manager', 'account_manager'];

export interface BranchTable {
  id: string;
  name: string;
  city: string;
  created_at: Generated<Date>;
}

export interface StaffTable {
  id: Generated<string>;
  username: string;
  display_name: string;
  role: Role;
  branch_id: string | null;
  corp_id: string | null;
  wecom_userid: string | null;
  title: string | null;
  password_hash: string | null;
  active: Generated<boolean>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface SessionTable {
  id: string;
  staff_id: string;
  created_at: Generated<Date>;
  expires_at: Timestamp;
  revoked_at: Date | null;
  ip: string | null;
  user_agent: string | null;
}

export interface LoginAttemptTable {
  id: Generated<string>;
  username: string;
  ip: string;
  success: boolean;
  at: Generated<Date>;
}

export type ActorType = 'staff' | 'customer' | 'system' | 'sop' | 'anonymous';
export type AuditOutcome = 'success' | 'failure' | 'denied';

export interface AuditLogTable {
  id: Generated<string>;
  at: Generated<Date>;
  actor_type: ActorType;
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  ip: string | null;
  request_id: string | null;
  outcome: AuditOutcome;
  detail: Json;
}

export interface SettingTable {
  key: string;
  value: Json<unknown>;
  version: Generated<number>;
  updated_by: string | null;
  updated_at: Generated<Date>;
}

export interface CustomerTable {
  id: Generated<string>;
  cif_no: string;
  name: string;
  gender: 'M' | 'F' | null;
  mobile_enc: string | null;
  mobile_hash: string | null;
  id_number_enc: string | null;
  id_number_hash: string | null;
  birth_date: ColumnType<string | null, string | null | undefined, string | null>;
  branch_id: string | null;
  aum: ColumnType<string, string | number | undefined, string | number>;
  risk_level: 'R1' | 'R2' | 'R3' | 'R4' | 'R5' | null;
  risk_assessed_at: ColumnType<string | null, string | null | undefined, string | null>;
  products: ColumnType<string[], string[] | undefined, string[]>;
  segments: ColumnType<string[], string[] | undefined, string[]>;
  last_txn_at: Timestamp | null;
  marketing_consent: Generated<boolean>;
  attrs: Json;
  unionid: Generated<string | null>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  /**
   * Derived, written only by triggers (0009_segment_speed), so never insertable or updatable here:
   * tags.tag_no of every customer_tags row (deleted tags included), sorted; and the filter grammar's last contact.
   */
  tag_nos: ColumnType<number[], never, never>;
  last_contact_at: ColumnType<Date | null, never, never>;
  /** Derived like the two above (0018_churn_band_on_customer): the band of the customer's customer_scores row. */
  churn_band: ColumnType<'low' | 'medium' | 'high' | null, never, never>;
}

export interface ExternalContactTable {
  corp_id: string;
  external_userid: string;
  name: string;
  type: Generated<number>;
  gender: number | null;
  unionid: string | null;
  avatar: string | null;
  customer_id: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  synced_at: Generated<Date | null>;
}

export interface FollowRelationTable {
  corp_id: string;
  userid: string;
  external_userid: string;
  remark: string | null;
  description: string | null;
  remark_mobiles: ColumnType<string[], string[] | undefined, string[]>;
  add_way: number | null;
  state: string | null;
  added_at: Timestamp | null;
  deleted_at: Timestamp | null;
  deleted_by: 'member' | 'customer' | 'transfer' | null;
  updated_at: Generated<Date>;
  contact_way_id: Generated<string | null>;
  tags_synced_at: Generated<Date | null>;
  synced_at: Generated<Date | null>;
}

export interface WecomKfCursorTable {
  corp_id: string;
  open_kfid: string;
  cursor: string;
  updated_at: Generated<Date>;
}

export interface CorpTable {
  corp_id: string;
  name: string;
  agent_id: number | null;
  callback_token_enc: string;
  callback_aes_key_enc: string;
  agent_secret_enc: string | null;
  contact_secret_enc: string | null;
  api_base: string;
  source: 'env' | 'console' | 'sandbox';
  active: Generated<boolean>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type InboxStatus = 'received' | 'processed' | 'failed' | 'ignored';

export interface WecomEventTable {
  id: Generated<string>;
  corp_id: string;
  dedupe_key: string;
  event: string;
  change_type: string | null;
  payload: Json;
  status: Generated<InboxStatus>;
  error: string | null;
  seen_count: Generated<number>;
  received_at: Generated<Date>;
  last_seen_at: Generated<Date>;
  processed_at: Date | null;
}

export interface WecomTokenTable {
  corp_id: string;
  kind: string;
  value_enc: string;
  expires_at: Timestamp;
  refreshed_at: Generated<Date>;
}

export interface WecomQuotaUsageTable {
  corp_id: string;
  api: string;
  window_start: Timestamp;
  used: Generated<number>;
}

export interface WecomDepartmentTable {
  corp_id: string;
  id: number;
  name: string;
  parent_id: Generated<number>;
  sort_order: ColumnType<string, string | number | undefined, string | number>;
  synced_at: Generated<Date>;
  deleted_at: Timestamp | null;
}

export interface WecomMemberTable {
  corp_id: string;
  userid: string;
  name: string;
  departments: ColumnType<number[], number[] | undefined, number[]>;
  main_department: number | null;
  position: string | null;
  status: Generated<number>;
  synced_at: Generated<Date>;
  deleted_at: Timestamp | null;
}

export interface WecomTagGroupTable {
  corp_id: string;
  group_id: string;
  name: string;
  sort_order: ColumnType<string, string | number | undefined, string | number>;
  created_at: Timestamp | null;
  deleted_at: Timestamp | null;
  synced_at: Generated<Date>;
}

export interface WecomTagTable {
  corp_id: string;
  tag_id: string;
  group_id: string;
  name: string;
  sort_order: ColumnType<string, string | number | undefined, string | number>;
  created_at: Timestamp | null;
  deleted_at: Timestamp | null;
  synced_at: Generated<Date>;
}

export type TagSource = 'wecom' | 'member' | 'rule' | 'model' | 'sop' | 'import';

export interface WecomContactTagTable {
  corp_id: string;
  userid: string;
  external_userid: string;
  tag_id: string;
  source: TagSource;
  cause: string | null;
  assigned_at: Generated<Date>;
}

export interface WecomGroupTable {
  corp_id: string;
  chat_id: string;
  name: string | null;
  owner: string | null;
  notice: string | null;
  status: Generated<number>;
  member_version: string | null;
  created_at: Timestamp | null;
  dismissed_at: Timestamp | null;
  synced_at: Generated<Date>;
}

export interface WecomGroupMemberTable {
  corp_id: string;
  chat_id: string;
  member_id: string;
  type: number;
  unionid: string | null;
  name: string | null;
  join_time: Timestamp | null;
  join_scene: number | null;
  invitor: string | null;
}

export interface WecomContactWayTable {
  id: Generated<string>;
  corp_id: string;
  config_id: string | null;
  type: number;
  scene: number;
  state: string;
  name: string;
  remark: string | null;
  members: ColumnType<string[], string[], string[]>;
  skip_verify: Generated<boolean>;
  qr_code: string | null;
  welcome_text: string | null;
  welcome_attachments: Json<unknown[]>;
  created_by: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  deleted_at: Timestamp | null;
}

export interface WecomSyncRunTable {
  id: Generated<string>;
  corp_id: string;
  kind: 'full' | 'contacts' | 'tags' | 'groups' | 'directory';
  status: 'running' | 'done' | 'failed';
  checkpoint: Json;
  report: Json;
  error: string | null;
  cause: string;
  started_at: Generated<Date>;
  finished_at: Timestamp | null;
}

export type OutboxStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'expired' | 'cancelled' | 'blocked';

export interface OutboxTable {
  id: Generated<string>;
  idempotency_key: string;
  corp_id: string;
  channel: string;
  recipient: string;
  sender: string | null;
  payload: Json;
  status: Generated<OutboxStatus>;
  attempts: Generated<number>;
  errcode: number | null;
  last_error: string | null;
  result: Json | null;
  cause_type: string;
  cause_id: string | null;
  not_before: Timestamp | null;
  expires_at: Timestamp | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  sent_at: Timestamp | null;
  customer_id: Generated<string | null>;
  purpose: Generated<'marketing' | 'service'>;
  verdict: Generated<'pass' | 'warn' | 'block' | null>;
  findings: Json<unknown[] | null>;
  rule_set_version: Generated<number | null>;
  review_id: Generated<string | null>;
  ref_type: Generated<string | null>;
  ref_id: Generated<string | null>;
  batch_id: Generated<string | null>;
  /** Rows with the same group key (same sender and content) may go out in one provider call. */
  group_key: Generated<string | null>;
  /** What happened at the customer's end, for member-confirmed sends (get_groupmsg_send_result). */
  delivery: Generated<OutboxDelivery | null>;
  delivered_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  msgid: Generated<string | null>;
}

export type OutboxDelivery = 'awaiting' | 'delivered' | 'not_friend' | 'quota_reached' | 'unsent' | 'cancelled';

export type TagLayer = 'fact' | 'rule' | 'model' | 'manual';
export type CustomerTagSource = 'fact' | 'rule' | 'model' | 'member' | 'sop' | 'import' | 'wecom';

export interface TagGroupRow {
  id: Generated<string>;
  name: string;
  layer: TagLayer;
  exclusive: Generated<boolean>;
  description: string | null;
  created_at: Generated<Date>;
}

export interface TagRow {
  id: Generated<string>;
  group_id: string;
  name: string;
  rule: Json<unknown> | null;
  description: string | null;
  wecom_corp_id: string | null;
  wecom_tag_id: string | null;
  created_by: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  deleted_at: Timestamp | null;
  /** A small number for customers.tag_nos (identity, never reused); references keep using the uuid. */
  tag_no: ColumnType<number, never, never>;
}

export interface CustomerTagRow {
  customer_id: string;
  tag_id: string;
  source: CustomerTagSource;
  cause: string | null;
  assigned_at: Generated<Date>;
}

export interface CustomerScoreRow {
  customer_id: string;
  recency_score: number | null;
  frequency_score: number | null;
  monetary_score: number | null;
  rfm_class: string | null;
  churn_probability: number | null;
  churn_band: 'low' | 'medium' | 'high' | null;
  churn_reasons: Json<unknown[]>;
  propensity: Json<unknown[]>;
  computed_at: Generated<Date>;
}

export interface TimelineEventRow {
  id: Generated<string>;
  customer_id: string | null;
  corp_id: string | null;
  external_userid: string | null;
  at: Generated<Date>;
  kind: string;
  summary: string;
  detail: Json;
  cause_type: string;
  cause_id: string | null;
}

export interface CustomerLinkRow {
  id: Generated<string>;
  corp_id: string;
  external_userid: string;
  customer_id: string | null;
  action: 'link' | 'unlink';
  method: 'mobile' | 'unionid' | 'manual' | 'import';
  reason: string | null;
  actor_type: string;
  actor_id: string | null;
  at: Generated<Date>;
}

export type SegmentMethod = 'fixed' | 'rule' | 'derived' | 'score' | 'imported' | 'custom';

export interface SegmentRow {
  id: Generated<string>;
  name: string;
  method: SegmentMethod;
  definition: Json<unknown>;
  description: string | null;
  refresh_cron: string | null;
  member_count: number | null;
  refreshed_at: Timestamp | null;
  created_by: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  deleted_at: Timestamp | null;
}

export interface SegmentMemberRow {
  segment_id: string;
  customer_id: string;
  include: Generated<boolean>;
  added_at: Generated<Date>;
}

export interface SegmentSnapshotRow {
  id: Generated<string>;
  segment_id: string;
  definition: Json<unknown>;
  member_count: number;
  created_by: string | null;
  created_at: Generated<Date>;
}

export interface SegmentSnapshotMemberRow {
  snapshot_id: string;
  customer_id: string;
}

export interface ImportRow {
  id: Generated<string>;
  file_name: string;
  format: 'csv' | 'jsonl';
  sha256: string;
  status: 'running' | 'done' | 'failed';
  total_rows: Generated<number>;
  processed_rows: Generated<number>;
  inserted_rows: Generated<number>;
  updated_rows: Generated<number>;
  unchanged_rows: Generated<number>;
  rejected_rows: Generated<number>;
  byte_offset: ColumnType<string, string | number | undefined, string | number>;
  line_number: Generated<number>;
  error: string | null;
  created_by: string | null;
  started_at: Generated<Date>;
  finished_at: Timestamp | null;
  /** Set once the import's changes are published and its fact tags queued (migration 0022). */
  followed_up_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/** A shared rate limit's counter (migration 0023, src/platform/rateLimit.ts). */
export interface RateLimitHitRow {
  bucket: string;
  key: string;
  window_start: Date;
  count: number;
}

/** A watched change of one customer by an import, until the follow-up publishes it (migration 0022). */
export interface ImportChangeRow {
  id: Generated<string>;
  import_id: string;
  customer_id: string;
  changed: Json<Record<string, { from: unknown; to: unknown }>>;
  created_at: Generated<Date>;
}

export interface ImportRejectionRow {
  import_id: string;
  line_number: number;
  cif_no: string | null;
  reasons: Json<unknown[]>;
}

export interface Database {
  branches: BranchTable;
  staff: StaffTable;
  sessions: SessionTable;
  login_attempts: LoginAttemptTable;
  audit_log: AuditLogTable;
  settings: SettingTable;
  customers: CustomerTable;
  external_contacts: ExternalContactTable;
  follow_relations: FollowRelationTable;
  corps: CorpTable;
  wecom_events: WecomEventTable;
  wecom_tokens: WecomTokenTable;
  wecom_quota_usage: WecomQuotaUsageTable;
  wecom_departments: WecomDepartmentTable;
  wecom_members: WecomMemberTable;
  wecom_tag_groups: WecomTagGroupTable;
  wecom_tags: WecomTagTable;
  wecom_contact_tags: WecomContactTagTable;
  wecom_groups: WecomGroupTable;
  wecom_group_members: WecomGroupMemberTable;
  wecom_contact_ways: WecomContactWayTable;
  wecom_sync_runs: WecomSyncRunTable;
  outbox: OutboxTable;
  wecom_kf_cursors: WecomKfCursorTable;
  tag_groups: TagGroupRow;
  tags: TagRow;
  customer_tags: CustomerTagRow;
  customer_scores: CustomerScoreRow;
  timeline_events: TimelineEventRow;
  customer_links: CustomerLinkRow;
  segments: SegmentRow;
  segment_members: SegmentMemberRow;
  segment_snapshots: SegmentSnapshotRow;
  segment_snapshot_members: SegmentSnapshotMemberRow;
  imports: ImportRow;
  import_changes: ImportChangeRow;
  rate_limit_hits: RateLimitHitRow;
  import_rejections: ImportRejectionRow;
}

export type Staff = Selectable<StaffTable>;
export type Customer = Selectable<CustomerTable>;
export type NewCustomer = Insertable<CustomerTable>;

export type ComplianceRuleKind = 'block' | 'warn' | 'disclosure' | 'context_allow';
export type ComplianceReviewStatus = 'pending' | 'approved' | 'rejected';

export interface ComplianceRuleSetRow {
  version: number;
  based_on: number | null;
  note: string;
  created_by: string | null;
  created_at: Generated<Date>;
  active: Generated<boolean>;
}

export interface ComplianceRuleRow {
  rule_set_version: number;
  rule_id: string;
  position: number;
  kind: ComplianceRuleKind;
  pattern: string;
  pinyin: string | null;
  category: string;
  note: string | null;
}

export interface ComplianceReviewRow {
  id: Generated<string>;
  text: string;
  author_id: string | null;
  source: string;
  verdict: 'warn' | 'block';
  findings: Json<unknown[]>;
  product_ids: ColumnType<string[], string[] | undefined, string[]>;
  rule_set_version: number | null;
  status: Generated<ComplianceReviewStatus>;
  reviewer_id: string | null;
  decision_note: string | null;
  decided_at: Timestamp | null;
  created_at: Generated<Date>;
}

/** The compliance module's tables (merged into Database above). */
export interface Database {
  compliance_rule_sets: ComplianceRuleSetRow;
  compliance_rules: ComplianceRuleRow;
  compliance_reviews: ComplianceReviewRow;
}

export type MaterialKind = 'text' | 'image' | 'link' | 'miniprogram' | 'file' | 'product';
export type MaterialStatus = 'draft' | 'pending' | 'approved' | 'rejected' | 'retired';

export interface MaterialRow {
  id: Generated<string>;
  kind: MaterialKind;
  title: string;
  text: Generated<string>;
  /** The WeCom attachment object sent with the text (SHAPES: image, link, miniprogram, video, file). */
  attachment: Json<Record<string, unknown> | null>;
  product_ids: Generated<string[]>;
  labels: Generated<string[]>;
  status: Generated<MaterialStatus>;
  version: Generated<number>;
  disclosures: Generated<string[]>;
  verdict: 'pass' | 'warn' | 'block' | null;
  findings: Json<unknown[] | null>;
  review_note: string | null;
  created_by: string | null;
  submitted_at: Timestamp | null;
  reviewed_by: string | null;
  reviewed_at: Timestamp | null;
  retired_at: Timestamp | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type SopTemplateStatus = 'draft' | 'active' | 'paused' | 'archived';

export interface SopTemplateRow {
  id: Generated<string>;
  key: string;
  name: string;
  description: Generated<string>;
  status: Generated<SopTemplateStatus>;
  draft: Json<unknown>;
  current_version: number | null;
  source: Generated<'file' | 'console'>;
  fired_until: Timestamp | null;
  created_by: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface SopTemplateVersionRow {
  id: Generated<string>;
  template_id: string;
  version: number;
  definition: Json<unknown>;
  published_by: string | null;
  published_at: Generated<Date>;
}

export type SopEnrollmentStatus = 'active' | 'paused' | 'completed' | 'exited' | 'cancelled' | 'failed';

export interface SopEnrollmentRow {
  id: Generated<string>;
  template_id: string;
  version_id: string;
  customer_id: string | null;
  corp_id: string | null;
  member_userid: string | null;
  external_userid: string | null;
  run_key: string;
  occurrence: Generated<string>;
  status: Generated<SopEnrollmentStatus>;
  exit_reason: string | null;
  trigger: Json<Record<string, unknown>>;
  cause_type: string;
  cause_id: string | null;
  started_at: Generated<Date>;
  ended_at: Timestamp | null;
  updated_at: Generated<Date>;
}

export type SopStepStatus = 'pending' | 'waiting' | 'running' | 'done' | 'failed' | 'skipped' | 'cancelled';

export interface SopStepRunRow {
  id: Generated<string>;
  enrollment_id: string;
  step_id: string;
  kind: string;
  status: Generated<SopStepStatus>;
  parent_id: string | null;
  cause_type: string;
  cause_id: string | null;
  run_at: Timestamp;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  attempts: Generated<number>;
  /** How a message step reached the customer: member_confirm, sidebar_task, bot, kf. */
  delivery: string | null;
  outbox_id: string | null;
  result: Json<Record<string, unknown> | null>;
  error: string | null;
  created_at: Generated<Date>;
}

export type SopTaskStatus = 'open' | 'done' | 'snoozed' | 'cancelled';

export interface SopTaskRow {
  id: Generated<string>;
  corp_id: string | null;
  member_userid: string;
  customer_id: string | null;
  external_userid: string | null;
  enrollment_id: string | null;
  step_run_id: string | null;
  mass_send_id: string | null;
  /** todo: something to do; send: prepared content the member sends from the sidebar. */
  kind: Generated<'todo' | 'send'>;
  title: string;
  body: Generated<string>;
  outbox_id: string | null;
  due_at: Timestamp | null;
  status: Generated<SopTaskStatus>;
  snoozed_until: Timestamp | null;
  done_at: Timestamp | null;
  done_by: string | null;
  cause_type: string;
  cause_id: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type MassSendStatus = 'scheduled' | 'queued' | 'sending' | 'completed' | 'cancelled' | 'failed';

export interface MassSendRow {
  id: Generated<string>;
  corp_id: string;
  name: string;
  audience: Json<Record<string, unknown>>;
  snapshot_id: string | null;
  material_id: string | null;
  content: Json<Record<string, unknown>>;
  purpose: Generated<'marketing' | 'service'>;
  scheduled_at: Timestamp;
  status: Generated<MassSendStatus>;
  error: string | null;
  created_by: string | null;
  created_at: Generated<Date>;
  queued_at: Timestamp | null;
  finished_at: Timestamp | null;
  cancelled_at: Timestamp | null;
  updated_at: Generated<Date>;
}

export type OutboxBatchStatus = 'sending' | 'sent' | 'failed' | 'released';

export interface OutboxBatchRow {
  id: Generated<string>;
  corp_id: string;
  channel: string;
  sender: string | null;
  group_key: string | null;
  size: number;
  status: Generated<OutboxBatchStatus>;
  msgid: string | null;
  fail_list: Json<unknown[] | null>;
  claimed_by: string;
  claimed_at: Generated<Date>;
  lease_until: Timestamp;
  finished_at: Timestamp | null;
  /** How an in-doubt batch was settled: found in WeCom, or released to be sent again. */
  resolution: string | null;
  error: string | null;
  /** When WeCom was last asked for the task's results (migration 0025). */
  results_checked_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/** SOP automation, materials, mass sends and the dispatcher's batches (migration 0010). */
export interface Database {
  materials: MaterialRow;
  sop_templates: SopTemplateRow;
  sop_template_versions: SopTemplateVersionRow;
  sop_enrollments: SopEnrollmentRow;
  sop_step_runs: SopStepRunRow;
  sop_tasks: SopTaskRow;
  mass_sends: MassSendRow;
  outbox_batches: OutboxBatchRow;
}

export type AssistantPurpose = 'answer' | 'suggest' | 'summary' | 'next_best_action' | 'polish';
export type AssistantDecision = 'answered' | 'blocked' | 'handoff' | 'fallback' | 'error';

export interface AssistantAuditRow {
  id: Generated<string>;
  purpose: AssistantPurpose;
  mode: 'llm' | 'retrieval_only';
  channel: string | null;
  staff_id: string | null;
  customer_id: string | null;
  corp_id: string | null;
  external_userid: string | null;
  model: string | null;
  /** The messages sent to the model, redacted (src/platform/logger.ts redactValue). */
  prompt: Json<unknown[]>;
  /** What the model answered, before citations were stripped and the gate judged it. */
  model_answer: string | null;
  /** What the product returned (sent to the customer or shown to the member). */
  answer: string | null;
  tool_calls: Json<unknown[]>;
  citations: Generated<string[]>;
  dropped_citations: Generated<string[]>;
  prompt_tokens: Generated<number>;
  completion_tokens: Generated<number>;
  model_calls: Generated<number>;
  latency_ms: number | null;
  /** NULL while the task runs. */
  decision: AssistantDecision | null;
  reason: string | null;
  gate_verdict: 'pass' | 'warn' | 'block' | null;
  gate_findings: Json<unknown[]>;
  created_at: Generated<Date>;
  finished_at: Timestamp | null;
}

export interface AppointmentRow {
  id: Generated<string>;
  customer_id: string | null;
  corp_id: string | null;
  external_userid: string | null;
  branch_id: string;
  /** 'YYYY-MM-DD' (a date column). */
  date: ColumnType<string, string, string>;
  purpose: string;
  status: Generated<'requested' | 'confirmed' | 'cancelled' | 'done'>;
  source: 'assistant' | 'member';
  audit_id: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

/** The AI assistant's audit trail and branch appointments (migration 0014). */
export interface Database {
  assistant_audit: AssistantAuditRow;
  appointments: AppointmentRow;
}

export type KbEntryStatus = 'active' | 'retired';
export type KbChange = 'seed' | 'create' | 'update' | 'retire' | 'restore';

export interface KbEntryRow {
  id: string;
  category: string;
  question: string;
  alt_questions: string[];
  answer: string;
  product_ids: string[];
  needs_disclaimer: boolean;
  handoff: boolean;
  status: Generated<KbEntryStatus>;
  version: Generated<number>;
  updated_by: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface KbEntryVersionRow {
  entry_id: string;
  version: number;
  change: KbChange;
  category: string;
  question: string;
  alt_questions: string[];
  answer: string;
  product_ids: string[];
  needs_disclaimer: boolean;
  handoff: boolean;
  status: KbEntryStatus;
  note: string | null;
  changed_by: string | null;
  created_at: Generated<Date>;
}

/** The knowledge base (migration 0013). */
export interface Database {
  kb_entries: KbEntryRow;
  kb_entry_versions: KbEntryVersionRow;
}

export type CardShareChannel = 'chat' | 'moments' | 'link' | 'forward';
export type CardEventKind = 'view' | 'share' | 'scan' | 'added' | 'product_view';

export interface CardProfileRow {
  staff_id: string;
  photo_url: string | null;
  title: string | null;
  qualifications: ColumnType<string[], string[] | undefined, string[]>;
  intro: Generated<string>;
  theme: string;
  featured_product_ids: ColumnType<string[], string[] | undefined, string[]>;
  featured_material_ids: ColumnType<string[], string[] | undefined, string[]>;
  version: Generated<number>;
  updated_by: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface CardShareRow {
  id: Generated<string>;
  token: string;
  staff_id: string;
  parent_id: string | null;
  sharer_type: 'member' | 'visitor';
  sharer_staff_id: string | null;
  sharer_visitor_id: string | null;
  channel: CardShareChannel;
  corp_id: string | null;
  recipient_external_userid: string | null;
  referrer_external_userid: string | null;
  referrer_staff_id: string | null;
  contact_way_id: string | null;
  way_refused_at: Timestamp | null;
  last_viewed_at: Timestamp | null;
  created_at: Generated<Date>;
}

export interface CardEventRow {
  /** bigserial: read back as a string. */
  id: Generated<string>;
  staff_id: string;
  kind: CardEventKind;
  share_id: string | null;
  visitor_id: string | null;
  product_id: string | null;
  corp_id: string | null;
  external_userid: string | null;
  referrer_external_userid: string | null;
  referrer_staff_id: string | null;
  at: Generated<Date>;
}

/** The card attribution of a relation (migration 0019), set when an add through a card arrives. */
export interface FollowRelationTable {
  card_staff_id: Generated<string | null>;
  card_share_id: Generated<string | null>;
  referrer_external_userid: Generated<string | null>;
  referrer_staff_id: Generated<string | null>;
  card_added_at: Generated<Date | null>;
}

/** Digital business cards (migration 0019). */
export interface Database {
  card_profiles: CardProfileRow;
  card_shares: CardShareRow;
  card_events: CardEventRow;
}
