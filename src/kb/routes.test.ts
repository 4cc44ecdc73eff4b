import { expect } from 'chai';
import { bootApp, type TestApp, type TestClient } from '../../test/harness.js';

describe('knowledge base API', () => {
  let app: TestApp;
  let am: TestClient;
  let ops: TestClient;
  let compliance: TestClient;
  const latestAudit = (action: string) =>
    app.database.db.selectFrom('audit_log').selectAll().where('action', '=', action).orderBy('id', 'desc').executeTakeFirstOrThrow();
  const entryBody = (overrides: Record<string, unknown> = {}) => ({
    category: '存款',
    question: '星河智能存款是什么？',
    altQuestions: ['智能存款怎么存'],
    answer: '智能存款是星河银行的一种存款产品，按存期靠档计息，具体利率以网点/手机银行公布为准。',
    productIds: [],
    ...overrides,
  });

  before(async () => {
    app = await bootApp();
    am = await app.client().login('am.zhangwei');
    ops = await app.client().login('ops');
    compliance = await app.client().login('compliance');
  });
  after(() => app.close());

  it('seeds the bank’s 60 entries with their ids, each with version 1 in the history', async () => {
    const list = await am.get('/api/v1/kb/entries?limit=500');
    expect(list.status).to.equal(200);
    expect(list.body.total).to.equal(60);
    expect(list.body.items[0]).to.include({ id: 'kb-001', category: '存款', status: 'active', version: 1 });
    const history = await ops.get('/api/v1/kb/entries/kb-001/versions');
    expect(history.body.items.map((v: { version: number; change: string }) => [v.version, v.change])).to.deep.equal([[1, 'seed']]);
  });

  it('finds kb-001 for a 大额存单 question and answers in the DESIGN.md shape', async () => {
    const r = await am.post('/api/v1/kb/search', { query: '大额存单3年期利息多少？', topK: 3 });
    expect(r.status).to.equal(200);
    expect(Object.keys(r.body).sort()).to.deep.equal(['handoff', 'hits']);
    expect(r.body.handoff).to.equal(false);
    expect(r.body.hits).to.have.length(3);
    expect(r.body.hits[0].id).to.equal('kb-001');
    for (const hit of r.body.hits) {
      expect(Object.keys(hit).sort()).to.deep.equal(['id', 'score']);
      expect(hit.score).to.be.within(0, 1);
    }
  });

  it('answers handoff: true for handoff topics phrased unlike the entries, with the hits', async () => {
    for (const query of ['我被骗了，对方让我转账到安全账户', '我要投诉', '人工客服']) {
      const r = await am.post('/api/v1/kb/search', { query });
      expect(r.body.handoff, query).to.equal(true);
    }
    const fraud = await am.post('/api/v1/kb/search', { query: '我好像被骗了，刚给对方转了钱' });
    expect(fraud.body.hits[0].id).to.equal('kb-059');
  });

  it('requires a login to search, defaults topK to 3 and names the field of an invalid search', async () => {
    expect((await app.client().post('/api/v1/kb/search', { query: '挂失' })).status).to.equal(401);
    expect((await am.post('/api/v1/kb/search', { query: '定期存款' })).body.hits).to.have.length(3);
    const empty = await am.post('/api/v1/kb/search', { query: '  ', topK: 3 });
    expect(empty.status).to.equal(400);
    expect(empty.body.error.issues.map((i: { path: string }) => i.path)).to.deep.equal(['body.query']);
    const tooMany = await am.post('/api/v1/kb/search', { query: '挂失', topK: 50 });
    expect(tooMany.body.error.issues.map((i: { path: string }) => i.path)).to.deep.equal(['body.topK']);
  });

  it('lets an account manager search and read entries but not create, edit, retire them or read their history', async () => {
    expect((await am.get('/api/v1/kb/entries/kb-010')).status).to.equal(200);
    expect((await am.post('/api/v1/kb/entries', entryBody())).status).to.equal(403);
    expect((await am.request('PUT', '/api/v1/kb/entries/kb-010', entryBody())).status).to.equal(403);
    expect((await am.post('/api/v1/kb/entries/kb-010/retire', {})).status).to.equal(403);
    expect((await am.get('/api/v1/kb/entries/kb-010/versions')).status).to.equal(403);
    expect((await compliance.get('/api/v1/kb/entries/kb-010/versions')).status).to.equal(200);
    expect((await compliance.post('/api/v1/kb/entries', entryBody())).status).to.equal(403);
  });

  it('re-indexes an edited entry at once and records the new version, who saved it and the audit row', async () => {
    const before = await am.post('/api/v1/kb/search', { query: '存款利息能不能按月发到卡上' });
    expect(before.body.hits[0].id).not.to.equal('kb-006');
    const current = (await ops.get('/api/v1/kb/entries/kb-006')).body;
    const r = await ops.request('PUT', '/api/v1/kb/entries/kb-006', {
      category: current.category,
      question: current.question,
      altQuestions: [...current.altQuestions, '存款利息能按月发到卡上吗'],
      answer: current.answer,
      productIds: current.productIds,
      needsDisclaimer: current.needsDisclaimer,
      handoff: current.handoff,
      note: '补充客户常问问法',
      baseVersion: 1,
    });
    expect(r.status).to.equal(200);
    expect(r.body.entry).to.include({ id: 'kb-006', version: 2 });
    expect(r.body.compliance.verdict).to.equal('pass');

    const after = await am.post('/api/v1/kb/search', { query: '存款利息能不能按月发到卡上' });
    expect(after.body.hits[0].id).to.equal('kb-006');

    const history = (await ops.get('/api/v1/kb/entries/kb-006/versions')).body.items;
    expect(history.map((v: { version: number; change: string }) => [v.version, v.change])).to.deep.equal([[2, 'update'], [1, 'seed']]);
    expect(history[0].note).to.equal('补充客户常问问法');
    expect(history[0].altQuestions).to.include('存款利息能按月发到卡上吗');
    const opsId = (await app.database.db.selectFrom('staff').select('id').where('username', '=', 'ops').executeTakeFirstOrThrow()).id;
    expect(history[0].changedBy).to.equal(opsId);
    const opsName = (await app.database.db.selectFrom('staff').select('display_name').where('username', '=', 'ops').executeTakeFirstOrThrow()).display_name;
    expect([history[0].changedByName, history[1].changedByName]).to.deep.equal([opsName, null]);
    const audit = await latestAudit('kb.entry.update');
    expect([audit.actor_id, audit.target_id, audit.outcome]).to.deep.equal([opsId, 'kb-006', 'success']);
    expect(audit.detail).to.deep.include({ version: 2, fields: ['altQuestions'] });

    const stale = await ops.request('PUT', '/api/v1/kb/entries/kb-006', { ...entryBody(), baseVersion: 1 });
    expect(stale.status).to.equal(409);
  });

  it('refuses an answer the compliance gate blocks with a 400 naming body.answer and the phrase, and changes nothing', async () => {
    const current = (await ops.get('/api/v1/kb/entries/kb-011')).body;
    const r = await ops.request('PUT', '/api/v1/kb/entries/kb-011', {
      ...entryBody({ category: current.category, question: current.question, productIds: current.productIds }),
      answer: '这款理财保本保息，稳赚不赔。',
    });
    expect(r.status).to.equal(400);
    expect(r.body.error.message).to.contain('保本保息');
    expect(r.body.error.issues.map((i: { path: string }) => i.path)).to.deep.equal(['body.answer', 'body.answer']);
    expect(r.body.error.issues[0].message).to.contain('保本保息');
    expect((await ops.get('/api/v1/kb/entries/kb-011')).body).to.include({ version: 1, answer: current.answer });
    expect((await latestAudit('kb.entry.update')).outcome).to.equal('denied');
  });

  it('ends a wealth answer with the disclaimer and creates entries under the next id', async () => {
    const r = await ops.post('/api/v1/kb/entries', entryBody({
      category: '理财',
      question: '睿选理财适合什么人？',
      altQuestions: ['睿选混合理财风险大吗'],
      answer: '星河睿选混合理财风险等级R3，适合风险承受能力C3及以上的客户，净值会有波动。',
      productIds: ['p-wm-mix-r3'],
    }));
    expect(r.status).to.equal(201);
    expect(r.body.entry).to.include({ id: 'kb-061', version: 1, needsDisclaimer: true, status: 'active' });
    expect(r.body.entry.answer.endsWith('理财非存款、产品有风险、投资须谨慎。')).to.equal(true);
    expect((await am.post('/api/v1/kb/search', { query: '睿选理财适合哪些人买' })).body.hits[0].id).to.equal('kb-061');
    expect((await latestAudit('kb.entry.create')).target_id).to.equal('kb-061');
  });

  it('keeps one disclaimer when a saved answer already carries it, and adds the disclosures the gate requires', async () => {
    const current = (await ops.get('/api/v1/kb/entries/kb-011')).body;
    const { id, status, version, updatedBy, createdAt, updatedAt, ...content } = current;
    const r = await ops.request('PUT', '/api/v1/kb/entries/kb-011', { ...content, note: '原样保存' });
    expect(r.status).to.equal(200);
    expect(r.body.compliance.appended).to.deep.equal(['过往业绩不代表未来表现']);
    expect(r.body.entry.answer.split('理财非存款、产品有风险、投资须谨慎').length).to.equal(2);
    expect(r.body.entry.answer).to.equal(`${current.answer}\n过往业绩不代表未来表现。`);
  });

  it('names the fields of an invalid entry', async () => {
    const r = await ops.post('/api/v1/kb/entries', { category: '', question: '问', altQuestions: ['同一个问法', '同一个问法'], answer: '答', productIds: ['p-nope'], extra: 1 });
    expect(r.status).to.equal(400);
    expect(r.body.error.issues.map((i: { path: string }) => i.path).sort()).to.deep.equal(
      ['body', 'body.altQuestions', 'body.category', 'body.productIds.0', 'body.question'],
    );
    const badId = await ops.get('/api/v1/kb/entries/faq-1');
    expect(badId.body.error.issues.map((i: { path: string }) => i.path)).to.deep.equal(['params.id']);
    expect((await ops.get('/api/v1/kb/entries/kb-999')).status).to.equal(404);
  });

  it('stops finding a retired entry and finds it again once restored, each a version', async () => {
    const query = { query: '社保卡怎么激活啊' };
    expect((await am.post('/api/v1/kb/search', query)).body.hits[0].id).to.equal('kb-040');
    const retired = await ops.post('/api/v1/kb/entries/kb-040/retire', { note: '社保卡激活流程调整' });
    expect(retired.body).to.include({ status: 'retired', version: 2 });
    expect((await am.post('/api/v1/kb/search', query)).body.hits.map((h: { id: string }) => h.id)).not.to.include('kb-040');
    expect((await ops.post('/api/v1/kb/entries/kb-040/retire', {})).status).to.equal(409);
    const restored = await ops.post('/api/v1/kb/entries/kb-040/restore', {});
    expect(restored.body).to.include({ status: 'active', version: 3 });
    expect((await am.post('/api/v1/kb/search', query)).body.hits[0].id).to.equal('kb-040');
    expect((await latestAudit('kb.entry.retire')).detail).to.deep.include({ note: '社保卡激活流程调整' });
  });

  it('describes its routes in the OpenAPI document, search open to every member and edits to ops and admin', async () => {
    const doc = (await am.get('/api/v1/openapi.json')).body as { paths: Record<string, Record<string, { 'x-roles': unknown }>> };
    expect(Object.keys(doc.paths)).to.include.members(['/api/v1/kb/search', '/api/v1/kb/entries', '/api/v1/kb/entries/{id}', '/api/v1/kb/entries/{id}/versions']);
    expect(doc.paths['/api/v1/kb/search']!.post!['x-roles']).to.equal('any');
    expect(doc.paths['/api/v1/kb/entries/{id}']!.put!['x-roles']).to.deep.equal(['admin', 'ops']);
  });
});
