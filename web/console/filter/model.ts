import { reactive } from 'vue';
import { api } from '@shared/api';

/**
 * The visual builder's model of a filter tree (src/filters): groups (all / any, optionally negated) of
 * conditions and groups. `toFilter` writes the grammar's JSON and remembers where each node landed, so an issue
 * the server names (`body.definition.filter.all.1.value`) finds its way back to the node at fault.
 */
export type ValueKind = 'none' | 'number' | 'number_range' | 'enum' | 'enum_list' | 'string' | 'string_list' | 'date' | 'date_range' | 'days' | 'days_ahead';
export type FieldType = 'number' | 'enum' | 'boolean' | 'text' | 'array' | 'tags' | 'date';

export interface Option {
  value: string;
  label: string;
}

export interface FieldInfo {
  name: string;
  label: string;
  type: FieldType;
  ops: string[];
  kinds: Record<string, ValueKind>;
  values?: Option[];
}

export type FilterTree = { all: FilterTree[] } | { any: FilterTree[] } | { not: FilterTree } | { field: string; op: string; value?: unknown };

export interface ConditionNode {
  id: number;
  type: 'condition';
  field: string;
  op: string;
  value: unknown;
  negate: boolean;
}

export interface GroupNode {
  id: number;
  type: 'group';
  mode: 'all' | 'any';
  negate: boolean;
  children: BuilderNode[];
}

export type BuilderNode = ConditionNode | GroupNode;

export const OP_LABELS: Record<string, string> = {
  eq: '等于', ne: '不等于', gt: '大于', gte: '大于等于', lt: '小于', lte: '小于等于', between: '介于',
  is_null: '为空', not_null: '不为空', in: '属于', not_in: '不属于', is_true: '是', is_false: '否',
  contains: '包含', starts_with: '开头是', has: '含', has_any: '含任一', has_all: '含全部', has_none: '不含',
  matures_within_days: '几天内到期', before: '早于', after: '晚于', within_last_days: '最近几天内',
  not_within_last_days: '最近几天内没有', birthday_within_next_days: '未来几天内过生日',
};

export const TYPE_LABELS: Record<FieldType, string> = {
  number: '数值', enum: '选项', boolean: '是否', text: '文本', array: '列表', tags: '标签', date: '日期',
};

let nextId = 1;

export function newCondition(field?: FieldInfo): ConditionNode {
  const op = field?.ops[0] ?? '';
  return { id: nextId++, type: 'condition', field: field?.name ?? '', op, value: field ? defaultValue(field.kinds[op] ?? 'none') : undefined, negate: false };
}

export function newGroup(mode: 'all' | 'any' = 'all', children: BuilderNode[] = []): GroupNode {
  return { id: nextId++, type: 'group', mode, negate: false, children };
}

export function defaultValue(kind: ValueKind): unknown {
  switch (kind) {
    case 'none': return undefined;
    case 'enum_list': case 'string_list': return [];
    case 'number_range': return [undefined, undefined];
    case 'date_range': return null;
    case 'days': return 30;
    case 'days_ahead': return 7;
    default: return undefined;
  }
}

/** The builder's tree for a grammar tree (a stored rule opened for editing). */
export function fromFilter(tree: FilterTree | undefined): GroupNode {
  if (!tree) return newGroup('all');
  const node = read(tree, false);
  return node.type === 'group' ? node : newGroup('all', [node]);
}

function read(tree: FilterTree, negate: boolean): BuilderNode {
  if ('not' in tree) return read(tree.not, !negate);
  if ('all' in tree || 'any' in tree) {
    const mode = 'all' in tree ? 'all' : 'any';
    const children = ('all' in tree ? tree.all : tree.any).map((c) => read(c, false));
    return { ...newGroup(mode, children), negate };
  }
  return { id: nextId++, type: 'condition', field: tree.field, op: tree.op, value: tree.value, negate };
}

/** The grammar's JSON for the builder's tree, and the path (below the tree's root) of every node. */
export function toFilter(root: GroupNode): { tree: FilterTree; paths: Map<string, number> } {
  const paths = new Map<string, number>();
  const write = (node: BuilderNode, path: string): FilterTree => {
    if (node.negate) {
      paths.set(path, node.id);
      return { not: write({ ...node, negate: false }, join(path, 'not')) };
    }
    paths.set(path, node.id);
    if (node.type === 'condition') {
      return node.value === undefined ? { field: node.field, op: node.op } : { field: node.field, op: node.op, value: node.value };
    }
    return node.mode === 'all'
      ? { all: node.children.map((c, i) => write(c, join(path, 'all', i))) }
      : { any: node.children.map((c, i) => write(c, join(path, 'any', i))) };
  };
  return { tree: write(root, ''), paths };
}

const join = (...parts: (string | number)[]) => parts.filter((p) => p !== '').join('.');

/** The node an issue path names (relative to the tree's root), and what is left of the path inside it. */
export function nodeAt(paths: Map<string, number>, relative: string): { id: number; rest: string } | undefined {
  let best: string | undefined;
  for (const p of paths.keys()) {
    if (relative === p || p === '' || relative.startsWith(`${p}.`)) {
      if (best === undefined || p.length > best.length) best = p;
    }
  }
  if (best === undefined) return undefined;
  return { id: paths.get(best)!, rest: best === '' ? relative : relative.slice(best.length + 1) };
}

const filled = (v: unknown) => v !== undefined && v !== null && v !== '';

/** What is still missing before a condition can be sent: nothing (undefined), or what to do, in Chinese. */
export function missing(node: ConditionNode, fields: Map<string, FieldInfo>): string | undefined {
  if (!node.field) return '请选择字段';
  const field = fields.get(node.field);
  if (!field) return '字段不存在，请重新选择';
  if (!node.op) return '请选择条件';
  const kind = field.kinds[node.op];
  if (!kind) return '该字段不支持此条件，请重新选择';
  const v = node.value;
  switch (kind) {
    case 'none': return undefined;
    case 'enum_list': case 'string_list': return Array.isArray(v) && v.length ? undefined : '请至少选择或填写一项';
    case 'number_range': return Array.isArray(v) && v.length === 2 && filled(v[0]) && filled(v[1]) ? undefined : '请填写最小值和最大值';
    case 'date_range': return Array.isArray(v) && v.length === 2 && filled(v[0]) && filled(v[1]) ? undefined : '请选择开始和结束日期';
    case 'date': return filled(v) ? undefined : '请选择日期';
    case 'days': case 'days_ahead': case 'number': return typeof v === 'number' ? undefined : '请填写数字';
    default: return filled(v) ? undefined : kind === 'enum' ? '请选择一个值' : '请填写内容';
  }
}

/** Every unfinished condition (id → what to do) and empty group of the tree. */
export function incomplete(root: GroupNode, fields: Map<string, FieldInfo>): Map<number, string> {
  const out = new Map<number, string>();
  const visit = (node: BuilderNode) => {
    if (node.type === 'condition') {
      const m = missing(node, fields);
      if (m) out.set(node.id, m);
    } else {
      if (!node.children.length) out.set(node.id, '条件组里至少要有一个条件');
      node.children.forEach(visit);
    }
  };
  visit(root);
  return out;
}

/** The field registry and value lists, loaded once per page. */
export const registry = reactive({
  fields: [] as FieldInfo[],
  byName: new Map<string, FieldInfo>(),
  values: {} as Record<string, Option[]>,
  loaded: false,
});

let loading: Promise<void> | undefined;

export function loadRegistry(): Promise<void> {
  loading ??= api.get<{ fields: FieldInfo[] }>('/filters/fields').then((r) => {
    registry.fields = r.fields;
    registry.byName = new Map(r.fields.map((f) => [f.name, f]));
    registry.loaded = true;
  }).catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

const valueLoads = new Map<string, Promise<Option[]>>();

/** The values to pick from for a field (closed values, or the bank's lists), loaded once. */
export function loadValues(field: string): Promise<Option[]> {
  let p = valueLoads.get(field);
  if (!p) {
    p = api.get<{ values: Option[] }>(`/filters/fields/${encodeURIComponent(field)}/values`).then((r) => {
      registry.values[field] = r.values;
      return r.values;
    });
    p.catch(() => valueLoads.delete(field));
    valueLoads.set(field, p);
  }
  return p;
}
