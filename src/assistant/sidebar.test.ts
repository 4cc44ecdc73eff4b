import { expect } from 'chai';
import type { TestClient } from '../../test/harness.js';
import { DEMO_CORP_ID } from '../demo/seed.js';
import type { Db } from '../platform/db/database.js';
import { auditRow, customerFollowing, assistantWorld, type AssistantWorld, type Customer } from './testing.js';

/** Scores as the nightly job stores them (src/scoring): churn with reasons, recommendations with theirs. */
async function storeScores(db: Db, customerId: string, churnBand: 'low' | 'medium' | 'high', recommendations: { productId: string; productName: string; score: number }[]) {
  await db
    .insertInto('customer_scores')
    .values({
      customer_id: customerId, recency_score: 2, frequency_score: 3, monetary_score: 4, rfm_class: '重要保持客户',
      churn_probability: churnBand === 'high' ? 0.81 : 0.2, churn_band: churnBand,
      churn_reasons: JSON.stringify([{ feature: 'daysSinceTxn', text: '最近一次交易在142天前', contribution: 1.2 }]),
      propensity: JSON.stringify(recommendations.map((r) => ({ ...r, basisProductId: 'p-dep-lcd-3y', basisShare: 0.4, reason: `持有「星河大额存单（3年期）」的客户中有40%也持有「${r.productName}」` }))),
    })
    .execute();
}

describe('the assistant’s sidebar APIs (with a model)', () => {
  let w: AssistantWorld;
  let lina: TestClient;
  let zhangwei: TestClient;
  let mine: Customer;
  let others: Customer;
  before(async () => {
    w = await assistantWorld();
    lina = await w.app.client().login('am.lina');
    zhangwei = await w.app.client().login('am.zhangwei');
    mine = await customerFollowing(w.app.database.db, 'LiNa', { riskLevel: 'R2', products: ['p-dep-lcd-3y'] });
    others = await customerFollowing(w.app.database.db, 'ZhangWei');
  });
  after(() => w.close());
  beforeEach(() => w.llm.reset());
  const db = () => w.app.database.db;

  it('says it runs with a model, and which', async () => {
    const r = await lina.get('/api/v1/assistant/status');
    expect([r.status, r.body]).to.deep.equal([200, { mode: 'llm', model: 'test-model', streaming: false }]);
  });

  it('suggests replies to the customer’s last message, each with the gate’s verdict, leaving out a draft the gate blocks', async () => {
    w.llm.reply({
      text: '```json\n{"suggestions": ["王先生您好，大额存单20万元起存，3年期参考年利率1.90% [kb-001]。", "大额存单保本保息，稳赚不赔！", "您好，具体利率以网点公布为准，我帮您查一下最新额度 [kb-001]。"]}\n```',
    });
    const r = await lina.post('/api/v1/assistant/suggest-replies', { externalUserid: mine.externalUserid, lastMessage: '大额存单现在利率多少？' });
    expect(r.status).to.equal(200);
    expect(r.body.mode).to.equal('llm');
    expect(r.body.suggestions.map((s: { source: string }) => s.source)).to.deep.equal(['llm', 'llm']);
    for (const s of r.body.suggestions) {
      expect(s.verdict).to.be.oneOf(['pass', 'warn']);
      expect(s.text).not.to.match(/kb-\d/);
      expect(s.citations).to.deep.equal(['kb-001']);
    }
    const [request] = w.llm.requests;
    expect(request!.raw).to.contain('[kb-001]');
    expect(request!.raw).not.to.contain('13912345678');
    const row = await auditRow(db(), r.body.auditId);
    expect(row).to.include({ purpose: 'suggest', decision: 'answered', customer_id: mine.id, external_userid: mine.externalUserid, corp_id: DEMO_CORP_ID });
  });

  it('fills up with knowledge-base answers when the model is down, and says why', async () => {
    w.llm.reply({ status: 503 });
    const r = await lina.post('/api/v1/assistant/suggest-replies', { customerId: mine.id, lastMessage: '大额存单现在利率多少？' });
    expect(r.status).to.equal(200);
    expect(r.body.suggestions.length).to.be.within(2, 3);
    expect(r.body.suggestions[0]).to.include({ source: 'kb' });
    expect(r.body.note).to.contain('http_503');
    expect((await auditRow(db(), r.body.auditId)).decision).to.equal('fallback');
  });

  it('summarises a customer in three lines, sending no holdings without consent', async () => {
    const unconsented = await customerFollowing(db(), 'LiNa', { consent: false, products: ['p-wm-cash-r1'] });
    w.llm.reply({ text: '1. 王先生，R3稳健型，未授权营销。\n2. 近期无往来。\n3. 关注风险测评有效期。' });
    const r = await lina.get(`/api/v1/assistant/customers/${unconsented.id}/summary`);
    expect(r.status).to.equal(200);
    expect(r.body).to.deep.include({ source: 'llm', lines: ['王先生，R3稳健型，未授权营销。', '近期无往来。', '关注风险测评有效期。'] });
    const sent = w.llm.requests[0]!.raw;
    expect(sent).not.to.contain('天天利');
    expect(sent).not.to.contain('王建国');
  });

  it('falls back to the facts when the model’s summary is not three lines', async () => {
    w.llm.reply({ text: '王先生是一位优质客户。' });
    const r = await lina.get(`/api/v1/assistant/customers/${mine.id}/summary`);
    expect(r.body.source).to.equal('facts');
    expect(r.body.lines).to.have.length(3);
    expect(r.body.lines[0]).to.match(/^王先生，.+客户，风险承受等级R2（测评有效），已授权营销。$/);
    expect((await auditRow(db(), r.body.auditId)).decision).to.equal('error');
  });

  it('ranks the next best actions from the scores with suitability and reasons, and phrases them with the model', async () => {
    const customer = await customerFollowing(db(), 'LiNa', { riskLevel: 'R2' });
    await storeScores(db(), customer.id, 'high', [
      { productId: 'p-fund-eq-r4', productName: '星河价值精选混合基金', score: 0.9 },
      { productId: 'p-wm-fi-r2-180', productName: '星河恒享固收增强180天持有期理财', score: 0.7 },
    ]);
    w.llm.reply({ text: '{"scripts": ["王先生您好，最近有什么需要帮忙的吗？", "王先生您好，恒享固收180天理财保本保息，欢迎了解。"]}' });
    const r = await lina.get(`/api/v1/assistant/customers/${customer.id}/next-best-action`);
    expect(r.status).to.equal(200);
    expect(r.body.actions.map((a: { kind: string }) => a.kind)).to.deep.equal(['retention', 'product']);
    const [retention, product] = r.body.actions;
    expect(retention.reason).to.contain('最近一次交易在142天前');
    expect(retention).to.include({ script: '王先生您好，最近有什么需要帮忙的吗？', scriptVerdict: 'pass' });
    expect(product).to.deep.include({ productId: 'p-wm-fi-r2-180', suitability: { ok: true, reason: '产品风险等级R2不高于客户风险承受等级R2' }, script: null });
    expect(r.body.excluded).to.deep.equal([{ productId: 'p-fund-eq-r4', productName: '星河价值精选混合基金', reason: '产品风险等级R4高于客户风险承受等级R2' }]);
    expect(r.body.phrasedBy).to.equal('llm');
    // The tier label, never the balance.
    const sent = w.llm.requests[0]!.raw;
    expect(sent).to.contain('客户分层：财富');
    expect(sent).not.to.contain('800000');
    expect(sent).not.to.contain('142天');
  });

  it('polishes a draft and shows the gate’s findings on the original and the polished text', async () => {
    w.llm.reply({ text: '王先生您好，这款理财产品风险等级R2，业绩比较基准不代表实际收益，详情欢迎咨询。' });
    const r = await lina.post('/api/v1/assistant/polish', { text: '王先生，这款理财保本，收益最高！', customerId: mine.id });
    expect(r.status).to.equal(200);
    expect(r.body.original.verdict).to.equal('block');
    expect(r.body.original.findings.map((f: { rule: string }) => f.rule)).to.include('block:保本');
    expect(r.body.polished.verdict).to.equal('pass');
    expect(r.body.polished.text).to.match(/理财非存款、产品有风险、投资须谨慎。$/);
    expect(r.body.changed).to.equal(true);
    const row = await auditRow(db(), r.body.auditId);
    expect(row).to.include({ purpose: 'polish', decision: 'answered', gate_verdict: 'pass' });
  });

  it('answers 404 about another manager’s customer or contact, and 403 to roles that do not chat with customers', async () => {
    expect((await zhangwei.get(`/api/v1/assistant/customers/${mine.id}/summary`)).status).to.equal(404);
    expect((await zhangwei.get(`/api/v1/assistant/customers/${mine.id}/next-best-action`)).status).to.equal(404);
    expect((await zhangwei.post('/api/v1/assistant/suggest-replies', { customerId: mine.id, lastMessage: '你好' })).status).to.equal(404);
    expect((await zhangwei.post('/api/v1/assistant/suggest-replies', { externalUserid: mine.externalUserid, lastMessage: '你好' })).status).to.equal(404);
    expect((await zhangwei.post('/api/v1/assistant/polish', { text: '您好', customerId: mine.id })).status).to.equal(404);
    expect((await lina.get(`/api/v1/assistant/customers/${others.id}/summary`)).status).to.equal(404);
    const ops = await w.app.client().login('ops');
    expect((await ops.get(`/api/v1/assistant/customers/${mine.id}/summary`)).status).to.equal(403);
    expect((await w.app.client().get('/api/v1/assistant/status')).status).to.equal(401);
    expect(w.llm.requests).to.have.length(0);
  });

  it('lets an admin ask about any customer', async () => {
    const admin = await w.app.client().login('admin');
    w.llm.reply({ text: '一\n二\n三' });
    const r = await admin.get(`/api/v1/assistant/customers/${others.id}/summary`);
    expect([r.status, r.body.lines]).to.deep.equal([200, ['一', '二', '三']]);
  });

  it('describes its routes in the OpenAPI document', async () => {
    const doc = (await lina.get('/api/v1/openapi.json')).body as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).to.include.members([
      '/api/v1/assistant/status', '/api/v1/assistant/suggest-replies', '/api/v1/assistant/customers/{id}/summary',
      '/api/v1/assistant/customers/{id}/next-best-action', '/api/v1/assistant/polish',
    ]);
  });
});
