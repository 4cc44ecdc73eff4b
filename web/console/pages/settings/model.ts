import type { FieldIssue } from '@shared/api';

/**
 * How the console shows and edits each runtime setting (src/settings/index.ts holds the schemas and
 * checks): fields with their kind and Chinese label, the value as a sentence, and the server's
 * English messages in Chinese at the field they name. A key this file does not know (added to the
 * registry later) is edited as JSON.
 */
export type FieldKind = 'time' | 'timezone' | 'period' | 'integer' | 'money' | 'ratio' | 'text' | 'dates' | 'json';

export interface FieldDef {
  name: string;
  label: string;
  kind: FieldKind;
  help?: string;
  min?: number;
  max?: number;
}

export interface SettingDef {
  title: string;
  fields: FieldDef[];
  summary(value: Record<string, unknown>): string;
}

export interface SettingItem {
  key: string;
  description: string;
  value: unknown;
  default: unknown;
  version: number;
  updatedAt: string | null;
  updatedBy: { id: string; displayName: string | null } | null;
}

export interface HistoryItem {
  version: number | null;
  at: string;
  actor: { id: string; displayName: string | null } | null;
  before: unknown;
  after: unknown;
}

export const PERIODS: Record<string, string> = { day: '每天', week: '每周', month: '每月' };
export const TIME_ZONES = ['Asia/Shanghai', 'Asia/Hong_Kong', 'Asia/Macau', 'Asia/Taipei', 'Asia/Singapore', 'UTC'];

const money = (n: unknown) => {
  const v = Number(n);
  if (!Number.isFinite(v)) return String(n);
  return v >= 10_000 ? `${(v / 10_000).toLocaleString('zh-CN', { maximumFractionDigits: 2 })} 万元` : `${v.toLocaleString('zh-CN')} 元`;
};
const overnight = (start: string, end: string) => (end <= start ? `次日 ${end}` : end);
const dates = (v: unknown) => (Array.isArray(v) ? (v as string[]) : []);

export const DEFS: Record<string, SettingDef> = {
  'outbound.quietHours': {
    title: '免打扰时段',
    fields: [
      { name: 'start', label: '开始时间', kind: 'time', help: '24 小时制，如 21:00' },
      { name: 'end', label: '结束时间', kind: 'time', help: '早于开始时间表示跨午夜，如 08:00 即次日 08:00' },
      { name: 'timezone', label: '时区', kind: 'timezone', help: '按此时区计算时段，境内机构一般为 Asia/Shanghai' },
    ],
    summary: (v) => `每天 ${v.start} 至 ${overnight(String(v.start), String(v.end))}（${v.timezone ?? 'Asia/Shanghai'}）不发送自动消息`,
  },
  'outbound.customerQuota': {
    title: '客户接收群发上限',
    fields: [
      { name: 'period', label: '统计周期', kind: 'period', help: '与企业微信管理后台「客户联系 → 群发」的设置保持一致' },
      { name: 'limit', label: '条数上限', kind: 'integer', min: 1, max: 100, help: '每位客户在一个周期内最多收到的企业群发条数（1–100）' },
    ],
    summary: (v) => `每位客户${PERIODS[String(v.period)] ?? v.period}最多接收 ${v.limit} 条企业群发`,
  },
  'customers.aumTiers': {
    title: 'AUM 分层阈值',
    fields: [
      { name: 'potential', label: '潜力客户下限（元）', kind: 'money', min: 0 },
      { name: 'wealth', label: '财富客户下限（元）', kind: 'money', min: 0, help: '须高于潜力客户下限' },
      { name: 'private', label: '私行客户下限（元）', kind: 'money', min: 0, help: '须高于财富客户下限' },
    ],
    summary: (v) => `潜力 ≥ ${money(v.potential)}，财富 ≥ ${money(v.wealth)}，私行 ≥ ${money(v.private)}`,
  },
  'replies.thresholds': {
    title: '自动回复阈值',
    fields: [
      { name: 'kbMinScore', label: '知识库最低匹配分', kind: 'ratio', min: 0, max: 1, help: '低于此分数的知识库答案不自动回复（0–1，越高越严格）' },
      { name: 'intentThreshold', label: '意向打标签最低分', kind: 'ratio', min: 0, max: 1, help: '消息意向得分达到此值才给客户打上意向标签（0–1）' },
    ],
    summary: (v) => `知识库答案最低匹配分 ${v.kbMinScore}，意向打标签最低分 ${v.intentThreshold}`,
  },
  'wecom.welcomeText': {
    title: '默认欢迎语',
    fields: [{ name: 'text', label: '欢迎语', kind: 'text', max: 1000, help: '{客户经理} 会替换为客户经理姓名；渠道活码自己设置了欢迎语时用活码的' }],
    summary: (v) => String(v.text ?? ''),
  },
  'sop.workingCalendar': {
    title: '工作日历',
    fields: [
      { name: 'holidays', label: '法定节假日', kind: 'dates', help: '每行一个日期（YYYY-MM-DD），整段假期的每一天都要列出，周末也不例外' },
      { name: 'workdays', label: '调休上班日', kind: 'dates', help: '需要上班的周末，每行一个日期；不能与节假日重复' },
    ],
    summary: (v) => {
      const all = [...dates(v.holidays), ...dates(v.workdays)].sort();
      return `节假日 ${dates(v.holidays).length} 天，调休上班日 ${dates(v.workdays).length} 天${all.length ? `（${all[0]} 至 ${all.at(-1)}）` : ''}`;
    },
  },
};

/** A key the console has no form for: its value as JSON. */
export function defOf(key: string): SettingDef {
  return DEFS[key] ?? { title: key, fields: [{ name: '', label: '取值（JSON）', kind: 'json' }], summary: (v) => JSON.stringify(v) };
}

export type FormValues = Record<string, string | number | null>;

/** The stored value as the form's fields (dates as lines, JSON as text). */
export function toForm(def: SettingDef, value: unknown): FormValues {
  const v = (value ?? {}) as Record<string, unknown>;
  const form: FormValues = {};
  for (const f of def.fields) {
    if (f.kind === 'json') form[f.name] = JSON.stringify(value, null, 2);
    else if (f.kind === 'dates') form[f.name] = dates(v[f.name]).join('\n');
    else if (f.kind === 'integer' || f.kind === 'money' || f.kind === 'ratio') form[f.name] = typeof v[f.name] === 'number' ? (v[f.name] as number) : null;
    else form[f.name] = v[f.name] === undefined || v[f.name] === null ? '' : String(v[f.name]);
  }
  return form;
}

/** The form as the value to send; a JSON field that does not parse is an error at that field. */
export function fromForm(def: SettingDef, form: FormValues): { value?: unknown; errors: Record<string, string> } {
  const value: Record<string, unknown> = {};
  for (const f of def.fields) {
    const raw = form[f.name];
    if (f.kind === 'json') {
      try {
        return { value: JSON.parse(String(raw ?? '')), errors: {} };
      } catch {
        return { errors: { [f.name]: '不是有效的 JSON，请检查括号、引号和逗号' } };
      }
    }
    if (f.kind === 'dates') value[f.name] = String(raw ?? '').split(/[\s,，、;；]+/).filter(Boolean);
    // An emptied number goes as missing, for the server to say it is required.
    else if (f.kind === 'integer' || f.kind === 'money' || f.kind === 'ratio') value[f.name] = raw === null || raw === '' ? undefined : Number(raw);
    else value[f.name] = typeof raw === 'string' ? raw.trim() : raw;
  }
  return { value, errors: {} };
}

const MESSAGES: [RegExp, (m: RegExpExecArray) => string][] = [
  [/^HH:MM$/, () => '须为 24 小时制时间 HH:MM（00:00–23:59），如 21:00'],
  [/^YYYY-MM-DD$/, () => '须为 YYYY-MM-DD 格式的日期'],
  [/^not a calendar date$/, () => '不是真实存在的日期'],
  [/^unknown time zone$/, () => '不是有效的时区，请从列表中选择，如 Asia/Shanghai'],
  [/must be above potential$/, () => '须高于潜力客户下限'],
  [/must be above wealth$/, () => '须高于财富客户下限'],
  [/^a date cannot be both a holiday and a workday$/, () => '同一天不能既是节假日又是调休上班日，请删去其一'],
  [/^Too small: expected string to have >=1 characters?$/, () => '必填'],
  [/^Too big: expected string to have <=(\d+) characters?$/, (m) => `最多 ${m[1]} 个字，请精简`],
  [/^Too big: expected array to have <=(\d+) items?$/, (m) => `最多 ${m[1]} 个`],
  [/^Too small: expected number to be >=(-?[\d.]+)$/, (m) => `不能小于 ${m[1]}`],
  [/^Too small: expected number to be >(-?[\d.]+)$/, (m) => `须大于 ${m[1]}`],
  [/^Too big: expected number to be <=(-?[\d.]+)$/, (m) => `不能大于 ${m[1]}`],
  [/^Invalid input: expected int, received number$/, () => '须为整数'],
  [/^Invalid input: expected \w+, received undefined$/, () => '必填'],
  [/^Invalid input: expected number, received \w+$/, () => '请填写数字'],
  [/^Invalid input: expected (\w+), received \w+$/, (m) => `类型不正确（应为${({ string: '文字', array: '列表', object: '对象', boolean: '是/否' } as Record<string, string>)[m[1]!] ?? m[1]}）`],
  [/^Invalid option: expected one of .*$/, () => '请从可选项中选择'],
  [/^Invalid input$/, () => '格式不正确'],
];

export function translate(message: string): string {
  for (const [pattern, render] of MESSAGES) {
    const m = pattern.exec(message);
    if (m) return render(m);
  }
  return message;
}

/**
 * The server's issues (`body.value.<field>[.<index>]`) at the form's fields; a date list names the
 * line at fault. Issues about the value as a whole, or a field the form does not have, go to `''`.
 */
export function fieldErrors(def: SettingDef, issues: FieldIssue[], form: FormValues): Record<string, string> {
  const errors: Record<string, string> = {};
  const json = def.fields.find((f) => f.kind === 'json');
  for (const issue of issues) {
    const rest = issue.path.replace(/^body\.value\.?/, '');
    const message = translate(issue.message);
    if (json) {
      errors[json.name] = [errors[json.name], rest ? `「${rest}」${message}` : message].filter(Boolean).join('；');
      continue;
    }
    const [name, index] = rest.split('.');
    const field = def.fields.find((f) => f.name === name);
    if (!field) {
      errors[''] = [errors[''], message].filter(Boolean).join('；');
      continue;
    }
    let text = message;
    if (field.kind === 'dates' && index !== undefined) {
      const lines = String(form[field.name] ?? '').split(/[\s,，、;；]+/).filter(Boolean);
      text = `第 ${Number(index) + 1} 个日期「${lines[Number(index)] ?? ''}」${message}`;
    }
    errors[field.name] = [errors[field.name], text].filter(Boolean).join('；');
  }
  return errors;
}

/** What changed between two values, field by field, as the history shows it. */
export function changes(def: SettingDef, before: unknown, after: unknown): string[] {
  const b = (before ?? {}) as Record<string, unknown>;
  const a = (after ?? {}) as Record<string, unknown>;
  if (def.fields.some((f) => f.kind === 'json')) return JSON.stringify(before) === JSON.stringify(after) ? [] : [`${JSON.stringify(before)} → ${JSON.stringify(after)}`];
  const out: string[] = [];
  for (const f of def.fields) {
    if (JSON.stringify(b[f.name]) === JSON.stringify(a[f.name])) continue;
    if (f.kind === 'dates') {
      const was = new Set(dates(b[f.name]));
      const now = new Set(dates(a[f.name]));
      const added = [...now].filter((d) => !was.has(d));
      const removed = [...was].filter((d) => !now.has(d));
      out.push(`${f.label}：${[added.length ? `增加 ${added.join('、')}` : '', removed.length ? `删除 ${removed.join('、')}` : ''].filter(Boolean).join('；')}`);
    } else {
      const show = (v: unknown) => (v === undefined || v === null ? '（空）' : f.kind === 'period' ? (PERIODS[String(v)] ?? String(v)) : f.kind === 'money' ? money(v) : String(v));
      out.push(`${f.label}：${show(b[f.name])} → ${show(a[f.name])}`);
    }
  }
  return out;
}

/** JSON with object keys sorted: the database returns jsonb keys in its own order. */
const canonical = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(canonical) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, canonical(x)])) : v;
export const sameValue = (a: unknown, b: unknown) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
export const dateTime = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString('zh-CN', { hour12: false }) : '—');
