import { expect } from 'chai';
import { sql } from 'kysely';
import { testDatabase } from '../../test/harness.js';
import type { DatabaseHandle } from '../platform/db/database.js';
import { AppError } from '../platform/errors.js';
import { ComplianceGate } from './gate.js';
import { SEED_RULES } from './seed.js';
import { applyChange, listVersions, loadActiveRuleSet, loadRuleSet, type RuleChange } from './store.js';
import { toRule } from './rules.js';

async function issuesOf(promise: Promise<unknown> | (() => unknown)): Promise<{ kind: string; issues: unknown }> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    if (error instanceof AppError) return { kind: error.kind, issues: error.details.issues };
    throw error;
  }
  throw new Error('expected an AppError');
}

describe('compliance rule versions', () => {
  let handle: DatabaseHandle;
  let staffId: string;
  const change = (c: Partial<RuleChange>): RuleChange => ({ note: 'test', ...c });
  const customRule = (pattern: string) => ({ kind: 'block' as const, pattern, category: 'custom' });

  before(async () => {
    handle = await testDatabase();
    const row = await handle.db
      .insertInto('staff')
      .values({ username: 'compliance.test', display_name: '合规', role: 'compliance', branch_id: null, corp_id: null, wecom_userid: null, title: null, password_hash: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    staffId = row.id;
  });
  after(() => handle.close());

  it('seeds version 1 from the seed list exactly once, even when two nodes start together', async () => {
    const [a, b] = await Promise.all([new ComplianceGate({ db: handle.db }).rules(), new ComplianceGate({ db: handle.db }).rules()]);
    expect([a.version, b.version]).to.deep.equal([1, 1]);
    const versions = await listVersions(handle.db);
    expect(versions.map((v) => [v.version, v.active, v.ruleCount])).to.deep.equal([[1, true, SEED_RULES.length]]);
  });

  it('makes a published version take effect at once on the publishing node and keeps the old one queryable', async () => {
    const gate = new ComplianceGate({ db: handle.db });
    expect((await gate.checkMessage({ text: '稳稳的幸福，年年有余' })).verdict).to.equal('pass');
    const published = await gate.publishRules(change({ diff: { add: [customRule('稳稳的幸福')], remove: [] } }), staffId);
    expect([published.version.version, published.version.basedOn, published.added, published.removed]).to.deep.equal([2, 1, ['block:稳稳的幸福'], []]);
    const after = await gate.checkMessage({ text: '稳稳的幸福，年年有余' });
    expect([after.verdict, after.ruleSetVersion]).to.deep.equal(['block', 2]);
    const old = await loadRuleSet(handle.db, 1);
    expect(old.active).to.equal(false);
    expect(old.rules.some((r) => r.pattern === '稳稳的幸福')).to.equal(false);
    expect((await listVersions(handle.db)).map((v) => [v.version, v.active, v.createdBy])).to.deep.equal([[2, true, staffId], [1, false, null]]);
  });

  it('lets another node see a new version when its cached copy expires', async () => {
    let now = 1_000_000;
    const other = new ComplianceGate({ db: handle.db, ttlMs: 30_000, clock: () => now });
    const before = (await other.rules()).version;
    await new ComplianceGate({ db: handle.db }).publishRules(change({ diff: { add: [], remove: ['block:稳稳的幸福'] } }), staffId);
    now += 29_000;
    expect((await other.rules()).version).to.equal(before);
    now += 1_000;
    expect((await other.rules()).version).to.equal(before + 1);
  });

  it('removes a rule by id through a diff', async () => {
    const gate = new ComplianceGate({ db: handle.db });
    expect((await gate.checkMessage({ text: '这是最好的选择' })).verdict).to.equal('warn');
    await gate.publishRules(change({ diff: { add: [], remove: ['warn:最好'] } }), staffId);
    expect((await gate.checkMessage({ text: '这是最好的选择' })).verdict).to.equal('pass');
  });

  it('publishes a full list as the next version', async () => {
    const gate = new ComplianceGate({ db: handle.db });
    const before = await loadActiveRuleSet(handle.db);
    const published = await gate.publishRules(change({ rules: [...SEED_RULES] }), staffId);
    expect(published.version.version).to.equal(before.version + 1);
    expect(published.version.rules).to.have.length(SEED_RULES.length);
    expect(published.added).to.deep.equal(['warn:最好']);
  });

  it('refuses to edit a version in place', async () => {
    for (const statement of [
      sql`UPDATE compliance_rules SET pattern = '保' WHERE rule_set_version = 1`,
      sql`DELETE FROM compliance_rules WHERE rule_set_version = 1`,
      sql`UPDATE compliance_rule_sets SET note = 'rewritten' WHERE version = 1`,
      sql`DELETE FROM compliance_rule_sets WHERE version = 1`,
    ]) {
      let error: unknown;
      try {
        await statement.execute(handle.db);
      } catch (e) {
        error = e;
      }
      expect(String(error)).to.match(/immutable/);
    }
  });

  it('refuses a change made on a version that is no longer the active one', async () => {
    const result = await issuesOf(new ComplianceGate({ db: handle.db }).publishRules(change({ baseVersion: 1, diff: { add: [], remove: [] } }), staffId));
    expect(result.kind).to.equal('conflict');
  });

  it('names the field of each invalid rule', async () => {
    const current = SEED_RULES.map(toRule);
    const bad = await issuesOf(() =>
      applyChange(current, change({ rules: [...SEED_RULES.slice(0, 2), { kind: 'warn', pattern: '最', category: 'promise', pinyin: 'b' }] })),
    );
    expect(bad.kind).to.equal('invalid');
    expect((bad.issues as { path: string }[]).map((i) => i.path).sort()).to.deep.equal(['body.rules.2.category', 'body.rules.2.pattern', 'body.rules.2.pinyin']);
    const noDisclosure = await issuesOf(() => applyChange(current, change({ rules: SEED_RULES.filter((r) => r.kind === 'block') })));
    expect(noDisclosure.issues).to.deep.equal([{ path: 'body.rules', message: 'a rule set needs the required disclosure (kind disclosure)' }]);
    const unknown = await issuesOf(() => applyChange(current, change({ diff: { add: [], remove: ['block:保本', 'block:不存在'] } })));
    expect(unknown.issues).to.deep.equal([{ path: 'body.diff.remove.1', message: 'no rule block:不存在 in the active version' }]);
    const duplicate = await issuesOf(() => applyChange(current, change({ diff: { add: [customRule('稳 稳'), customRule('稳稳')], remove: [] } })));
    expect(duplicate.issues).to.deep.equal([{ path: 'body.diff.add.1.pattern', message: 'duplicates rule 0 (block:稳稳)' }]);
  });
});
