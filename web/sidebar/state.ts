import { reactive } from 'vue';
import { api, type Me } from '@shared/api';

/**
 * The sidebar's shared state: how it started (sandbox or WeCom), who is signed in, which customer
 * the chat is with, and what the sandbox's simulated chat received. App.vue fills it; tabs read it
 * (and may ask for the contact to be reloaded after they change it, e.g. a binding or a tag).
 */
export interface SandboxMember {
  userid: string;
  name: string;
  title: string | null;
  branch: string | null;
  contacts: number;
}

export interface SidebarConfig {
  sandbox: boolean;
  corpId: string | null;
  corpName: string | null;
  agentId: number | null;
  members: SandboxMember[];
}

export interface RelationTag {
  id: string;
  name: string;
  groupId: string;
  group: string | null;
  source: string;
  assignedAt: string;
}

/** GET /wecom/sidebar/contacts/:externalUserid */
export interface ContactView {
  corpId: string;
  externalUserid: string;
  name: string;
  avatar: string | null;
  gender: number | null;
  type: number;
  linked: boolean;
  customerId: string | null;
  aumTier: string | null;
  /** The linked customer's branch. */
  branch: string | null;
  relation: {
    userid: string;
    remark: string | null;
    description: string | null;
    addedAt: string | null;
    state: string | null;
    channel: string | null;
    tags: RelationTag[];
  } | null;
}

/** sendChatMessage's parameters, as the server prepares them. */
export type ChatMessage =
  | { msgtype: 'text'; text: { content: string } }
  | { msgtype: 'image'; image: { mediaid: string } }
  | { msgtype: 'news'; news: { link: string; title: string; desc: string; imgUrl: string } }
  | { msgtype: 'file'; file: { mediaid: string } }
  | { msgtype: 'miniprogram'; miniprogram: { appid: string; title: string; imgUrl: string; page: string } };

export interface ChatLogEntry {
  at: Date;
  message: ChatMessage;
}

export type Phase = 'loading' | 'pick-member' | 'pick-contact' | 'ready' | 'error';

export const sidebar = reactive({
  phase: 'loading' as Phase,
  /** Why the page cannot go on, in Chinese with what to do. */
  error: null as string | null,
  config: null as SidebarConfig | null,
  me: null as Me | null,
  /** Where the page was opened (WeCom's getContext entry, or 'sandbox'). */
  entry: null as string | null,
  externalUserid: null as string | null,
  contact: null as ContactView | null,
  /** Sandbox only: what the member put into the simulated chat, newest last. */
  chatLog: [] as ChatLogEntry[],
  /** Bumped when live events arrive or after a change: tabs reload what they show. */
  version: 0,
});

export const isSandbox = () => Boolean(sidebar.config?.sandbox);

export async function loadContact(): Promise<void> {
  if (!sidebar.externalUserid) {
    sidebar.contact = null;
    return;
  }
  sidebar.contact = await api.get<ContactView>(`/wecom/sidebar/contacts/${encodeURIComponent(sidebar.externalUserid)}`, { corpId: sidebar.config?.corpId ?? undefined });
}

/** Reload the contact (its link and tags) and tell every tab to refresh. */
export async function refreshAll(): Promise<void> {
  await loadContact();
  sidebar.version++;
}

/** A key for one send, so a retried request records it once. */
export function sendKey(): string {
  // getRandomValues works on plain http too (randomUUID needs a secure context).
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
}
