import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import catalogue from '../../data/bank/products.json' with { type: 'json' };
import { checkMessage } from '../compliance/index.js';
import { seedRuleSet } from '../compliance/measure.js';
import type { FilterNode } from '../filters/index.js';
import { AppError } from '../platform/errors.js';
import type { SopTemplate, VariableName } from './definition.js';
import { loadTemplateDir, parseTemplate } from './load.js';

/** The issues parseTemplate throws, as [path, message] pairs. */
function issuesOf(source: string, fileName = 'x.yaml'): [string, string][] {
  try {
    parseTemplate(source, fileName);
  } catch (error) {
    expect(error).to.be.instanceOf(AppError).with.property('kind', 'invalid');
    return ((error as AppError).details.issues ?? []).map((i) => [i.path, i.message]);
  }
  throw new Error('expected the template to be rejected');
}

/** A valid template; line numbers in the tests below refer to it (line 9 is the first step's text). */
const VALID = `key: sample
name: 测试旅程
trigger:
  type: event
  event: contact_added
steps:
  - id: hello
    type: send
    text: 您好，我是您的客户经理{客户经理}。
  - id: done
    type: end
`;
const replaceLine = (line: number, text: string) => VALID.split('\n').map((l, i) => (i === line - 1 ? text : l)).join('\n');

const SEVEN = ['new-customer-7d', 'birthday-care', 'wealth-maturity', 'dormant-wakeup', 'payroll-day-benefits', 'risk-assessment-expiry', 'pre-retirement-planning'];
const SAMPLE: Record<VariableName, string> = {
  称呼: '王先生', 姓名: '王小明', 客户经理: '张伟', 网点: '星河银行滨江支行',
  产品名称: '星河恒享固收增强180天持有期理财', 到期日: '2026年12月13日', 生日: '12月13日', 测评到期日: '2026年12月13日', 今天: '2026年12月1日',
};
const render = (text: string) => text.replace(/\{([^{}\s]{1,10})\}/g, (whole, name: string) => SAMPLE[name as VariableName] ?? whole);

function filterLeaves(node: FilterNode | undefined): { field: string; value?: unknown }[] {
  if (!node) return [];
  if ('all' in node) return node.all.flatMap(filterLeaves);
  if ('any' in node) return node.any.flatMap(filterLeaves);
  if ('not' in node) return filterLeaves(node.not);
  return [node];
}
/** Every product id a template names: in send steps and in `products` conditions anywhere. */
function productIds(t: SopTemplate): string[] {
  const filters = [t.audience, t.exit.converted, ...t.steps.map((s) => s.when), ...t.steps.map((s) => (s.type === 'branch' ? s.condition : undefined))];
  const inFilters = filters.flatMap(filterLeaves).filter((l) => l.field === 'products').flatMap((l) => (Array.isArray(l.value) ? l.value : [l.value]));
  const inSteps = t.steps.flatMap((s) => (s.type === 'send' || s.type === 'group_send' ? s.products : []));
  return [...inFilters, ...inSteps].map(String);
}

const KNOWN_PRODUCTS = new Set(catalogue.map((p) => p.id));
const RULES = seedRuleSet();

/** Asserts the template's products exist and its customer and group messages pass the seed rules; returns how many messages. */
function expectCompliant(template: SopTemplate, file: string): number {
  for (const id of productIds(template)) expect(KNOWN_PRODUCTS.has(id), `${file}: ${id}`).to.equal(true);
  let messages = 0;
  for (const step of template.steps) {
    if (step.type !== 'send' && step.type !== 'group_send') continue;
    const result = checkMessage({ text: render(step.text!), productIds: step.products, purpose: step.purpose }, RULES);
    expect(result.verdict, `${file} ${step.id}: ${JSON.stringify(result.findings)}`).to.equal('pass');
    messages += 1;
  }
  return messages;
}

describe('SOP template files', () => {
  it('loads every file in templates/sop, including the seven journeys the bank starts with', async () => {
    const loaded = await loadTemplateDir();
    const keys = loaded.map((l) => l.template.key);
    expect(keys).to.include.members(SEVEN);
    expect(new Set(keys).size).to.equal(keys.length);
    for (const { file, template } of loaded) expect(path.basename(file), file).to.equal(`${template.key}.yaml`);
    const steps = loaded.flatMap((l) => l.template.steps);
    expect(steps.some((s) => s.type === 'group_send'), 'a group_send step').to.equal(true);
    expect(steps.some((s) => s.when), 'a step with a when filter').to.equal(true);
  });

  it('names only products from the catalogue, and every customer message passes the compliance rules', async () => {
    let messages = 0;
    for (const { file, template } of await loadTemplateDir()) messages += expectCompliant(template, file);
    expect(messages).to.be.greaterThan(10);
  });

  it('documents a full example in docs/sop.md that is itself a valid, compliant template', async () => {
    const doc = await readFile('docs/sop.md', 'utf8');
    const example = /## A full example[\s\S]*?```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(example, 'the yaml block under "## A full example"').to.be.a('string');
    const template = parseTemplate(example!, 'deposit-maturity.yaml');
    expect(template.key).to.equal('deposit-maturity');
    expect(expectCompliant(template, 'docs/sop.md')).to.equal(2);
  });
});

describe('parsing an SOP template', () => {
  it('returns the template with its defaults filled in', () => {
    const template = parseTemplate(VALID, 'x.yaml');
    expect(template.key).to.equal('sample');
    expect(template.exit).to.deep.equal({ unsubscribed: true, deleted: true });
    expect(template.steps[0]).to.include({ id: 'hello', type: 'send', via: 'member_confirm', purpose: 'marketing' });
  });

  it('reports a wrong value with the file, line, column and field path', () => {
    const source = VALID.replace('    text:', '    via: sms\n    text:');
    const [[where, message]] = issuesOf(source, 'templates/sop/sample.yaml') as [[string, string]];
    expect(where).to.equal('templates/sop/sample.yaml:9:5 steps.0.via');
    expect(message).to.match(/member_confirm/);
  });

  it('reports an unknown field on its own line', () => {
    expect(issuesOf(VALID.replace('    type: end', '    type: end\n    outcom: converted'))).to.deep.equal([['x.yaml:12:5 steps.1.outcom', 'unknown field']]);
    expect(issuesOf(`colour: red\n${VALID}`)).to.deep.equal([['x.yaml:1:1 colour', 'unknown field']]);
  });

  it('rejects an unknown variable, naming its line', () => {
    expect(issuesOf(replaceLine(9, '    text: "{客户姓名}您好"'))).to.deep.equal([['x.yaml:9:5 steps.0.text', 'unknown variable {客户姓名}']]);
  });

  it('checks the variables of task titles and bodies, and keeps one customer\'s values out of group sends', () => {
    const task = VALID.replace('  - id: done', '  - id: call\n    type: task\n    title: 致电{称呼}\n    body: 到期日{到期时间}\n  - id: done');
    expect(issuesOf(task)).to.deep.equal([['x.yaml:13:5 steps.1.body', 'unknown variable {到期时间}']]);
    const group = replaceLine(8, '    type: group_send').replace('{客户经理}。', '{客户经理}，{称呼}您好。');
    expect(issuesOf(group)).to.deep.equal([['x.yaml:9:5 steps.0.text', '{称呼} is one customer\'s value; a group send may use only {客户经理}, {今天}']]);
  });

  it('rejects a next that points backwards or to no step', () => {
    expect(issuesOf(VALID.replace('    type: end', '    type: end\n    next: hello'))).to.deep.equal([
      ['x.yaml:12:5 steps.1.next', 'hello is not after done: steps only point forward'],
    ]);
    expect(issuesOf(VALID.replace('    type: send', '    type: send\n    next: nowhere'))).to.deep.equal([['x.yaml:9:5 steps.0.next', 'no step nowhere']]);
  });

  it('rejects duplicate step ids at the second one', () => {
    expect(issuesOf(VALID.replace('id: done', 'id: hello'))).to.deep.equal([['x.yaml:10:5 steps.1.id', 'duplicate step id hello']]);
  });

  it('rejects a step of an unknown type at its type', () => {
    const [[where, message]] = issuesOf(VALID.replace('type: send', 'type: sned')) as [[string, string]];
    expect(where).to.equal('x.yaml:8:5 steps.0.type');
    expect(message).to.match(/'wait' \| 'send'/);
  });

  it('reports a bad audience filter at the filter node', () => {
    const source = VALID.replace('steps:', 'audience:\n  all:\n    - field: balance\n      op: gte\n      value: 500000\nsteps:');
    expect(issuesOf(source)).to.deep.equal([['x.yaml:8:7 audience.all.0.field', "unknown field 'balance'"]]);
  });

  it('reports a missing field at the object that lacks it', () => {
    expect(issuesOf(VALID.replace('name: 测试旅程\n', ''))).to.deep.equal([['x.yaml:1:1 name', 'Invalid input: expected string, received undefined']]);
    const [[where]] = issuesOf(VALID.replace('  event: contact_added', '  event: tag_added')) as [[string, string]];
    expect(where).to.equal('x.yaml:3:1 trigger.tag');
  });

  it('names the line of a YAML syntax error', () => {
    const [[where, message]] = issuesOf(replaceLine(9, '    text: 提醒: 明天到期')) as [[string, string]];
    expect(where).to.equal('x.yaml:9:11');
    expect(message).to.match(/^syntax error: /);
    expect(issuesOf(VALID.replace('  event: contact_added', '  event: contact_added\n  event: tag_added'))).to.deep.equal([
      ['x.yaml:6:3', 'syntax error: Map keys must be unique'],
    ]);
  });

  it('reads JSON too, and reports JSON problems by line', () => {
    const template = { key: 'sample', name: '测试旅程', trigger: { type: 'date', date: 'birthday' }, steps: [{ id: 'hello', type: 'send', text: '生日快乐！' }] };
    const json = JSON.stringify(template, null, 2);
    expect(parseTemplate(json, 'sample.json').trigger).to.deep.equal({ type: 'date', date: 'birthday', daysBefore: 0, at: '09:00', timezone: 'Asia/Shanghai' });
    const bad = JSON.stringify({ ...template, steps: [{ ...template.steps[0], via: 'sms' }] }, null, 2);
    const line = bad.split('\n').findIndex((l) => l.includes('"via"')) + 1;
    expect(line).to.be.greaterThan(1);
    expect(issuesOf(bad, 'sample.json')[0]![0]).to.equal(`sample.json:${line}:7 steps.0.via`);
    expect(issuesOf('{\n  "key": "sample",\n  "name": "测试旅程"\n  "steps": []\n}', 'sample.json')).to.deep.equal([
      ['sample.json:4:3', 'syntax error: Missing , between flow map items'],
    ]);
  });

  it('refuses files that are neither YAML nor JSON', () => {
    expect(issuesOf(VALID, 'sample.txt')).to.deep.equal([['sample.txt', 'unsupported file type; use .yaml, .yml, .json']]);
  });
});

describe('loading a template directory', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sop-templates-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports the problems of every file in one error, and a key used twice', async () => {
    await writeFile(path.join(dir, 'a.yaml'), VALID);
    await writeFile(path.join(dir, 'b.yml'), VALID);
    await writeFile(path.join(dir, 'c.yaml'), replaceLine(9, '    text: "{客户姓名}"'));
    await writeFile(path.join(dir, 'd.json'), '{"key": "other"}');
    await writeFile(path.join(dir, 'README.md'), '# not a template');
    const error = await loadTemplateDir(dir).then(() => undefined, (e: unknown) => e);
    expect(error).to.be.instanceOf(AppError).with.property('kind', 'invalid');
    const paths = ((error as AppError).details.issues ?? []).map((i) => i.path);
    expect(paths).to.deep.equal([
      `${path.join(dir, 'b.yml')} key`,
      `${path.join(dir, 'c.yaml')}:9:5 steps.0.text`,
      `${path.join(dir, 'd.json')}:1:1 name`,
      `${path.join(dir, 'd.json')}:1:1 trigger`,
      `${path.join(dir, 'd.json')}:1:1 steps`,
    ]);
  });

  it('returns each file with its template when all are valid', async () => {
    await writeFile(path.join(dir, 'a.yaml'), VALID);
    await writeFile(path.join(dir, 'b.json'), JSON.stringify({ ...parseTemplate(VALID, 'x.yaml'), key: 'other' }));
    const loaded = await loadTemplateDir(dir);
    expect(loaded.map((l) => [path.basename(l.file), l.template.key])).to.deep.equal([['a.yaml', 'sample'], ['b.json', 'other']]);
  });
});

describe('npm run sop:check', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'scripts/sop-check.ts', ...args], { encoding: 'utf8' });

  it('prints ok for every shipped template and exits 0', () => {
    const result = run();
    expect(result.stderr).to.equal('');
    expect(result.status).to.equal(0);
    for (const key of SEVEN) expect(result.stdout).to.match(new RegExp(`^ok templates/sop/${key}\\.yaml \\(${key}, \\d+ steps\\)$`, 'm'));
  });

  it('prints each problem with its line and exits 1 when a given file is bad', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sop-check-'));
    try {
      const bad = path.join(dir, 'bad.yaml');
      await writeFile(bad, replaceLine(9, '    text: "{客户姓名}"'));
      const result = run('templates/sop/birthday-care.yaml', bad);
      expect(result.status).to.equal(1);
      expect(result.stdout).to.equal('ok templates/sop/birthday-care.yaml (birthday-care, 3 steps)\n');
      expect(result.stderr).to.equal(`${bad}:9:5 steps.0.text: unknown variable {客户姓名}\n`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
