import { expect } from 'chai';
import { bootApp, type TestApp, type TestClient } from '../../test/harness.js';

describe('compliance API', () => {
  let app: TestApp;
  let am: TestClient;
  let compliance: TestClient;
  const latestAudit = (action: string) =>
    app.database.db.selectFrom('audit_log').selectAll().where('action', '=', action).orderBy('id', 'desc').executeTakeFirstOrThrow();
  const staffId = async (username: string) =>
    (await app.database.db.selectFrom('staff').select('id').where('username', '=', username).executeTakeFirstOrThrow()).id;

  before(async () => {
    app = await bootApp();
    am = await app.client().login('am.zhangwei');
    compliance = await app.client().login('compliance');
  });
  after(() => app.close());

  it('answers the check contract: verdict, findings with rule, match, start and end, and disclosures', async () => {
    const r = await am.post('/api/v1/compliance/check', { text: '这款理财保 本，年化4%', productIds: [] });
    expect(r.status).to.equal(200);
    expect(r.body.verdict).to.equal('block');
    expect(r.body.findings).to.have.length(1);
    expect(r.body.findings[0]).to.include({ rule: 'block:保本', match: '保 本', start: 4, end: 7 });
    expect(r.body.disclosures).to.deep.equal(['理财非存款、产品有风险、投资须谨慎']);
    expect(r.body.text).to.equal('这款理财保 本，年化4%\n理财非存款、产品有风险、投资须谨慎。');
  });

  it('passes a clean message with no findings', async () => {
    const r = await am.post('/api/v1/compliance/check', { text: '您的信用卡账单已出，请按时还款。' });
    expect([r.status, r.body.verdict, r.body.findings, r.body.disclosures]).to.deep.equal([200, 'pass', [], []]);
  });

  it('records every verdict in the audit log with the rule ids and without the message text', async () => {
    await am.post('/api/v1/compliance/check', { text: '王阿姨，这款产品稳赚不赔，联系电话13800138000', productIds: ['p-wm-cash-r1'] });
    const row = await latestAudit('compliance.check');
    expect([row.actor_type, row.actor_id, row.outcome]).to.deep.equal(['staff', await staffId('am.zhangwei'), 'success']);
    expect(row.detail).to.deep.include({ verdict: 'block', rules: ['block:稳赚不赔'], products: ['p-wm-cash-r1'], source: 'api', textLength: 28 });
    const detail = JSON.stringify(row.detail);
    expect(detail).not.to.contain('王阿姨');
    expect(detail).not.to.contain('13800138000');
  });

  it('requires a login', async () => {
    const r = await app.client().post('/api/v1/compliance/check', { text: '保本' });
    expect(r.status).to.equal(401);
  });

  it('names the field of an invalid check request', async () => {
    const missing = await am.post('/api/v1/compliance/check', { productIds: [] });
    expect(missing.status).to.equal(400);
    expect(missing.body.error.issues.map((i: { path: string }) => i.path)).to.deep.equal(['body.text']);
    const unknown = await am.post('/api/v1/compliance/check', { text: '你好', productIds: ['p-dep-fix-1y', 'p-nope'] });
    expect(unknown.status).to.equal(400);
    expect(unknown.body.error.issues).to.deep.equal([{ path: 'body.productIds.1', message: 'unknown product id' }]);
    const badCustomer = await am.post('/api/v1/compliance/check', { text: '你好', customer: { riskLevel: 'R9', riskAssessedAt: null, marketingConsent: true } });
    expect(badCustomer.body.error.issues.map((i: { path: string }) => i.path)).to.deep.equal(['body.customer.riskLevel']);
  });

  it('blocks unsuitable and unconsented marketing given the customer’s facts', async () => {
    const r = await am.post('/api/v1/compliance/check', {
      text: '全球科技精选基金值得关注。',
      customer: { riskLevel: 'R2', riskAssessedAt: new Date().toISOString().slice(0, 10), marketingConsent: false },
    });
    expect(r.body.verdict).to.equal('block');
    expect(r.body.suitability).to.deep.equal([{ productId: 'p-fund-qdii-r5', ok: false, reason: '产品风险等级R5高于客户风险承受等级R2' }]);
    expect(r.body.consent).to.deep.equal({ required: true, ok: false });
  });

  it('holds staff marketing text that did not pass for review, and lets compliance decide once', async () => {
    const checked = await am.post('/api/v1/compliance/check', { text: '这只基金今年收益最高，推荐您关注。', review: true });
    expect(checked.body.verdict).to.equal('warn');
    expect(checked.body.reviewId).to.be.a('string');
    expect((await latestAudit('compliance.check')).target_id).to.equal(checked.body.reviewId);

    expect((await am.get('/api/v1/compliance/reviews?status=pending')).status).to.equal(403);
    const pending = await compliance.get('/api/v1/compliance/reviews?status=pending');
    const review = pending.body.items.find((i: { id: string }) => i.id === checked.body.reviewId);
    expect(review).to.include({ text: '这只基金今年收益最高，推荐您关注。', verdict: 'warn', status: 'pending', authorId: await staffId('am.zhangwei'), source: 'api' });

    const decided = await compliance.post(`/api/v1/compliance/reviews/${checked.body.reviewId}/decision`, { approve: false, note: '去掉“最高”后再发' });
    expect(decided.status).to.equal(200);
    expect(decided.body).to.include({ status: 'rejected', reviewerId: await staffId('compliance'), decisionNote: '去掉“最高”后再发' });
    const again = await compliance.post(`/api/v1/compliance/reviews/${checked.body.reviewId}/decision`, { approve: true });
    expect(again.status).to.equal(409);
    const audit = await latestAudit('compliance.review.decide');
    expect([audit.target_id, (audit.detail as { approve: boolean }).approve]).to.deep.equal([checked.body.reviewId, false]);
    const rejected = await compliance.get('/api/v1/compliance/reviews?status=rejected');
    expect(rejected.body.items.map((i: { id: string }) => i.id)).to.include(checked.body.reviewId);
    const named = rejected.body.items.find((i: { id: string }) => i.id === checked.body.reviewId);
    const nameOf = async (username: string) =>
      (await app.database.db.selectFrom('staff').select('display_name').where('username', '=', username).executeTakeFirstOrThrow()).display_name;
    expect([named.authorName, named.reviewerName]).to.deep.equal([await nameOf('am.zhangwei'), await nameOf('compliance')]);
  });

  it('does not queue service text, and no reviewer decides on their own text', async () => {
    const service = await am.post('/api/v1/compliance/check', { text: '您的体验是我们最大的动力。', review: true });
    expect([service.body.verdict, service.body.reviewId]).to.deep.equal(['warn', undefined]);
    const admin = await app.client().login('admin');
    const own = await admin.post('/api/v1/compliance/check', { text: '最好的理财，收益稳定。', review: true });
    expect(own.body.reviewId).to.be.a('string');
    const decision = await admin.post(`/api/v1/compliance/reviews/${own.body.reviewId}/decision`, { approve: true });
    expect(decision.status).to.equal(403);
    const badId = await compliance.post('/api/v1/compliance/reviews/not-a-uuid/decision', { approve: true });
    expect(badId.body.error.issues.map((i: { path: string }) => i.path)).to.deep.equal(['params.id']);
  });

  it('lets only compliance staff publish rules, and audits each new version', async () => {
    const body = { note: '新增禁用语', diff: { add: [{ kind: 'block', pattern: '躺赚', category: 'custom', pinyin: 'tz' }], remove: [] } };
    expect((await am.post('/api/v1/compliance/rules', body)).status).to.equal(403);
    const published = await compliance.post('/api/v1/compliance/rules', body);
    expect(published.status).to.equal(201);
    expect([published.body.version, published.body.active, published.body.added]).to.deep.equal([2, true, ['block:躺赚']]);
    const audit = await latestAudit('compliance.rules.publish');
    expect(audit.detail).to.deep.include({ version: 2, basedOn: 1, added: ['block:躺赚'], removed: [], note: '新增禁用语' });
    const check = await am.post('/api/v1/compliance/check', { text: '这款产品tz，闭眼买' });
    expect([check.body.verdict, check.body.findings[0].rule]).to.deep.equal(['block', 'block:躺赚']);
  });

  it('names the field of an invalid rule change', async () => {
    const r = await compliance.post('/api/v1/compliance/rules', { note: '坏规则', diff: { add: [{ kind: 'block', pattern: '赚', category: 'superlative' }] } });
    expect(r.status).to.equal(400);
    expect(r.body.error.issues.map((i: { path: string }) => i.path).sort()).to.deep.equal(['body.diff.add.0.category', 'body.diff.add.0.pattern']);
    const both = await compliance.post('/api/v1/compliance/rules', { note: 'x' });
    expect(both.body.error.issues.map((i: { path: string }) => i.path)).to.deep.equal(['body.rules']);
  });

  it('shows the active rules, every version, and an old version by number', async () => {
    const active = await am.get('/api/v1/compliance/rules');
    expect([active.status, active.body.version, active.body.active]).to.deep.equal([200, 2, true]);
    expect(active.body.rules.some((r: { id: string }) => r.id === 'block:躺赚')).to.equal(true);
    const old = await am.get('/api/v1/compliance/rules?version=1');
    expect([old.body.version, old.body.active, old.body.rules.some((r: { id: string }) => r.id === 'block:躺赚')]).to.deep.equal([1, false, false]);
    const versions = await am.get('/api/v1/compliance/rules/versions');
    expect(versions.body.items.map((v: { version: number; createdByUsername: string | null }) => [v.version, v.createdByUsername])).to.deep.equal([[2, 'compliance'], [1, null]]);
    expect((await am.get('/api/v1/compliance/rules?version=99')).status).to.equal(404);
  });

  it('describes its routes in the OpenAPI document', async () => {
    const doc = (await am.get('/api/v1/openapi.json')).body as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).to.include.members(['/api/v1/compliance/check', '/api/v1/compliance/rules', '/api/v1/compliance/reviews/{id}/decision']);
  });
});
