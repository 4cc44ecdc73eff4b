/**
 * The SOP template as the console edits it (the shape of src/sop/definition.ts), the Chinese words
 * for its parts, and the translation of the server's validation issues into Chinese at their field.
 */
import { api, type FieldIssue } from '@shared/api';

export type FilterNode = { all: FilterNode[] } | { any: FilterNode[] } | { not: FilterNode } | FilterLeaf;
export interface FilterLeaf {
  field: string;
  op: string;
  value?: unknown;
}

export type TriggerType = 'event' | 'date' | 'schedule';
export interface Trigger {
  type: TriggerType;
  event?: string;
  channel?: string;
  tag?: string;
  attribute?: string;
  from?: string | number | boolean;
  to?: string | number | boolean;
  intent?: string;
  keyword?: string;
  date?: string;
  daysBefore?: number;
  days?: number;
  dayOfMonth?: number;
  at?: string;
  timezone?: string;
  cron?: string;
}

export type StepKind = 'wait' | 'send' | 'group_send' | 'tag' | 'task' | 'notify' | 'branch' | 'end';
export interface Step {
  id: string;
  type: StepKind;
  name?: string;
  when?: FilterNode;
  next?: string;
  duration?: string;
  until?: string;
  workingDay?: boolean;
  text?: string;
  material?: string;
  products?: string[];
  purpose?: 'marketing' | 'service';
  via?: string;
  groupName?: string;
  add?: string[];
  remove?: string[];
  title?: string;
  body?: string;
  dueIn?: string;
  to?: 'member' | 'branch_manager';
  on?: 'reply' | 'condition' | 'event';
  within?: string;
  condition?: FilterNode;
  event?: string;
  then?: string;
  else?: string;
  outcome?: 'completed' | 'converted';
}

export interface Definition {
  key: string;
  name: string;
  description?: string;
  trigger: Trigger;
  audience?: FilterNode;
  exit?: { unsubscribed?: boolean; deleted?: boolean; converted?: FilterNode; joined?: 'any' | string[] };
  reenter?: 'never' | 'per_occurrence';
  steps: Step[];
}

export interface TemplateSummary {
  id: string;
  key: string;
  name: string;
  description: string;
  status: TemplateStatus;
  currentVersion: number | null;
  source: 'file' | 'console';
  trigger: Trigger | null;
  updatedAt: string;
}

export type TemplateStatus = 'draft' | 'active' | 'paused' | 'archived';

export const TEMPLATE_STATUS: Record<TemplateStatus, { label: string; tag: 'info' | 'success' | 'warning' | 'danger' }> = {
  draft: { label: '草稿', tag: 'info' },
  active: { label: '运行中', tag: 'success' },
  paused: { label: '已暂停', tag: 'warning' },
  archived: { label: '已归档', tag: 'danger' },
};

export const ENROLLMENT_STATUS: Record<string, string> = {
  active: '进行中', paused: '已暂停', completed: '已完成', exited: '已退出', cancelled: '已取消', failed: '失败',
};

export const STEP_STATUS: Record<string, string> = {
  pending: '待执行', waiting: '等待中', running: '执行中', done: '已完成', failed: '失败', skipped: '已跳过', cancelled: '已取消',
};
export const STEP_STATUSES = ['pending', 'waiting', 'running', 'done', 'skipped', 'failed', 'cancelled'] as const;

export const STEP_KINDS: Record<StepKind, string> = {
  wait: '等待', send: '发送消息', group_send: '客户群群发', tag: '打标签', task: '创建任务', notify: '提醒员工', branch: '分支判断', end: '结束旅程',
};

export const TRIGGER_TYPES: Record<TriggerType, string> = { event: '事件触发', date: '日期触发', schedule: '定时触发' };
export const EVENTS: Record<string, string> = {
  contact_added: '添加企业微信好友', tag_added: '被打上标签', tag_removed: '被移除企业标签', attribute_changed: '客户属性变化',
  message_received: '收到客户消息', card_visited: '访问员工名片',
};
export const DATES: Record<string, string> = {
  birthday: '客户生日', product_maturity: '持有产品到期', risk_assessment_expiry: '风险测评到期', no_contact: '长期未联系', payday: '每月发薪日',
};
export const ATTRIBUTES: Record<string, string> = {
  aum_tier: 'AUM 档位', risk_level: '风险等级', aum: 'AUM', marketing_consent: '营销授权', branch_id: '所属网点',
};
export const DELIVERIES: Record<string, string> = {
  member_confirm: '成员确认后发送（企业微信群发助手）', sidebar_task: '侧边栏任务，由客户经理发送', bot: '机器人会话（无则成员确认）', kf: '微信客服（无则成员确认）',
};
export const DELIVERY_USED: Record<string, string> = {
  member_confirm: '成员确认发送', sidebar_task: '侧边栏任务', bot: '机器人会话', kf: '微信客服', group_confirm: '客户群群发（成员确认）',
};
export const VERDICTS: Record<string, { label: string; tag: 'success' | 'warning' | 'danger' }> = {
  pass: { label: '通过', tag: 'success' }, warn: { label: '提示', tag: 'warning' }, block: { label: '拦截', tag: 'danger' },
};

/** The variables a message may use (src/sop/definition.ts VARIABLES). */
export const VARIABLES: Record<string, string> = {
  称呼: '客户姓氏加先生/女士，如「王先生」',
  姓名: '客户姓名',
  客户经理: '跟进客户经理姓名',
  网点: '客户所属网点全称',
  产品名称: '触发旅程的产品名称（产品到期）',
  到期日: '触发旅程的产品到期日',
  生日: '客户生日，如「12月13日」',
  测评到期日: '风险测评到期日',
  今天: '当天日期',
};
export const GROUP_VARIABLES = ['客户经理', '今天'];

/** Fields each step kind accepts besides id, type, name, when and next. */
const STEP_FIELDS: Record<StepKind, (keyof Step)[]> = {
  wait: ['duration', 'until', 'workingDay'],
  send: ['text', 'material', 'products', 'purpose', 'via'],
  group_send: ['text', 'material', 'products', 'purpose', 'groupName'],
  tag: ['add', 'remove'],
  task: ['title', 'body', 'dueIn'],
  notify: ['to', 'text'],
  branch: ['on', 'within', 'condition', 'event', 'then', 'else'],
  end: ['outcome'],
};
const TRIGGER_FIELDS: Record<TriggerType, (keyof Trigger)[]> = {
  event: ['event', 'channel', 'tag', 'attribute', 'from', 'to', 'intent', 'keyword'],
  date: ['date', 'daysBefore', 'days', 'dayOfMonth', 'at', 'timezone'],
  schedule: ['cron', 'timezone'],
};

export function newStep(kind: StepKind, taken: string[]): Step {
  let n = 1;
  while (taken.includes(`${kind.replace('_', '-')}-${n}`)) n++;
  const id = `${kind.replace('_', '-')}-${n}`;
  switch (kind) {
    case 'wait': return { id, type: kind, duration: '1d', until: '10:00' };
    case 'send': return { id, type: kind, text: '', purpose: 'marketing', via: 'member_confirm', products: [] };
    case 'group_send': return { id, type: kind, text: '', purpose: 'marketing', products: [] };
    case 'tag': return { id, type: kind, add: [], remove: [] };
    case 'task': return { id, type: kind, title: '', body: '', dueIn: '1d' };
    case 'notify': return { id, type: kind, to: 'member', text: '' };
    case 'branch': return { id, type: kind, on: 'reply', within: '2d', then: '', else: '' };
    case 'end': return { id, type: kind, outcome: 'completed' };
  }
}

export function newDefinition(): Definition {
  return {
    key: '',
    name: '',
    description: '',
    trigger: { type: 'date', date: 'birthday', daysBefore: 0, at: '09:00' },
    exit: { unsubscribed: true, deleted: true },
    steps: [{ id: 'greet', type: 'send', text: '', purpose: 'service', via: 'member_confirm', products: [] }],
  };
}

const blank = (v: unknown) => v === undefined || v === null || v === '';

/**
 * The definition as the API takes it: only the fields the step kind and trigger type accept, and no
 * empty optional values (an empty name would be "too short", not "absent").
 */
export function cleanDefinition(d: Definition): Definition {
  const trigger: Trigger = { type: d.trigger.type };
  for (const f of TRIGGER_FIELDS[d.trigger.type]) if (!blank(d.trigger[f])) (trigger as unknown as Record<string, unknown>)[f] = d.trigger[f];
  const steps = d.steps.map((s) => {
    const out: Step = { id: s.id, type: s.type };
    if (!blank(s.name)) out.name = s.name;
    if (s.when) out.when = s.when;
    if (!blank(s.next)) out.next = s.next;
    for (const f of STEP_FIELDS[s.type]) {
      const v = s[f];
      if (blank(v)) continue;
      if (s.type === 'branch' && f === 'condition' && s.on !== 'condition') continue;
      if (s.type === 'branch' && f === 'event' && s.on !== 'event') continue;
      if (s.type === 'branch' && f === 'within' && s.on === 'condition') continue;
      (out as unknown as Record<string, unknown>)[f] = v;
    }
    return out;
  });
  const out: Definition = { key: d.key, name: d.name, trigger, steps };
  if (!blank(d.description)) out.description = d.description;
  if (d.audience) out.audience = d.audience;
  if (d.exit) {
    const exit: NonNullable<Definition['exit']> = { unsubscribed: d.exit.unsubscribed ?? true, deleted: d.exit.deleted ?? true };
    if (d.exit.converted) exit.converted = d.exit.converted;
    if (d.exit.joined === 'any' || (Array.isArray(d.exit.joined) && d.exit.joined.length)) exit.joined = d.exit.joined;
    out.exit = exit;
  }
  if (d.reenter) out.reenter = d.reenter;
  return out;
}

/** Fills what an older or file template may lack so the form has every field it binds. */
export function editable(d: Definition): Definition {
  const copy = JSON.parse(JSON.stringify(d)) as Definition;
  copy.description ??= '';
  copy.exit ??= { unsubscribed: true, deleted: true };
  for (const s of copy.steps) {
    if (s.type === 'send' || s.type === 'group_send') s.products ??= [];
    if (s.type === 'tag') {
      s.add ??= [];
      s.remove ??= [];
    }
  }
  return copy;
}

// ---- issues ---------------------------------------------------------------------------------------

const FIELD_LABELS: Record<string, string> = {
  key: '模板标识', name: '名称', description: '说明', reenter: '重复进入', steps: '步骤',
  type: '类型', event: '事件', channel: '渠道', tag: '标签', attribute: '属性', from: '原值', to: '发送对象', intent: '意向', keyword: '关键词',
  date: '日期', daysBefore: '提前天数', days: '天数', dayOfMonth: '发薪日', at: '时刻', timezone: '时区', cron: 'cron 表达式',
  id: '步骤 ID', when: '执行条件', next: '下一步', duration: '时长', until: '时刻', workingDay: '工作日', text: '内容', material: '素材',
  products: '产品', purpose: '用途', via: '发送方式', groupName: '群名称', add: '添加标签', remove: '移除标签', title: '任务标题', body: '任务说明',
  dueIn: '完成期限', on: '判断依据', within: '等待时长', condition: '条件', then: '成立时', else: '不成立时', outcome: '结局',
  unsubscribed: '取消授权时退出', deleted: '删除好友时退出', converted: '转化条件', joined: '进入其他旅程时退出',
};

const MESSAGES: [RegExp, (m: RegExpMatchArray) => string][] = [
  [/^lowercase letters, digits, - and _, at most 40$/, () => '只能用小写字母、数字、- 和 _，以字母或数字开头，最多 40 个字符'],
  [/^a time of day HH:MM$/, () => '请填写时刻，格式为 HH:MM，如 09:30'],
  [/^a duration such as 30m, 2h, 3d or 1w$/, () => '请填写时长：整数加单位 m（分钟）、h（小时）、d（天）、w（周），如 30m、2h、3d、1w'],
  [/^(tag_added|tag_removed) needs a tag$/, () => '请填写标签名称'],
  [/^attribute_changed needs an attribute$/, () => '请选择要关注的客户属性'],
  [/^no_contact needs days$/, () => '请填写多少天未联系'],
  [/^payday needs dayOfMonth$/, () => '请填写每月几号发薪（1–28）'],
  [/^a five-field cron expression$/, () => '请填写 5 段 cron 表达式（分 时 日 月 周），如 0 10 15 * *'],
  [/^a wait needs a duration, a time of day or workingDay$/, () => '等待步骤至少要设置时长、时刻或“顺延到工作日”中的一项'],
  [/^a (group )?send needs text or a material$/, () => '请填写消息内容或选择一个素材'],
  [/^a tag step needs add or remove$/, () => '请至少填写一个要添加或移除的标签'],
  [/^branch on (reply|event) needs within$/, () => '请填写等待时长，如 2d'],
  [/^branch on condition needs a condition$/, () => '请设置判断条件'],
  [/^branch on event needs an event$/, () => '请选择要等待的事件'],
  [/^duplicate step id (.+)$/, (m) => `步骤 ID「${m[1]}」重复，每个步骤的 ID 必须不同`],
  [/^no step (.+)$/, (m) => `没有 ID 为「${m[1]}」的步骤`],
  [/^(.+) is not after (.+): steps only point forward$/, (m) => `「${m[1]}」不在「${m[2]}」之后：只能跳到后面的步骤，请调整顺序`],
  [/^unknown variable \{(.+)\}$/, (m) => `未知变量 {${m[1]}}，请用下方按钮插入可用变量`],
  [/^\{(.+)\} is one customer's value; a group send may use only .*$/, (m) => `{${m[1]}} 是单个客户的信息，客户群群发只能使用 {客户经理}、{今天}`],
  [/^Too small: expected string to have >=1 characters?$/, () => '必填'],
  [/^Too small: expected string to have >=(\d+) characters?$/, (m) => `至少 ${m[1]} 个字符`],
  [/^Too big: expected string to have <=(\d+) characters?$/, (m) => `最多 ${m[1]} 个字符，请精简`],
  [/^Too small: expected array to have >=(\d+) items?$/, (m) => `至少需要 ${m[1]} 项`],
  [/^Too big: expected array to have <=(\d+) items?$/, (m) => `最多 ${m[1]} 项`],
  [/^Too small: expected number to be >=(-?\d+)$/, (m) => `不能小于 ${m[1]}`],
  [/^Too big: expected number to be <=(-?\d+)$/, (m) => `不能大于 ${m[1]}`],
  [/^Invalid input: expected \w+, received undefined$/, () => '必填'],
  [/^Invalid input: expected (\w+), received \w+$/, (m) => `类型不正确（应为${({ string: '文字', number: '数字', boolean: '是/否', array: '列表', object: '对象' } as Record<string, string>)[m[1]!] ?? m[1]}）`],
  [/^Invalid option: expected one of .*$/, () => '请从可选项中选择'],
  [/^Invalid discriminator value.*$/, () => '请从可选项中选择'],
  [/^Invalid UUID$/i, () => '请选择有效的素材'],
  [/^Unrecognized keys?: (.+)$/, (m) => `不支持的字段 ${m[1]}`],
  [/^unknown field$/, () => '不支持的字段'],
  [/^unknown field '(.+)'$/, (m) => `未知的筛选字段「${m[1]}」`],
  [/^unknown operator '(.+)'$/, (m) => `未知的运算符「${m[1]}」`],
  [/^operator '(.+)' not allowed for .*$/, (m) => `该字段不支持运算符「${m[1]}」`],
  [/^expected a number$/, () => '请填写数字'],
  [/^value is required$/, () => '请填写取值'],
  [/^expected one of .*$/, () => '请从可选项中选择'],
  [/^expected a non-empty list.*$/, () => '请至少填写一个取值'],
  [/^expected a non-empty string.*$/, () => '请填写取值'],
  [/^expected an ISO date.*$/, () => '请填写日期（YYYY-MM-DD）'],
  [/^expected \[min, max\].*$/, () => '请填写最小值和最大值，且最小值不大于最大值'],
  [/^expected \[from, to\].*$/, () => '请填写起止日期，且开始不晚于结束'],
  [/^expected a whole number of days.*$/, () => '请填写天数（整数）'],
  [/^'(all|any)' needs at least one condition$/, () => '条件组至少需要一个条件'],
  [/^syntax error: (.+)$/, (m) => `YAML 语法错误：${m[1]}`],
  [/^Invalid input$/, () => '格式不正确'],
];

export function translateMessage(message: string): string {
  for (const [pattern, make] of MESSAGES) {
    const m = message.match(pattern);
    if (m) return make(m);
  }
  return `格式不正确（${message}）`;
}

/** An issue at a field of the definition, in Chinese. `path` is relative to the definition: steps.2.text. */
export interface DefinitionIssue {
  path: string;
  /** Where, for a list: 第 3 步「remind」· 内容. */
  where: string;
  message: string;
  /** Line and column in the YAML, when the issue came from the YAML source. */
  line?: number;
}

/** Server issues (body.definition.steps.2.text, or body.source.yaml:11:5 steps.2.text) as definition issues. */
export function definitionIssues(issues: FieldIssue[], steps: Step[]): DefinitionIssue[] {
  return issues.map((i) => {
    let path = i.path;
    let line: number | undefined;
    const source = path.match(/^body\.source\.\w+(?::(\d+):\d+)?\s*(.*)$/);
    if (source) {
      line = source[1] ? Number(source[1]) : undefined;
      path = source[2] ?? '';
    } else path = path.replace(/^body\.definition\.?/, '').replace(/^draft\.?/, '');
    return { path, where: describePath(path, steps), message: translateMessage(i.message), line };
  });
}

export function describePath(path: string, steps: Step[]): string {
  const parts = path.split('.').filter(Boolean);
  if (!parts.length) return '模板';
  if (parts[0] === 'steps' && parts.length >= 2 && /^\d+$/.test(parts[1]!)) {
    const i = Number(parts[1]);
    const step = steps[i];
    const head = `第 ${i + 1} 步${step?.id ? `「${step.id}」` : ''}`;
    const field = parts[2];
    if (!field) return head;
    if (field === 'when' || field === 'condition') return `${head} · ${FIELD_LABELS[field]}`;
    return `${head} · ${FIELD_LABELS[field] ?? field}`;
  }
  if (parts[0] === 'trigger') {
    const field = parts[1] ?? '';
    const label = field === 'from' ? '变化前' : field === 'to' ? '变化后' : FIELD_LABELS[field] ?? field;
    return label ? `触发 · ${label}` : '触发';
  }
  if (parts[0] === 'audience') return '受众条件';
  if (parts[0] === 'exit') return `退出条件 · ${FIELD_LABELS[parts[1] ?? ''] ?? parts[1] ?? ''}`.replace(/ · $/, '');
  return FIELD_LABELS[parts[0]!] ?? parts[0]!;
}

/** Messages of the issues exactly at `path`, joined for an el-form-item's error. */
export function errorAt(issues: DefinitionIssue[], path: string): string {
  return issues.filter((i) => i.path === path).map((i) => i.message).join('；');
}

/** Messages of the issues under `prefix` (a filter's nodes). */
export function errorsUnder(issues: DefinitionIssue[], prefix: string): string {
  return issues.filter((i) => i.path === prefix || i.path.startsWith(`${prefix}.`)).map((i) => i.message).join('；');
}

export const time = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString('zh-CN', { hour12: false }) : '—');

export interface FieldInfo { name: string; label: string; type: string; ops: string[]; values?: { value: string; label: string }[] }
let fieldsLoad: Promise<FieldInfo[]> | undefined;
/** The filter grammar's fields (GET /filters/fields), loaded once per page. */
export function loadFields(): Promise<FieldInfo[]> {
  fieldsLoad ??= api.get<{ fields: FieldInfo[] }>('/filters/fields').then((r) => r.fields);
  fieldsLoad.catch(() => (fieldsLoad = undefined));
  return fieldsLoad;
}

export interface MaterialOption { id: string; title: string; kind: string; text: string; productIds: string[] }
let materialsLoad: Promise<MaterialOption[]> | undefined;
/** Approved materials, for send steps. */
export function loadApprovedMaterials(): Promise<MaterialOption[]> {
  materialsLoad ??= api.get<{ items: MaterialOption[] }>('/materials', { status: 'approved', limit: 200 }).then((r) => r.items);
  materialsLoad.catch(() => (materialsLoad = undefined));
  return materialsLoad;
}

/** The trigger in one Chinese phrase, for lists. */
export function describeTrigger(t: Trigger | null | undefined): string {
  if (!t) return '—';
  if (t.type === 'event') {
    const what = EVENTS[t.event ?? ''] ?? t.event ?? '';
    const detail = t.tag ? `「${t.tag}」` : t.attribute ? `「${ATTRIBUTES[t.attribute] ?? t.attribute}」` : t.channel ? `（渠道 ${t.channel}）` : t.keyword ? `（含「${t.keyword}」）` : '';
    return `事件：${what}${detail}`;
  }
  if (t.type === 'date') {
    const what = DATES[t.date ?? ''] ?? t.date ?? '';
    const before = t.daysBefore ? `前 ${t.daysBefore} 天` : '当天';
    return `日期：${what}${t.date === 'no_contact' ? ` ${t.days ?? ''} 天` : t.date === 'payday' ? ` 每月 ${t.dayOfMonth ?? ''} 日` : ''} ${before} ${t.at ?? '09:00'}`;
  }
  return `定时：${t.cron ?? ''}`;
}

export const canManage = (role: string | undefined) => role === 'admin' || role === 'ops';
