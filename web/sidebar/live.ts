import { showNotify } from 'vant';
import { live } from '@shared/realtime';
import { refreshAll, sidebar } from './state';

/**
 * The member's room (`member:<staffId>`, src/realtime): every event that arrives is shown as a
 * notification and the sidebar reloads what it shows. Known events get a sentence of their own;
 * anything else (events added later) is still shown, by its text or its name.
 */
type Data = Record<string, unknown>;

const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : null);

export function describeLiveEvent(event: string, data: Data): { message: string; type: 'primary' | 'warning' | 'success' } {
  switch (event) {
    case 'task.created':
      return { message: `新任务：${text(data.title) ?? '请查看任务列表'}`, type: 'primary' };
    case 'sop.alert':
      return { message: `旅程提醒：${text(data.text) ?? ''}`, type: 'primary' };
    case 'handoff.alert':
      return { message: `客户需要人工接待：${text(data.text) ?? ''}`, type: 'warning' };
    case 'customer.new':
      return { message: `新客户：${text(data.name) ?? '一位客户'}添加了您${data.contactWay && typeof data.contactWay === 'object' ? `（${text((data.contactWay as Data).name) ?? ''}）` : ''}`, type: 'success' };
    default: {
      const body = text(data.text) ?? text(data.content) ?? text(data.summary) ?? text(data.title);
      if (/message/.test(event)) return { message: `新消息${text(data.name) ? `（${text(data.name)}）` : ''}：${body ?? ''}`, type: 'primary' };
      return { message: body ? `${body}` : `新通知：${event}`, type: 'primary' };
    }
  }
}

/** The last message a customer wrote, as it arrived live (the assistant tab offers replies to it). */
export const lastIncoming = { externalUserid: null as string | null, text: null as string | null };

let started = false;

export function startLive(): void {
  if (started) return;
  started = true;
  const connection = live();
  let first = true;
  connection.onReady(() => {
    // The first ready comes right after the page loaded its data; later ones follow a reconnection.
    if (first) {
      first = false;
      return;
    }
    void refreshAll().catch(() => undefined);
  });
  connection.socket.onAny((event: string, data: unknown) => {
    if (event === 'ready' || event === 'resync') return;
    const payload = (data && typeof data === 'object' ? data : {}) as Data;
    const { message, type } = describeLiveEvent(event, payload);
    showNotify({ type, message, duration: 5000 });
    const about = text(payload.externalUserid);
    const incoming = text(payload.text) ?? text(payload.content);
    if (about && incoming && /message|handoff/.test(event)) {
      lastIncoming.externalUserid = about;
      lastIncoming.text = incoming;
    }
    if (sidebar.phase === 'ready') void refreshAll().catch(() => undefined);
    else sidebar.version++;
  });
}
