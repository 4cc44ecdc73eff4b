import { api } from '@shared/api';
import type { ChatMessage } from './state';

/**
 * The WeCom JS-SDK (@wecom/jssdk), used only inside WeCom: registered with the service's signatures
 * (GET /wecom/jssdk, REFERENCE §5), then asked where the page was opened and which external contact
 * the chat is with, and used to put messages into the chat. Loaded on demand, so the sandbox never
 * loads it.
 */
type Ww = typeof import('@wecom/jssdk');

interface Signatures {
  timestamp: number;
  nonceStr: string;
  signature: string;
  agentConfig: { timestamp: number; nonceStr: string; signature: string };
}

let ww: Ww | undefined;

/** One signature request per page URL: wx.config and agentConfig are signed together. */
const signed = new Map<string, Promise<Signatures>>();
function signaturesFor(corpId: string, url: string): Promise<Signatures> {
  let hit = signed.get(url);
  if (!hit) {
    hit = api.get<Signatures>('/wecom/jssdk', { corpId, url });
    signed.set(url, hit);
  }
  return hit;
}

export async function registerJsSdk(corpId: string, agentId: number | null): Promise<void> {
  ww = await import('@wecom/jssdk');
  ww.register({
    corpId,
    agentId: agentId ?? undefined,
    jsApiList: ['getContext', 'getCurExternalContact', 'sendChatMessage'],
    getConfigSignature: async (url) => {
      const s = await signaturesFor(corpId, url);
      return { timestamp: s.timestamp, nonceStr: s.nonceStr, signature: s.signature };
    },
    getAgentConfigSignature: async (url) => {
      const s = await signaturesFor(corpId, url);
      return s.agentConfig;
    },
  });
}

/** The entry the page was opened from (single_chat_tools, group_chat_tools, contact_profile, …). */
export async function currentEntry(): Promise<string> {
  if (!ww) throw new Error('JS-SDK not registered');
  const context = await ww.getContext();
  return context.entry;
}

/** The external contact of the current single chat or contact profile, or null elsewhere. */
export async function currentExternalContact(entry: string): Promise<string | null> {
  if (!ww) throw new Error('JS-SDK not registered');
  if (entry !== 'single_chat_tools' && entry !== 'contact_profile' && entry !== 'single_kf_tools') return null;
  const r = await ww.getCurExternalContact();
  return r.userId || null;
}

/** Puts one message into the current chat (the member sees it in the chat and sends it). */
export async function sendChatMessage(message: ChatMessage): Promise<void> {
  if (!ww) throw new Error('JS-SDK not registered');
  await ww.sendChatMessage(message);
}

/** WeCom's error text (`sendChatMessage:fail …`) from a JS-SDK rejection. */
export function jsSdkError(error: unknown): string {
  if (error && typeof error === 'object' && 'errMsg' in error) return String((error as { errMsg: unknown }).errMsg);
  return error instanceof Error ? error.message : String(error);
}
