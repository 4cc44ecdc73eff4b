import type { Me } from '@shared/api';

/** A row of GET /api/v1/staff. */
export interface StaffRow {
  id: string;
  username: string;
  display_name: string;
  role: Me['role'];
  branch_id: string | null;
  corp_id: string | null;
  wecom_userid: string | null;
  title: string | null;
  active: boolean;
}

export interface Branch {
  id: string;
  name: string;
  city: string;
}

export interface WecomMember {
  userid: string;
  name: string;
  staffId: string | null;
}

/** Roles that belong to a branch (the API refuses them without one). */
export const BRANCH_ROLES: Me['role'][] = ['branch_manager', 'account_manager'];
