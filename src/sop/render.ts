import { VARIABLES, type VariableName } from './definition.js';
import { addDays, dateInZone, DEFAULT_TIME_ZONE } from './schedule.js';

/**
 * Message rendering: `{变量}` in a template's text become the customer's values. A message with a variable
 * that has no value is not rendered at all (the engine records why), so a customer never reads "您好 undefined"
 * or "您好 ，".
 */

export type Variables = Partial<Record<VariableName, string | null | undefined>>;
export type RenderResult = { ok: true; text: string } | { ok: false; missing: VariableName[]; reason: string };

/** The same shape the template schema checks (definition.ts); other braces are the message's own. */
const VARIABLE = /\{([^{}\s]{1,10})\}/g;

const isVariableName = (name: string): name is VariableName => Object.prototype.hasOwnProperty.call(VARIABLES, name);
const hasValue = (value: string | null | undefined): value is string => typeof value === 'string' && value.trim() !== '';

/** Replaces every known variable in one pass (a value containing braces is not expanded again). */
export function renderText(template: string, vars: Variables): RenderResult {
  const missing: VariableName[] = [];
  const text = template.replace(VARIABLE, (whole, name: string) => {
    if (!isVariableName(name)) return whole;
    const value = vars[name];
    if (hasValue(value)) return value;
    if (!missing.includes(name)) missing.push(name);
    return whole;
  });
  if (missing.length) return { ok: false, missing, reason: `缺少变量：${missing.map((n) => `{${n}}`).join('、')}` };
  return { ok: true, text };
}

/**
 * Two-character surnames (复姓) that are read as one surname when a name has at least three characters.
 * Left out on purpose: pairs whose first character is itself a common surname and whose second is common in
 * given names (宗政, 乐正, 单于, 第五), where 宗政伟 is far more likely 宗 + 政伟.
 */
const COMPOUND_SURNAMES = new Set([
  '欧阳', '司马', '上官', '诸葛', '东方', '皇甫', '尉迟', '公孙', '慕容', '令狐', '长孙', '宇文', '司徒', '夏侯',
  '轩辕', '端木', '司空', '澹台', '公冶', '濮阳', '淳于', '太叔', '申屠', '仲孙', '钟离', '闻人', '呼延', '万俟',
  '赫连', '南宫', '西门', '独孤', '百里', '东郭', '左丘', '公羊', '闾丘', '拓跋', '鲜于', '巫马', '公西', '漆雕',
  '羊舌', '微生', '梁丘', '东门', '南门', '司寇', '子车', '颛孙', '壤驷', '公良', '夹谷', '宰父', '谷梁',
]);

const HAN_NAME = /^\p{Script=Han}+$/u;

/**
 * 王先生 / 李女士 / 欧阳女士. Undefined when the gender is unknown, or when the name is not written in Han
 * characters alone (a name with a middle dot such as 阿卜杜拉·买买提, or a foreign name): the surname is not
 * simply its first characters, and a wrong form of address is worse than a message that waits for a person.
 */
export function salutation(name: string | null | undefined, gender: 'M' | 'F' | null | undefined): string | undefined {
  if (gender !== 'M' && gender !== 'F') return undefined;
  const full = (name ?? '').trim();
  if (!HAN_NAME.test(full)) return undefined;
  const chars = [...full];
  // A two-character name is surname + given name, even when it reads like a compound surname (钟离 is 钟 Li).
  const compound = chars.length >= 3 && COMPOUND_SURNAMES.has(chars.slice(0, 2).join(''));
  const surname = compound ? chars.slice(0, 2).join('') : chars[0]!;
  return surname + (gender === 'M' ? '先生' : '女士');
}

/** 2026年12月13日. A 'YYYY-MM-DD' string is a local date already; a Date is read in `timezone`. */
export function chineseDate(date: string | Date, timezone = DEFAULT_TIME_ZONE): string {
  const { year, month, day } = localDateParts(date, timezone);
  return `${year}年${month}月${day}日`;
}

/** 12月13日. */
export function chineseMonthDay(date: string | Date, timezone = DEFAULT_TIME_ZONE): string {
  const { month, day } = localDateParts(date, timezone);
  return `${month}月${day}日`;
}

function localDateParts(date: string | Date, timezone: string): { year: number; month: number; day: number } {
  // addDays(…, 0) validates a 'YYYY-MM-DD' string and returns it unchanged.
  const iso = typeof date === 'string' ? addDays(date, 0) : dateInZone(date, timezone);
  return { year: Number(iso.slice(0, 4)), month: Number(iso.slice(5, 7)), day: Number(iso.slice(8, 10)) };
}

/** A risk assessment is valid for 365 days (as the filter grammar's risk_assessment_valid): through assessed + 365. */
export const RISK_ASSESSMENT_VALID_DAYS = 365;

export interface VariableInput {
  customer: {
    name: string;
    gender: 'M' | 'F' | null;
    /** 'YYYY-MM-DD' */
    birthDate: string | null;
    branchName?: string | null;
    /** 'YYYY-MM-DD' */
    riskAssessedAt?: string | null;
  };
  /** The account manager the customer follows. */
  memberName?: string | null;
  /** The product that triggered the journey (理财到期); maturityDate 'YYYY-MM-DD'. */
  product?: { name: string; maturityDate: string } | null;
  today: Date;
  timezone?: string;
}

/**
 * The values a message may use for one customer. A variable without a source value is left out, so rendering a
 * message that needs it fails naming it. Malformed dates throw RangeError: they are a data bug, not a gap.
 */
export function buildVariables(input: VariableInput): Partial<Record<VariableName, string>> {
  const timezone = input.timezone ?? DEFAULT_TIME_ZONE;
  const { customer, product } = input;
  const vars: Partial<Record<VariableName, string | undefined>> = {
    称呼: salutation(customer.name, customer.gender),
    姓名: text(customer.name),
    客户经理: text(input.memberName),
    网点: text(customer.branchName),
    产品名称: text(product?.name),
    到期日: product?.maturityDate ? chineseDate(product.maturityDate) : undefined,
    生日: customer.birthDate ? chineseMonthDay(customer.birthDate) : undefined,
    测评到期日: customer.riskAssessedAt ? chineseDate(addDays(customer.riskAssessedAt, RISK_ASSESSMENT_VALID_DAYS)) : undefined,
    今天: chineseDate(input.today, timezone),
  };
  const present: Partial<Record<VariableName, string>> = {};
  for (const [name, value] of Object.entries(vars) as [VariableName, string | undefined][]) if (value !== undefined) present[name] = value;
  return present;
}

function text(value: string | null | undefined): string | undefined {
  return hasValue(value) ? value.trim() : undefined;
}
