import { fieldNamed, type FieldSpec, type Operator } from './fields.js';
import type { FilterLeaf, FilterNode } from './types.js';
import { validateFilter } from './validate.js';

/**
 * A Chinese sentence for a filter, for segment lists, SOP summaries and audit details:
 * "AUM ≥ 50万 且 标签含 代发 且 90天内无联系". Conditions join with 且 / 或; a nested group with more than one
 * condition is bracketed (（…）) so the reading matches the evaluation; `not` reads 非（…）.
 */
const SYMBOLS: Partial<Record<Operator, string>> = { eq: '=', ne: '≠', gt: '>', gte: '≥', lt: '<', lte: '≤' };

/** Fixed wording where "label + operator" reads badly; {n} is the day count. */
const PHRASES: Record<string, Partial<Record<Operator, string>>> = {
  marketing_consent: { is_true: '已授权营销', is_false: '未授权营销' },
  is_wecom_contact: { is_true: '是企微好友', is_false: '不是企微好友' },
  risk_assessment_valid: { is_true: '风险测评有效', is_false: '风险测评无效或已过期' },
  last_contact_at: { within_last_days: '{n}天内有联系', not_within_last_days: '{n}天内无联系' },
  last_txn_at: { within_last_days: '{n}天内有交易', not_within_last_days: '{n}天内无交易' },
  risk_assessed_at: { within_last_days: '{n}天内做过风险测评', not_within_last_days: '{n}天内未做风险测评' },
  created_at: { within_last_days: '{n}天内建档', not_within_last_days: '{n}天内未建档' },
  follow_added: { within_last_days: '{n}天内添加企微' },
};

/** CNY: in 万 when a whole number of 万 (50万, 600万), else with thousands separators (12,345.67). */
export function formatMoney(amount: number): string {
  if (amount !== 0 && amount % 10_000 === 0) return `${amount / 10_000}万`;
  return amount.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

function formatValue(field: FieldSpec, value: unknown): string {
  if (typeof value === 'number') return field.money ? formatMoney(value) : String(value);
  const text = String(value);
  return field.values?.find((v) => v.value === text)?.label ?? text;
}

const joinValues = (field: FieldSpec, value: unknown) =>
  (Array.isArray(value) ? value : [value]).map((v) => formatValue(field, v)).join('、');

function describeLeaf(leaf: FilterLeaf): string {
  const field = fieldNamed(leaf.field)!; // validated
  const op = leaf.op as Operator;
  const { label } = field;
  const v = leaf.value;
  const phrase = PHRASES[field.name]?.[op];
  if (phrase) return phrase.replace('{n}', String(v));
  const pair = Array.isArray(v) ? v : [];
  switch (op) {
    case 'eq': case 'ne': case 'gt': case 'gte': case 'lt': case 'lte':
      if (field.type === 'number') return `${label} ${SYMBOLS[op]} ${formatValue(field, v)}`;
      return `${label}${op === 'ne' ? '不为' : '为'} ${formatValue(field, v)}`;
    case 'between': return `${label}在 ${formatValue(field, pair[0])} 至 ${formatValue(field, pair[1])} 之间`;
    case 'is_null': return `${label}为空`;
    case 'not_null': return `${label}不为空`;
    case 'in': return `${label}属于 ${joinValues(field, v)}`;
    case 'not_in': return `${label}不属于 ${joinValues(field, v)}`;
    case 'is_true': return `${label}为是`;
    case 'is_false': return `${label}为否`;
    case 'contains': return `${label}含 ${String(v)}`;
    case 'starts_with': return `${label}以 ${String(v)} 开头`;
    case 'has': return `${label}含 ${String(v)}`;
    case 'has_any': return `${label}含任一 ${joinValues(field, v)}`;
    case 'has_all': return `${label}含全部 ${joinValues(field, v)}`;
    case 'has_none': return `${label}不含 ${joinValues(field, v)}`;
    case 'matures_within_days': return v === 0 ? '持有今天到期的产品' : `持有${String(v)}天内到期的产品`;
    case 'before': return `${label}早于 ${String(v)}`;
    case 'after': return `${label}晚于 ${String(v)}`;
    case 'within_last_days': return `${label}在${String(v)}天内`;
    case 'not_within_last_days': return `${label}不在${String(v)}天内`;
    case 'birthday_within_next_days': return v === 0 ? '今天过生日' : `未来${String(v)}天内过生日`;
  }
}

function describeNode(node: FilterNode, nested: boolean): string {
  if ('not' in node) return `非（${describeNode(node.not, false)}）`;
  if ('all' in node || 'any' in node) {
    const children = 'all' in node ? node.all : node.any;
    if (children.length === 1) return describeNode(children[0]!, nested);
    const text = children.map((child) => describeNode(child, true)).join('all' in node ? ' 且 ' : ' 或 ');
    return nested ? `（${text}）` : text;
  }
  return describeLeaf(node);
}

export function describeFilter(tree: FilterNode): string {
  return describeNode(validateFilter(tree), false);
}
