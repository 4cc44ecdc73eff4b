import { expect } from 'chai';
import { z } from 'zod';
import { AppError } from '../platform/errors.js';
import { FIELDS, compileFilter, describeFilter, filterNodeSchema, formatMoney, listFields, validateFilter, type FilterNode } from './index.js';

/** The issues validateFilter throws, as [path, message] pairs. */
function issuesOf(tree: unknown, prefix?: string): [string, string][] {
  try {
    validateFilter(tree, prefix);
  } catch (error) {
    expect(error).to.be.instanceOf(AppError).with.property('kind', 'invalid');
    return ((error as AppError).details.issues ?? []).map((i) => [i.path, i.message]);
  }
  throw new Error(`expected ${JSON.stringify(tree)} to be rejected`);
}

const aum = { field: 'aum', op: 'gte', value: 500_000 };
const nest = (depth: number): unknown => (depth === 1 ? aum : { all: [nest(depth - 1)] });

describe('filter validation', () => {
  it('names the node and says what is wrong, under the given path prefix', () => {
    const tree = { all: [aum, { field: 'tags', op: 'has', value: '代发' }, { field: 'risk_level', op: 'gt', value: 'R1' }] };
    expect(issuesOf(tree)).to.deep.equal([['filter.all.2.op', "operator 'gt' not allowed for enum field 'risk_level' (allowed: eq, ne, in, not_in)"]]);
    const badValue = { all: [aum, aum, { field: 'aum', op: 'gte', value: '500000' }] };
    expect(issuesOf(badValue, 'body.filter')).to.deep.equal([['body.filter.all.2.value', 'expected a number']]);
    expect(issuesOf({ any: [{ not: { field: 'x', op: 'eq', value: 1 } }] })).to.deep.equal([['filter.any.0.not.field', "unknown field 'x'"]]);
  });

  it('rejects unknown fields, unknown operators, missing or extra keys and empty groups', () => {
    expect(issuesOf({ field: 'aum; DROP TABLE customers', op: 'gte', value: 1 })).to.deep.equal([['filter.field', "unknown field 'aum; DROP TABLE customers'"]]);
    expect(issuesOf({ field: 'name"; --', op: 'eq', value: 'x' })[0]).to.deep.equal(['filter.field', 'unknown field \'name"; --\'']);
    expect(issuesOf({ field: 'constructor', op: 'eq', value: 1 })[0]![1]).to.equal("unknown field 'constructor'");
    expect(issuesOf({ field: 'aum', op: 'like', value: 1 })).to.deep.equal([['filter.op', "unknown operator 'like'"]]);
    expect(issuesOf({ field: 'aum', value: 1 })[0]![0]).to.equal('filter.op');
    expect(issuesOf({ all: [] })).to.deep.equal([['filter.all', "'all' needs at least one condition"]]);
    expect(issuesOf({ any: {} })).to.deep.equal([['filter.any', "'any' expects a list of filter nodes"]]);
    expect(issuesOf({ all: [aum], field: 'aum' })).to.deep.equal([['filter.field', "unexpected key 'field' beside 'all'"]]);
    expect(issuesOf({ ...aum, extra: 1 })).to.deep.equal([['filter.extra', "unexpected key 'extra' in a condition"]]);
    expect(issuesOf(JSON.parse('{"field":"aum","op":"gte","value":1,"__proto__":{"x":1}}'))[0]![0]).to.equal('filter.__proto__');
    for (const bad of [null, 'aum', 42, [aum], {}]) expect(issuesOf(bad)[0]![0], JSON.stringify(bad)).to.equal('filter');
  });

  it('checks each value against its operator: numbers, ranges, enum members, lists, ISO dates and day counts', () => {
    const valueIssue = (field: string, op: string, value?: unknown) => issuesOf({ field, op, value })[0]!;
    expect(valueIssue('aum', 'between', [10, 1])[1]).to.match(/min ≤ max/);
    expect(valueIssue('aum', 'eq', Number.NaN)[1]).to.equal('expected a number');
    expect(valueIssue('risk_level', 'eq', 'R6')[1]).to.equal('expected one of R1, R2, R3, R4, R5');
    expect(valueIssue('risk_level', 'in', ['R1', 'R9'])).to.deep.equal(['filter.value.1', 'expected one of R1, R2, R3, R4, R5']);
    expect(valueIssue('gender', 'in', [])[1]).to.match(/non-empty list/);
    expect(valueIssue('name', 'contains', '')[1]).to.match(/non-empty string/);
    expect(valueIssue('tags', 'has_all', ['a', 7])[0]).to.equal('filter.value.1');
    expect(valueIssue('is_wecom_contact', 'is_true', true)[1]).to.equal('this operator takes no value');
    for (const date of ['2026-02-30', '2026/01/01', '2026-1-1', 20260101]) expect(valueIssue('last_txn_at', 'before', date)[1]).to.match(/ISO date/);
    expect(valueIssue('created_at', 'between', ['2026-02-01', '2026-01-01'])[1]).to.match(/from ≤ to/);
    for (const n of [0, -1, 1.5, 3651, '30']) expect(valueIssue('last_contact_at', 'not_within_last_days', n)[1]).to.match(/1 to 3650/);
    expect(() => validateFilter({ field: 'birth_date', op: 'birthday_within_next_days', value: 0 })).to.not.throw();
    expect(valueIssue('birth_date', 'birthday_within_next_days', -1)[1]).to.match(/0 \(today\) to 3650/);
  });

  it('allows ten levels and two hundred conditions, and refuses one more of either', () => {
    expect(() => validateFilter(nest(10))).to.not.throw();
    expect(issuesOf(nest(11))[0]![1]).to.equal('filter nests deeper than 10 levels');
    expect(() => validateFilter({ any: Array.from({ length: 200 }, () => aum) })).to.not.throw();
    expect(issuesOf({ any: Array.from({ length: 201 }, () => aum) })).to.deep.include(['filter', 'filter has more than 200 conditions']);
    // A hostile body far past the limits costs a bounded walk, not a stack overflow.
    expect(issuesOf(nest(5_000))[0]![1]).to.match(/deeper than 10/);
    expect(issuesOf({ all: Array.from({ length: 100_000 }, () => ({ all: [] })) }).length).to.be.at.most(51);
  });

  it('returns a clean copy and works as a zod schema inside a route body with the same paths', () => {
    expect(validateFilter({ all: [{ field: 'is_wecom_contact', op: 'is_true', value: null }] })).to.deep.equal({ all: [{ field: 'is_wecom_contact', op: 'is_true' }] });
    const body = z.object({ filter: filterNodeSchema });
    const bad = body.safeParse({ filter: { all: [aum, { field: 'risk_level', op: 'in', value: ['R1', 'X'] }] } });
    expect(bad.success).to.equal(false);
    expect(bad.error!.issues.map((i) => i.path.join('.'))).to.deep.equal(['filter.all.1.value.1']);
    expect(body.parse({ filter: aum })).to.deep.equal({ filter: aum });
    expect(JSON.stringify(z.toJSONSchema(body, { io: 'input', unrepresentable: 'any' }))).to.include('oneOf');
  });

  it('refuses to compile an invalid tree or an unknown time zone', () => {
    expect(() => compileFilter({ field: 'aum', op: 'gt', value: 'x' })).to.throw(AppError, 'invalid filter');
    expect(() => compileFilter(aum as FilterNode, { timezone: 'Mars/Olympus' })).to.throw(AppError, 'invalid filter options');
    expect(() => compileFilter(aum as FilterNode, { alias: 'c; DROP' })).to.throw(/unusable alias/);
  });
});

describe('filter fields and descriptions', () => {
  it('lists every field with a Chinese label, its type, operators and closed values', () => {
    const fields = listFields();
    expect(fields.map((f) => f.name)).to.deep.equal(FIELDS.map((f) => f.name));
    expect(fields.find((f) => f.name === 'risk_level')).to.deep.include({ label: '风险等级', type: 'enum', ops: ['eq', 'ne', 'in', 'not_in'] });
    expect(fields.find((f) => f.name === 'gender')!.values).to.deep.equal([{ value: 'M', label: '男' }, { value: 'F', label: '女' }]);
    expect(fields.find((f) => f.name === 'birth_date')!.ops).to.include('birthday_within_next_days');
    for (const f of fields) expect(f.label, f.name).to.match(/[\u4e00-\u9fa5]|AUM/);
    fields[0]!.ops.push('contains');
    expect(listFields()[0]!.ops).to.not.include('contains');
  });

  it('describes a tree in Chinese', () => {
    const tree: FilterNode = { all: [aum, { field: 'tags', op: 'has', value: '代发' }, { field: 'last_contact_at', op: 'not_within_last_days', value: 90 }] };
    expect(describeFilter(tree)).to.equal('AUM ≥ 50万 且 标签含 代发 且 90天内无联系');
    expect(describeFilter({ any: [{ field: 'aum', op: 'between', value: [50_000, 6_000_000] }, { not: { field: 'risk_level', op: 'in', value: ['R4', 'R5'] } }] }))
      .to.equal('AUM在 5万 至 600万 之间 或 非（风险等级属于 R4、R5）');
    expect(describeFilter({ all: [{ field: 'gender', op: 'eq', value: 'F' }, { any: [{ field: 'birth_date', op: 'birthday_within_next_days', value: 7 }, { field: 'is_wecom_contact', op: 'is_false' }] }] }))
      .to.equal('性别为 女 且 （未来7天内过生日 或 不是企微好友）');
    expect(describeFilter({ field: 'aum', op: 'lt', value: 12_345.5 })).to.equal('AUM < 12,345.5');
    expect(describeFilter({ field: 'products', op: 'matures_within_days', value: 30 })).to.equal('持有30天内到期的产品');
  });

  it('writes money in 万 when it divides evenly and with thousands separators otherwise', () => {
    expect([500_000, 6_000_000, 10_000, 0, 12_345.67, 1_234_567].map(formatMoney)).to.deep.equal(['50万', '600万', '1万', '0', '12,345.67', '1,234,567']);
  });
});
