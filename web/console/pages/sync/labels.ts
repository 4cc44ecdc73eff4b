/**
 * The sync page's words: steps, run status, who started a run, what a report repaired, and the
 * run's error (English, from src/wecom/client and src/wecom/sync) as what happened and what to do.
 */
export type Step = 'directory' | 'tags' | 'contacts' | 'groups' | 'retire' | 'done';
export type RunStatus = 'running' | 'done' | 'failed';

export const STEPS: { step: Exclude<Step, 'done'>; title: string; description: string }[] = [
  { step: 'directory', title: '通讯录', description: '部门与成员' },
  { step: 'tags', title: '企业客户标签', description: '标签组与标签' },
  { step: 'contacts', title: '客户与好友关系', description: '每位成员的客户、备注与标签' },
  { step: 'groups', title: '客户群', description: '群与群成员' },
  { step: 'retire', title: '清理', description: '企业微信已不存在的好友关系' },
];

/** Each step's share of the bar (as the server estimates it). */
const SHARES: Record<Step, number> = { directory: 0, tags: 10, contacts: 15, groups: 85, retire: 95, done: 100 };
export const stepStart = (step: Step) => SHARES[step] ?? 0;
export const stepIndex = (step: Step) => (step === 'done' ? STEPS.length : STEPS.findIndex((s) => s.step === step));

export const STATUS_NAMES: Record<RunStatus, string> = { running: '同步中', done: '已完成', failed: '失败' };
export const STATUS_TAGS: Record<RunStatus, 'warning' | 'success' | 'danger'> = { running: 'warning', done: 'success', failed: 'danger' };

export interface Counts {
  members: { added: number; removed: number };
  tags: { added: number; updated: number; removed: number };
  contacts: { added: number; updated: number };
  relations: { added: number; updated: number; restored: number; removed: number };
  relationTags: { added: number; removed: number };
  groups: { stored: number; dismissed: number };
}
export interface Report extends Counts {
  samples?: Record<string, string[]>;
}

export const SAMPLE_NAMES: Record<string, string> = {
  'relations.added': '新增的好友关系',
  'relations.updated': '更新的好友关系',
  'relations.restored': '恢复的好友关系',
  'relations.removed': '已删除的好友关系',
  relationTags: '标签有变化的好友关系',
};

/** What a report repaired, as short phrases; nothing changed is said so. */
export function summary(r: Partial<Counts> | null | undefined): string[] {
  if (!r) return [];
  const parts: string[] = [];
  const add = (label: string, pairs: [string, number | undefined][]) => {
    const shown = pairs.filter(([, n]) => n).map(([word, n]) => `${word} ${n}`);
    if (shown.length) parts.push(`${label}：${shown.join('，')}`);
  };
  add('成员', [['新增', r.members?.added], ['离职/移除', r.members?.removed]]);
  add('标签', [['新增', r.tags?.added], ['改名/移组', r.tags?.updated], ['删除', r.tags?.removed]]);
  add('客户', [['新增', r.contacts?.added], ['更新', r.contacts?.updated]]);
  add('好友关系', [['新增', r.relations?.added], ['更新', r.relations?.updated], ['恢复', r.relations?.restored], ['删除', r.relations?.removed]]);
  add('客户标签', [['打上', r.relationTags?.added], ['移除', r.relationTags?.removed]]);
  add('客户群', [['同步', r.groups?.stored], ['已解散', r.groups?.dismissed]]);
  return parts;
}

export function startedByLabel(cause: string, startedBy: { display_name: string | null } | null): string {
  if (startedBy) return startedBy.display_name ? `${startedBy.display_name}（手动）` : '员工（手动）';
  if (cause === 'schedule') return '定时任务';
  if (cause === 'first-start') return '首次启动';
  return cause;
}

export const dateTime = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString('zh-CN', { hour12: false }) : '—');

export function duration(from: string, to: string | null | undefined): string {
  if (!to) return '—';
  const s = Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 1000));
  if (s < 60) return `${s} 秒`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} 分 ${s % 60} 秒` : `${Math.floor(m / 60)} 小时 ${m % 60} 分`;
}

/** WeCom errcodes a sync meets, with what the administrator does about each. */
const ERRCODES: Record<number, string> = {
  40001: 'Secret 不正确。请在企业微信管理后台「客户与上下游 → 客户联系 → API」查看「客户联系」Secret，更新服务配置（WECOM_CONTACT_SECRET）后重新同步。',
  40013: '企业 ID（CorpID）不正确。请在管理后台「我的企业」核对企业 ID 并更新服务配置。',
  40014: '访问令牌无效，已自动刷新仍失败。请确认 Secret 未被重置；若刚重置过，请更新配置后重新同步。',
  41001: '缺少访问令牌。请确认服务配置了「客户联系」Secret。',
  48002: '接口未授权。请在管理后台「客户联系 → API」中把本应用加入「可调用接口的应用」，然后重新同步。',
  60011: '没有权限访问部分成员或部门。请在管理后台把相关成员加入应用的可见范围和「客户联系」使用范围，然后重新同步。',
  60020: '服务器 IP 不在企业可信 IP 中。请在管理后台「应用管理 → 本应用 → 企业可信IP」添加服务器出口 IP，然后重新同步。',
  84061: '成员与客户之间已不是好友关系，属正常情况；如反复出现请重新同步。',
  45009: '调用频率超过企业微信的限制。系统会自动等待后重试；如反复出现，请把定时同步错开业务高峰。',
  45033: '并发调用超过企业微信的限制。系统会自动等待后重试；如反复出现，请把定时同步错开业务高峰。',
  [-1]: '企业微信系统繁忙。系统会自动重试，请稍后查看结果。',
};

/** The run's error as what happened and what to do; an unknown one is shown as it came, with where to look. */
export function explainError(message: string | null | undefined): { title: string; action: string } | null {
  if (!message) return null;
  let m = /^WeCom (\S+) failed with (-?\d+): ?(.*)$/.exec(message);
  if (m) {
    const code = Number(m[2]);
    return { title: `企业微信接口 ${m[1]} 返回错误 ${code}${m[3] ? `（${m[3]}）` : ''}`, action: ERRCODES[code] ?? '请对照企业微信开发文档的全局错误码处理后重新同步；如无法判断，请把错误码交给系统管理员。' };
  }
  m = /^WeCom (\S+) unavailable: (.+)$/.exec(message);
  if (m) {
    const reason = m[2]!;
    const what = reason === 'timeout' ? '请求超时' : /^HTTP 5\d\d$/.test(reason) ? `服务端错误（${reason}）` : `网络错误（${reason}）`;
    return { title: `暂时无法访问企业微信接口 ${m[1]}：${what}`, action: '同步会从中断处自动重试，已同步的部分不会重做。若一直失败，请检查服务器到企业微信（qyapi.weixin.qq.com）的网络与代理。' };
  }
  m = /^WeCom (\S+) not sent: its deadline passed/.exec(message);
  if (m) return { title: `企业微信接口 ${m[1]} 排队超时，未发出`, action: '调用配额正忙。同步会自动重试；如反复出现，请把定时同步错开群发等高峰。' };
  m = /^corp (\S+) has no (\w+) secret configured$/.exec(message);
  if (m) return { title: `企业 ${m[1]} 没有配置${m[2] === 'contact' ? '「客户联系」' : '应用'} Secret`, action: '请在服务配置中填写对应 Secret（WECOM_CONTACT_SECRET / WECOM_AGENT_SECRET）并重启服务，然后重新同步。' };
  m = /^unknown corp (\S+)$/.exec(message);
  if (m) return { title: `未配置企业 ${m[1]}`, action: '请确认服务配置中的企业 ID，或在多企业部署中选择正确的企业。' };
  if (/^not started: /.test(message)) return { title: '同步任务未能启动（任务队列不可用）', action: '请确认数据库与后台任务进程正常运行，然后重新同步。' };
  return { title: message, action: '请查看服务日志中该同步记录的详细信息；如无法判断原因，请联系系统管理员。' };
}
