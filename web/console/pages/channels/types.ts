/** A channel code as GET /api/v1/wecom/contact-ways lists it. */
export interface ChannelCode {
  id: string;
  corp_id: string;
  name: string;
  state: string;
  config_id: string | null;
  qr_code: string | null;
  members: string[];
  /** 1: one member; 2: several. */
  type: number;
  remark: string | null;
  skip_verify: boolean;
  welcome_text: string | null;
  created_at: string;
  customers_total: number;
  customers_active: number;
}

export interface WecomMember {
  userid: string;
  name: string;
  staffId: string | null;
  branchId: string | null;
}

export const STATE_PATTERN = /^[A-Za-z0-9_.:-]{1,30}$/;
