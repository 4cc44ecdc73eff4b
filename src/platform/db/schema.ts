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
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
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
}

export type Staff = Selectable<StaffTable>;
export type Customer = Selectable<CustomerTable>;
export type NewCustomer = Insertable<CustomerTable>;
