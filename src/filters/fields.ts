/**
 * The field registry: the only place a filter's field names come from. The console's visual builder reads
 * it (listFields), validation checks leaves against it, and compile.ts maps every name to SQL. A field name
 * typed by a user is only ever a key looked up here, never text that reaches SQL.
 */
export type FieldType = 'number' | 'enum' | 'boolean' | 'text' | 'array' | 'tags' | 'date';

export const OPERATORS = [
  'eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'between', 'is_null', 'not_null',
  'in', 'not_in', 'is_true', 'is_false', 'contains', 'starts_with',
  'has', 'has_any', 'has_all', 'has_none', 'matures_within_days',
  'before', 'after', 'within_last_days', 'not_within_last_days', 'birthday_within_next_days',
] as const;
export type Operator = (typeof OPERATORS)[number];

/** What a leaf's `value` must be for an operator; validate.ts checks it and the console picks an editor by it. */
export type ValueKind =
  | 'none' | 'number' | 'number_range' | 'enum' | 'enum_list' | 'string' | 'string_list'
  | 'date' | 'date_range' | 'days' | 'days_ahead';

export interface EnumValue {
  readonly value: string;
  readonly label: string;
}

export interface FieldSpec {
  readonly name: string;
  /** Chinese, as the console and describeFilter show it. */
  readonly label: string;
  readonly type: FieldType;
  readonly ops: readonly Operator[];
  /** A closed set of values; enum fields without it (branch_id, rfm_class, ...) accept any id string. */
  readonly values?: readonly EnumValue[];
  /** Amounts in CNY, which describeFilter writes in 万. */
  readonly money?: boolean;
}

const NUMBER_OPS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'between', 'is_null', 'not_null'] as const;
const ENUM_OPS = ['eq', 'ne', 'in', 'not_in'] as const;
const BOOLEAN_OPS = ['is_true', 'is_false'] as const;
const TEXT_OPS = ['eq', 'contains', 'starts_with'] as const;
const SET_OPS = ['has', 'has_any', 'has_all', 'has_none'] as const;
const DATE_OPS = ['before', 'after', 'between', 'within_last_days', 'not_within_last_days'] as const;

const codes = (...values: string[]): EnumValue[] => values.map((value) => ({ value, label: value }));

export const FIELDS = Object.freeze([
  { name: 'aum', label: 'AUM', type: 'number', ops: NUMBER_OPS, money: true },
  { name: 'age', label: '年龄', type: 'number', ops: NUMBER_OPS },
  { name: 'churn_probability', label: '流失概率', type: 'number', ops: NUMBER_OPS },
  { name: 'recency_score', label: 'R值评分', type: 'number', ops: NUMBER_OPS },
  { name: 'frequency_score', label: 'F值评分', type: 'number', ops: NUMBER_OPS },
  { name: 'monetary_score', label: 'M值评分', type: 'number', ops: NUMBER_OPS },
  { name: 'risk_level', label: '风险等级', type: 'enum', ops: ENUM_OPS, values: codes('R1', 'R2', 'R3', 'R4', 'R5') },
  { name: 'gender', label: '性别', type: 'enum', ops: ENUM_OPS, values: [{ value: 'M', label: '男' }, { value: 'F', label: '女' }] },
  { name: 'branch_id', label: '所属网点', type: 'enum', ops: ENUM_OPS },
  { name: 'rfm_class', label: 'RFM分类', type: 'enum', ops: ENUM_OPS },
  {
    name: 'churn_band', label: '流失风险', type: 'enum', ops: ENUM_OPS,
    values: [{ value: 'low', label: '低' }, { value: 'medium', label: '中' }, { value: 'high', label: '高' }],
  },
  { name: 'marketing_consent', label: '营销授权', type: 'boolean', ops: BOOLEAN_OPS },
  { name: 'is_wecom_contact', label: '企微好友', type: 'boolean', ops: BOOLEAN_OPS },
  { name: 'risk_assessment_valid', label: '风险测评有效', type: 'boolean', ops: BOOLEAN_OPS },
  { name: 'name', label: '姓名', type: 'text', ops: TEXT_OPS },
  { name: 'cif_no', label: '客户号', type: 'text', ops: TEXT_OPS },
  { name: 'segments', label: '客群', type: 'array', ops: SET_OPS },
  { name: 'products', label: '持有产品', type: 'array', ops: [...SET_OPS, 'matures_within_days'] },
  { name: 'tags', label: '标签', type: 'tags', ops: SET_OPS },
  { name: 'last_txn_at', label: '最近交易时间', type: 'date', ops: DATE_OPS },
  { name: 'created_at', label: '建档时间', type: 'date', ops: DATE_OPS },
  { name: 'risk_assessed_at', label: '风险测评日期', type: 'date', ops: DATE_OPS },
  { name: 'birth_date', label: '出生日期', type: 'date', ops: [...DATE_OPS, 'birthday_within_next_days'] },
  { name: 'last_contact_at', label: '最近联系时间', type: 'date', ops: DATE_OPS },
  { name: 'follow_member', label: '跟进成员', type: 'enum', ops: ['eq', 'in'] },
  { name: 'follow_channel', label: '添加渠道', type: 'enum', ops: ['eq', 'in'] },
  { name: 'follow_added', label: '添加企微时间', type: 'date', ops: ['before', 'after', 'between', 'within_last_days'] },
] as const satisfies readonly FieldSpec[]);

export type FieldName = (typeof FIELDS)[number]['name'];

// A Map, not an object: a name like 'constructor' or '__proto__' must be unknown, not an inherited property.
const BY_NAME: ReadonlyMap<string, FieldSpec> = new Map(FIELDS.map((f) => [f.name, f]));

export const fieldNamed = (name: string): FieldSpec | undefined => BY_NAME.get(name);

export const isOperator = (op: string): op is Operator => (OPERATORS as readonly string[]).includes(op);

export function valueKind(field: FieldSpec, op: Operator): ValueKind {
  switch (op) {
    case 'is_null': case 'not_null': case 'is_true': case 'is_false':
      return 'none';
    case 'between':
      return field.type === 'number' ? 'number_range' : 'date_range';
    case 'eq': case 'ne':
      return field.type === 'number' ? 'number' : field.type === 'enum' ? 'enum' : 'string';
    case 'gt': case 'gte': case 'lt': case 'lte':
      return 'number';
    case 'in': case 'not_in':
      return 'enum_list';
    case 'contains': case 'starts_with': case 'has':
      return 'string';
    case 'has_any': case 'has_all': case 'has_none':
      return 'string_list';
    case 'before': case 'after':
      return 'date';
    case 'within_last_days': case 'not_within_last_days':
      return 'days';
    case 'birthday_within_next_days': case 'matures_within_days':
      return 'days_ahead';
  }
}

export interface FieldInfo {
  name: string;
  label: string;
  type: FieldType;
  ops: Operator[];
  /** What each operator's value is, so the builder picks the editor (a number, a date, a day count, a list, none). */
  kinds: Partial<Record<Operator, ValueKind>>;
  values?: EnumValue[];
}

/** The registry as plain JSON for the console's visual builder (copies, so callers cannot change it). */
export function listFields(): FieldInfo[] {
  return FIELDS.map((f: FieldSpec) => ({
    name: f.name,
    label: f.label,
    type: f.type,
    ops: [...f.ops],
    kinds: Object.fromEntries(f.ops.map((op) => [op, valueKind(f, op)])),
    ...(f.values ? { values: f.values.map((v) => ({ ...v })) } : {}),
  }));
}
