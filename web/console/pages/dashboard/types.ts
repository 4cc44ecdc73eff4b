/** The dashboard API's answers (src/dashboard). */
export interface ContactsReport {
  from: string;
  to: string;
  days: string[];
  added: number[];
  lost: number[];
  lostByCustomer: number[];
  lostByMember: number[];
  channels: { state: string | null; name: string; added: number[]; lost: number[]; addedTotal: number; lostTotal: number }[];
  totals: { added: number; lost: number; net: number };
}

export interface SopReport {
  days: string[];
  enrollments: number[];
  messages: number[];
  sent: number[];
  failed: number[];
  templates: { templateId: string; name: string; enrollments: number; messages: number; sent: number }[];
  totals: { enrollments: number; messages: number; sent: number; failed: number };
}

export interface ConversationsReport {
  days: string[];
  messages: number[];
  autoReplied: number[];
  handoffs: number[];
  decisions: Record<'rule' | 'kb' | 'ai' | 'handoff' | 'ignored' | 'none', number>;
  handoffReasons: { reason: string; count: number }[];
  totals: { messages: number; autoReplied: number; handoffs: number };
}

export interface FunnelReport {
  stages: { key: string; label: string; count: number }[];
}
