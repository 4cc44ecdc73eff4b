import { expect } from 'chai';
import { bootApp, type TestApp, type TestClient } from '../../test/harness.js';
import { answerCustomer } from './answer.js';
import { auditRow, customerFollowing, type Customer } from './testing.js';

describe('the assistant without a key (retrieval-only mode)', () => {
  let app: TestApp;
  let lina: TestClient;
  let mine: Customer;
  before(async () => {
    app = await bootApp();
    lina = await app.client().login('am.lina');
    mine = await customerFollowing(app.database.db, 'LiNa');
  });
  after(() => app.close());
  const db = () => app.database.db;

  it('says so in its status and in the log', async () => {
    const r = await lina.get('/api/v1/assistant/status');
    expect(r.body).to.deep.equal({ mode: 'retrieval_only', model: null, streaming: false });
    expect(app.logs.lines.some((l) => l.msg === 'assistant in retrieval-only mode: no OPENAI_API_KEY' && l.mode === 'retrieval_only')).to.equal(true);
  });

  it('leaves free answers to the reply engine’s fallback, and records the decision', async () => {
    const reply = await answerCustomer(app.assistant, { text: '大额存单现在利率多少？', customerId: mine.id, channel: 'kf' });
    expect(reply).to.deep.include({ kind: 'unavailable', reason: 'retrieval_only' });
    expect(await auditRow(db(), reply.auditId)).to.include({ mode: 'retrieval_only', decision: 'fallback', reason: 'retrieval_only', model: null });
  });

  it('still hands a complaint to a person', async () => {
    const reply = await answerCustomer(app.assistant, { text: '我要投诉你们网点的服务态度', channel: 'kf' });
    expect(reply.kind).to.equal('handoff');
  });

  it('suggests the knowledge base’s answers and templates, each with the gate’s verdict', async () => {
    const r = await lina.post('/api/v1/assistant/suggest-replies', { customerId: mine.id, lastMessage: '大额存单现在利率多少？' });
    expect(r.status).to.equal(200);
    expect(r.body.mode).to.equal('retrieval_only');
    expect(r.body.suggestions.length).to.be.within(2, 3);
    expect(r.body.suggestions[0]).to.deep.include({ source: 'kb', citations: ['kb-001'] });
    for (const s of r.body.suggestions) expect(s.verdict).to.be.oneOf(['pass', 'warn']);
    expect(r.body.note).to.contain('检索模式');
  });

  it('offers templates when the knowledge base has nothing', async () => {
    const r = await lina.post('/api/v1/assistant/suggest-replies', { customerId: mine.id, lastMessage: 'zzzz' });
    expect(r.body.suggestions.map((s: { source: string }) => s.source)).to.deep.equal(['template', 'template']);
    expect(r.body.suggestions[0].text).to.match(/^王先生您好/);
  });

  it('returns the original draft with the gate’s findings and a note instead of polishing it', async () => {
    const r = await lina.post('/api/v1/assistant/polish', { text: '这款理财稳赚不赔', customerId: mine.id });
    expect(r.body.polished).to.deep.equal(r.body.original);
    expect(r.body.original.verdict).to.equal('block');
    expect(r.body).to.include({ changed: false, mode: 'retrieval_only' });
    expect(r.body.note).to.contain('检索模式');
  });

  it('ranks the next best actions from what it knows without phrasing them', async () => {
    const expired = await customerFollowing(db(), 'LiNa', { riskAssessedAt: '2024-01-15' });
    const r = await lina.get(`/api/v1/assistant/customers/${expired.id}/next-best-action`);
    expect(r.status).to.equal(200);
    expect(r.body.actions).to.have.length(1);
    expect(r.body.actions[0]).to.include({ kind: 'risk_assessment', script: null });
    expect(r.body.actions[0].reason).to.contain('2024-01-15');
    expect(r.body.phrasedBy).to.equal(null);
  });

  it('summarises from the record, its timeline and scores', async () => {
    const r = await lina.get(`/api/v1/assistant/customers/${mine.id}/summary`);
    expect(r.body.source).to.equal('facts');
    expect(r.body.lines).to.have.length(3);
    expect(r.body.lines[0]).to.contain('王先生');
    expect(r.body.lines.join('')).not.to.contain('王建国');
  });
});
