import { api, ApiError, type Me } from '@shared/api';
import { startLive } from './live';
import { loadContact, sidebar, type SidebarConfig } from './state';
import { currentEntry, currentExternalContact, jsSdkError, registerJsSdk } from './wecom';

/**
 * How the sidebar starts. It learns from the service whether this is the sandbox
 * (GET /wecom/sidebar/config), then:
 *
 * - inside WeCom: signs the member in through OAuth when there is no session (/wecom/oauth/start →
 *   WeCom's authorize page → /wecom/oauth/callback, back here), registers the JS-SDK with the
 *   service's signatures and asks which external contact the chat is with;
 * - in the sandbox, where the JS-SDK cannot run: a simulated WeCom context. The page offers the
 *   demo members (signing in as the one picked through the sandbox's OAuth page), then that member's
 *   customers; the picked customer is kept in the address (`?contact=`), so a reload stays there.
 */
const params = () => new URL(location.href).searchParams;

function sidebarPath(contact?: string | null): string {
  const p = new URLSearchParams();
  const corpId = params().get('corpId');
  if (corpId) p.set('corpId', corpId);
  if (contact) p.set('contact', contact);
  const query = p.toString();
  return `/sidebar/${query ? `?${query}` : ''}`;
}

export function signInUrl(member?: string): string {
  const corpId = sidebar.config?.corpId ?? '';
  const next = member ? sidebarPath() : location.pathname + location.search;
  return `/wecom/oauth/start?corpId=${encodeURIComponent(corpId)}&next=${encodeURIComponent(next)}${member ? `&member=${encodeURIComponent(member)}` : ''}`;
}

/** Sandbox: sign in as another member (the current session ends first). */
export async function switchMember(userid: string): Promise<void> {
  if (sidebar.me) await api.post('/auth/logout').catch(() => undefined);
  location.assign(signInUrl(userid));
}

export async function openContact(externalUserid: string): Promise<void> {
  sidebar.externalUserid = externalUserid;
  try {
    await loadContact();
  } catch (error) {
    sidebar.externalUserid = null;
    throw error;
  }
  if (sidebar.config?.sandbox) history.replaceState(null, '', sidebarPath(externalUserid));
  sidebar.phase = 'ready';
}

/** Sandbox: back to the customer list of the signed-in member. */
export function pickAnotherContact(): void {
  sidebar.externalUserid = null;
  sidebar.contact = null;
  sidebar.chatLog = [];
  history.replaceState(null, '', sidebarPath());
  sidebar.phase = 'pick-contact';
}

async function bootSandbox(me: Me | null): Promise<void> {
  if (!me?.wecomUserid) {
    sidebar.phase = 'pick-member';
    return;
  }
  startLive();
  const contact = params().get('contact');
  if (!contact) {
    sidebar.phase = 'pick-contact';
    return;
  }
  sidebar.entry = 'sandbox';
  try {
    await openContact(contact);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
    pickAnotherContact();
  }
}

async function bootWeCom(me: Me | null, config: SidebarConfig): Promise<void> {
  if (!config.corpId) {
    sidebar.error = '未找到企业微信的企业配置，请在侧边栏地址中带上 corpId，或联系管理员。';
    sidebar.phase = 'error';
    return;
  }
  if (!me) {
    location.replace(signInUrl());
    return;
  }
  try {
    await registerJsSdk(config.corpId, config.agentId);
    sidebar.entry = await currentEntry();
    const externalUserid = await currentExternalContact(sidebar.entry);
    startLive();
    if (externalUserid) await openContact(externalUserid);
    else sidebar.phase = 'ready';
  } catch (error) {
    if (error instanceof ApiError) throw error;
    sidebar.error = `无法连接企业微信（${jsSdkError(error)}），请在企业微信中重新打开侧边栏。`;
    sidebar.phase = 'error';
  }
}

export async function boot(): Promise<void> {
  sidebar.phase = 'loading';
  sidebar.error = null;
  try {
    const config = await api.get<SidebarConfig>('/wecom/sidebar/config', { corpId: params().get('corpId') ?? undefined });
    sidebar.config = config;
    sidebar.me = (await api.get<{ staff: Me | null }>('/auth/session')).staff;
    if (config.sandbox) await bootSandbox(sidebar.me);
    else await bootWeCom(sidebar.me, config);
  } catch (error) {
    sidebar.error = error instanceof ApiError ? error.message : '侧边栏启动失败，请关闭后重新打开。';
    sidebar.phase = 'error';
  }
}
