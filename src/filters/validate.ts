import { z } from 'zod';
import { AppError, type FieldIssue } from '../platform/errors.js';
import { isIsoDate } from './dates.js';
import { FIELDS, fieldNamed, isOperator, valueKind, OPERATORS, type FieldSpec, type ValueKind } from './fields.js';
import { LIMITS, type FilterLeaf, type FilterNode } from './types.js';

/**
 * Validation is a hand-written walk rather than a zod union: a union can only say "invalid input" at a
 * node, while the person editing a segment needs "operator 'gt' not allowed for enum field 'risk_level'"
 * at `filter.all.2.op`. The walk also enforces the size limits before descending, so a hostile, deeply
 * nested body costs a bounded amount of work and never overflows the stack.
 */
type Path = (string | number)[];
interface Issue { path: Path; message: string }
interface Walk { issues: Issue[]; nodes: number; leaves: number }

const GROUP_KEYS = ['all', 'any', 'not'] as const;
const LEAF_KEYS = ['field', 'op', 'value'];
const NODE_SHAPE = 'expected a filter node: {all: [...]}, {any: [...]}, {not: {...}} or {field, op, value}';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const has = (o: object, key: string) => Object.prototype.hasOwnProperty.call(o, key);
/** Quotes user text in a message, shortened so a message never carries a whole hostile payload. */
const quote = (s: string) => `'${s.length > 40 ? `${s.slice(0, 40)}…` : s}'`;

function report(w: Walk, path: Path, message: string): void {
  if (w.issues.length < LIMITS.issues) w.issues.push({ path, message });
}

function walk(input: unknown, path: Path, depth: number, w: Walk): FilterNode | undefined {
  if (++w.nodes > LIMITS.nodes) {
    if (w.nodes === LIMITS.nodes + 1) report(w, [], `filter has more than ${LIMITS.nodes} nodes`);
    return undefined;
  }
  if (depth > LIMITS.depth) return report(w, path, `filter nests deeper than ${LIMITS.depth} levels`), undefined;
  if (!isObject(input)) return report(w, path, NODE_SHAPE), undefined;
  const key = GROUP_KEYS.find((k) => has(input, k));
  if (!key) return walkLeaf(input, path, w);
  for (const other of Object.keys(input)) if (other !== key) report(w, [...path, other], `unexpected key ${quote(other)} beside '${key}'`);
  if (key === 'not') {
    const child = walk(input.not, [...path, 'not'], depth + 1, w);
    return child && { not: child };
  }
  const list = input[key];
  if (!Array.isArray(list)) return report(w, [...path, key], `'${key}' expects a list of filter nodes`), undefined;
  if (list.length === 0) return report(w, [...path, key], `'${key}' needs at least one condition`), undefined;
  const children = list.map((child, i) => walk(child, [...path, key, i], depth + 1, w));
  if (!children.every((c): c is FilterNode => c !== undefined)) return undefined;
  return key === 'all' ? { all: children } : { any: children };
}

function walkLeaf(input: Record<string, unknown>, path: Path, w: Walk): FilterLeaf | undefined {
  if (++w.leaves === LIMITS.leaves + 1) report(w, [], `filter has more than ${LIMITS.leaves} conditions`);
  if (!has(input, 'field') && !has(input, 'op')) return report(w, path, NODE_SHAPE), undefined;
  let ok = true;
  for (const other of Object.keys(input)) {
    if (!LEAF_KEYS.includes(other)) ok = false, report(w, [...path, other], `unexpected key ${quote(other)} in a condition`);
  }
  const { field: name, op } = input;
  if (typeof name !== 'string') return report(w, [...path, 'field'], 'expected a field name'), undefined;
  const field = fieldNamed(name);
  if (!field) return report(w, [...path, 'field'], `unknown field ${quote(name)}`), undefined;
  if (typeof op !== 'string') return report(w, [...path, 'op'], `expected an operator, one of ${field.ops.join(', ')}`), undefined;
  if (!isOperator(op)) return report(w, [...path, 'op'], `unknown operator ${quote(op)}`), undefined;
  if (!(field.ops as readonly string[]).includes(op)) {
    return report(w, [...path, 'op'], `operator '${op}' not allowed for ${field.type} field '${field.name}' (allowed: ${field.ops.join(', ')})`), undefined;
  }
  const kind = valueKind(field, op);
  const problem = checkValue(kind, field, input.value);
  if (problem) return report(w, [...path, 'value', ...problem.at], problem.message), undefined;
  if (!ok) return undefined;
  return kind === 'none' ? { field: name, op } : { field: name, op, value: input.value };
}

interface Problem { at: Path; message: string }
const problem = (message: string, at: Path = []): Problem => ({ at, message });

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= LIMITS.text;

function checkList(value: unknown, what: string, item: (v: unknown) => string | undefined): Problem | undefined {
  if (!Array.isArray(value) || value.length === 0 || value.length > LIMITS.list) {
    return problem(`expected a non-empty list of at most ${LIMITS.list} ${what}`);
  }
  for (const [i, v] of value.entries()) {
    const message = item(v);
    if (message) return problem(message, [i]);
  }
  return undefined;
}

function checkEnum(field: FieldSpec, v: unknown): string | undefined {
  if (field.values) return field.values.some((e) => e.value === v) ? undefined : `expected one of ${field.values.map((e) => e.value).join(', ')}`;
  return isText(v) ? undefined : `expected a non-empty string of at most ${LIMITS.text} characters`;
}

/** Undefined when `value` fits the operator; otherwise what is wrong and where inside the value. */
function checkValue(kind: ValueKind, field: FieldSpec, value: unknown): Problem | undefined {
  const text = `expected a non-empty string of at most ${LIMITS.text} characters`;
  switch (kind) {
    case 'none':
      return value === undefined || value === null ? undefined : problem('this operator takes no value');
    case 'number':
      return isNumber(value) ? undefined : problem('expected a number');
    case 'number_range':
      return Array.isArray(value) && value.length === 2 && isNumber(value[0]) && isNumber(value[1]) && value[0] <= value[1]
        ? undefined : problem('expected [min, max]: two numbers with min ≤ max');
    case 'enum':
      return value === undefined ? problem('value is required') : mapMessage(checkEnum(field, value));
    case 'enum_list':
      return checkList(value, 'values', (v) => checkEnum(field, v));
    case 'string':
      return isText(value) ? undefined : problem(text);
    case 'string_list':
      return checkList(value, 'strings', (v) => (isText(v) ? undefined : text));
    case 'date':
      return isIsoDate(value) ? undefined : problem('expected an ISO date (YYYY-MM-DD)');
    case 'date_range':
      return Array.isArray(value) && value.length === 2 && isIsoDate(value[0]) && isIsoDate(value[1]) && value[0] <= value[1]
        ? undefined : problem('expected [from, to]: two ISO dates (YYYY-MM-DD) with from ≤ to');
    case 'days':
      return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= LIMITS.days
        ? undefined : problem(`expected a whole number of days from 1 to ${LIMITS.days}`);
    case 'days_ahead':
      return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= LIMITS.days
        ? undefined : problem(`expected a whole number of days from 0 (today) to ${LIMITS.days}`);
  }
}

const mapMessage = (message: string | undefined) => (message ? problem(message) : undefined);

/** Issues with paths relative to the tree's root, and the tree rebuilt from the validated parts only. */
export function checkFilter(tree: unknown): { node?: FilterNode; issues: Issue[] } {
  const w: Walk = { issues: [], nodes: 0, leaves: 0 };
  const node = walk(tree, [], 1, w);
  return w.issues.length ? { issues: w.issues } : { node, issues: [] };
}

const joinPath = (prefix: string, path: Path): string => [...(prefix ? [prefix] : []), ...path.map(String)].join('.');

/**
 * Checks a tree against the grammar and the registry; throws AppError('invalid') whose issues name the node,
 * e.g. `body.filter.all.2.value`. Returns a clean copy holding only the keys the grammar knows.
 */
export function validateFilter(tree: unknown, pathPrefix = 'filter'): FilterNode {
  const { node, issues } = checkFilter(tree);
  if (!node || issues.length) {
    const fieldIssues: FieldIssue[] = issues.map((i) => ({ path: joinPath(pathPrefix, i.path), message: i.message }));
    throw new AppError('invalid', 'invalid filter', { issues: fieldIssues });
  }
  return node;
}

/**
 * For route schemas (`body: z.object({ filter: filterNodeSchema })`): the same full check as validateFilter,
 * with issue paths relative to where the schema sits, so the API reports `body.filter.all.2.value`. The meta
 * gives the OpenAPI document a one-level outline; the recursion and the registry rules live in the code.
 */
export const filterNodeSchema: z.ZodType<FilterNode> = z
  .unknown()
  .transform((value, ctx) => {
    const { node, issues } = checkFilter(value);
    for (const issue of issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message, input: value });
    return node ?? z.NEVER;
  })
  .meta({
    description: 'Filter tree: {all: [...]}, {any: [...]}, {not: {...}} or a condition {field, op, value}; listFields() gives each field\'s operators and values.',
    oneOf: [
      { type: 'object', required: ['all'], properties: { all: { type: 'array', minItems: 1, items: { type: 'object' } } } },
      { type: 'object', required: ['any'], properties: { any: { type: 'array', minItems: 1, items: { type: 'object' } } } },
      { type: 'object', required: ['not'], properties: { not: { type: 'object' } } },
      {
        type: 'object', required: ['field', 'op'],
        properties: { field: { enum: FIELDS.map((f) => f.name) }, op: { enum: [...OPERATORS] }, value: {} },
      },
    ],
  } as Record<string, unknown>);
