import { showDialog, showNotify, showToast } from 'vant';
import { api, ApiError } from '@shared/api';
import { isSandbox, sendKey, sidebar, type ChatMessage } from './state';
import { jsSdkError, sendChatMessage } from './wecom';

/**
 * Putting something into the chat with the customer. Whatever the member sends from the sidebar is
 * first judged by the compliance gate and recorded in the outbox (POST /wecom/sidebar/messages);
 * only what passed is handed to the JS-SDK's sendChatMessage, and the outcome is reported back so a
 * sent message joins the customer's timeline. In the sandbox the simulated chat shows what WeCom
 * would have received.
 */
export interface Finding {
  rule: string;
  match: string;
  kind?: 'block' | 'warn';
  message?: string;
}

interface Prepared {
  id: string;
  status: string;
  verdict: 'pass' | 'warn' | 'block' | null;
  findings: Finding[];
  reason: string | null;
  reviewId: string | null;
  text: string;
  disclosures: string[];
  chat: ChatMessage[];
}

export type SendSource = 'suggestion' | 'draft' | 'material' | 'recommendation';

/** Hands messages to WeCom (or to the sandbox's simulated chat). */
export async function putInChat(messages: ChatMessage[]): Promise<void> {
  if (isSandbox()) {
    for (const message of messages) sidebar.chatLog.push({ at: new Date(), message });
    return;
  }
  for (const message of messages) await sendChatMessage(message);
}

export function findingsText(findings: Finding[]): string {
  return findings.map((f) => `「${f.match}」${f.message ?? ''}`).join('\n');
}

/**
 * Judges, records and puts one piece of content into the chat. Resolves true when it went into the
 * chat; false when the gate stopped it or the member cancelled (both explained on screen).
 */
export async function sendToChat(input: { source: SendSource; text?: string; materialId?: string }): Promise<boolean> {
  if (!sidebar.externalUserid) {
    showToast('请在与客户的聊天中打开侧边栏后再发送');
    return false;
  }
  const prepared = await api.post<Prepared>('/wecom/sidebar/messages', {
    corpId: sidebar.config?.corpId ?? undefined,
    externalUserid: sidebar.externalUserid,
    key: sendKey(),
    source: input.source,
    text: input.text,
    materialId: input.materialId,
  });
  if (prepared.status !== 'pending') {
    await showDialog({
      title: '未通过合规检查，不能发送',
      message: `${prepared.reason ?? ''}${prepared.findings.length ? `\n${findingsText(prepared.findings)}` : ''}${prepared.reviewId ? '\n已提交合规复核，通过后可再发送。' : '\n请修改内容后重试。'}`,
      messageAlign: 'left',
      confirmButtonText: '知道了',
    });
    return false;
  }
  try {
    await putInChat(prepared.chat);
  } catch (error) {
    const why = jsSdkError(error);
    await api.post(`/wecom/sidebar/messages/${prepared.id}/outcome`, { outcome: 'cancelled', error: why.slice(0, 200) });
    showToast(why.includes('cancel') ? '已取消发送' : `未能放入聊天（${why}），请重试`);
    return false;
  }
  await api.post(`/wecom/sidebar/messages/${prepared.id}/outcome`, { outcome: 'sent' });
  const where = isSandbox() ? '已放入模拟会话' : '已放入聊天';
  showToast({ type: 'success', message: prepared.disclosures.length ? `${where}\n（已附加提示语）` : where });
  sidebar.version++;
  return true;
}

/** A Chinese message for any error a tab's action met. */
export function describe(error: unknown): string {
  return error instanceof ApiError ? error.message : '操作失败，请稍后重试。';
}

/** Shows a failed background load or action in Chinese (for promises nobody awaits). */
export function report(error: unknown): void {
  showNotify({ type: 'danger', message: describe(error) });
}
