import { expect } from 'chai';
import { answerCustomer, HANDOFF_TEXT, MAX_TOOL_ROUNDS } from './answer.js';
import { auditRow, customerFollowing, assistantWorld, TEST_KEY, type AssistantWorld } from './testing.js';

describe('answering a customer (answerCustomer)', () => {
  let w: AssistantWorld;
  before(async () => {
    w = await assistantWorld();
  });
  after(() => w.close());
  beforeEach(() => w.llm.reset());
  const db = () => w.app.database.db;
  const ask = (text: string, extra: Partial<Parameters<typeof answerCustomer>[1]> = {}) => answerCustomer(w.app.assistant, { text, channel: 'kf', ...extra });

  it('labels a grounded answer 「AI助手」, keeps its valid citation and audits it with the token counts', async () => {
    const customer = await customerFollowing(db(), 'LiNa');
    w.llm.reply({ text: '王先生您好，个人大额存单20万元起存，3年期参考年利率1.90%，以网点公布为准 [kb-001]。', usage: { prompt: 812, completion: 64 } });
    const reply = await ask('大额存单现在利率多少？', { customerId: customer.id });
    expect(reply.kind).to.equal('answer');
    if (reply.kind !== 'answer') return;
    expect(reply.text).to.equal('「AI助手」王先生您好，个人大额存单20万元起存，3年期参考年利率1.90%，以网点公布为准。');
    expect(reply.citations).to.deep.equal(['kb-001']);
    expect(reply.verdict).to.equal('pass');
    const row = await auditRow(db(), reply.auditId);
    expect(row).to.include({ purpose: 'answer', mode: 'llm', decision: 'answered', model: 'test-model', prompt_tokens: 812, completion_tokens: 64, model_calls: 1, gate_verdict: 'pass', customer_id: customer.id, channel: 'kf' });
    expect(row.citations).to.deep.equal(['kb-001']);
    expect(row.answer).to.equal(reply.text);
    expect(row.model_answer).to.contain('[kb-001]');
    expect(row.latency_ms).to.be.a('number');
    const gateAudit = await db().selectFrom('audit_log').selectAll().where('action', '=', 'compliance.check').where('target_id', '=', reply.auditId).executeTakeFirstOrThrow();
    expect(gateAudit.detail).to.deep.include({ verdict: 'pass', source: 'ai_reply', purpose: 'service' });
  });

  it('sends the bank’s rules, the retrieved entries with their ids and the declared tools, and never the mobile, ID number or full name', async () => {
    const customer = await customerFollowing(db(), 'LiNa', { name: '欧阳建华' });
    w.llm.reply({ text: '您好 [kb-001]' });
    await ask('我手机13912345678，身份证330106197005201234，想问大额存单利率', { customerId: customer.id, history: [{ from: 'customer', text: '你好' }, { from: 'assistant', text: '您好，请问有什么可以帮您？' }] });
    const [request] = w.llm.requests;
    expect(request!.headers.authorization).to.equal(`Bearer ${TEST_KEY}`);
    const { body, raw } = request!;
    expect(body.model).to.equal('test-model');
    const system = body.messages[0]!;
    expect(system.role).to.equal('system');
    for (const rule of ['保本', '稳赚不赔', '最高', '理财非存款、产品有风险、投资须谨慎', '密码', '短信验证码', '不确定', '投诉', '冻结', '[kb-001]']) expect(system.content).to.contain(rule);
    expect(system.content).to.match(/\[kb-001\] 问：大额存单现在利率多少/);
    expect(system.content).to.contain('星河大额存单（3年期）');
    expect(system.content).to.contain('称呼：欧阳先生');
    expect(body.tools!.map((t) => t.function.name)).to.deep.equal(['my_products', 'book_appointment', 'handoff']);
    expect(body.messages.slice(1).map((m) => m.role)).to.deep.equal(['user', 'assistant', 'user']);
    for (const secret of ['13912345678', '330106197005201234', '欧阳建华', '800000']) expect(raw).not.to.contain(secret);
    expect(body.messages.at(-1)!.content).to.contain('139****5678');
  });

  it('drops a citation of an entry that was not in the prompt', async () => {
    w.llm.reply({ text: '定期存款50元起存 [kb-002]，大额存单20万元起存 [kb-001]【kb-999】。' });
    const reply = await ask('大额存单多少钱起存？');
    expect(reply.kind).to.equal('answer');
    if (reply.kind !== 'answer') return;
    const provided = JSON.stringify(w.llm.requests[0]!.body.messages[0]);
    // In the order the answer cites them, when they were provided.
    const expected = ['kb-002', 'kb-001'].filter((id) => provided.includes(`[${id}]`));
    expect(expected).to.include('kb-001');
    expect(reply.citations).to.deep.equal(expected);
    expect(reply.text).not.to.match(/kb-\d/);
    const row = await auditRow(db(), reply.auditId);
    expect(row.dropped_citations).to.include('kb-999');
    expect(row.citations).to.deep.equal(expected);
  });

  it('stops a model answer that promises returns: the gate blocks it, the safe answer goes instead, and the conversation is handed off', async () => {
    const customer = await customerFollowing(db(), 'LiNa');
    w.llm.reply({ text: '这款理财保证收益8%，稳赚不赔 [kb-011]' });
    const reply = await ask('恒享固收理财收益多少？', { customerId: customer.id });
    expect(reply).to.deep.include({ kind: 'handoff', reason: 'gate_block', text: HANDOFF_TEXT });
    expect(reply.kind === 'handoff' && reply.text).not.to.contain('稳赚');
    const row = await auditRow(db(), reply.auditId);
    expect(row).to.include({ decision: 'blocked', reason: 'gate_block', gate_verdict: 'block', answer: HANDOFF_TEXT });
    expect(row.model_answer).to.contain('稳赚不赔');
    expect((row.gate_findings as { rule: string }[]).map((f) => f.rule)).to.include.members(['block:保证收益', 'block:稳赚不赔']);
  });

  it('appends the required disclosure to a wealth answer the gate lets through', async () => {
    w.llm.reply({ text: '业绩比较基准是产品设定的投资目标，不代表实际收益 [kb-011]。' });
    const reply = await ask('理财的业绩比较基准是什么意思？');
    expect(reply.kind).to.equal('answer');
    if (reply.kind === 'answer') expect(reply.text).to.match(/理财非存款、产品有风险、投资须谨慎。$/);
  });

  it('books a branch appointment through the book_appointment tool and writes it to the timeline', async () => {
    const customer = await customerFollowing(db(), 'LiNa');
    const date = new Date(Date.now() + 8 * 3_600_000 + 3 * 86_400_000).toISOString().slice(0, 10);
    w.llm.reply(
      { toolCalls: [{ name: 'book_appointment', arguments: { branchId: 'br-hz-xihu', date, purpose: '大额取现' } }], usage: { prompt: 900, completion: 25 } },
      { text: `已为您预约${date}到星河银行杭州西湖支行办理大额取现 [kb-051]，请携带身份证件。`, usage: { prompt: 980, completion: 40 } },
    );
    const reply = await ask('我想预约后天去西湖支行取20万现金', { customerId: customer.id, corpId: 'wwxinghe0000sandbox', externalUserid: customer.externalUserid });
    expect(reply.kind).to.equal('answer');
    if (reply.kind !== 'answer') return;
    expect(reply.toolCalls).to.have.length(1);
    expect(reply.toolCalls[0]).to.deep.include({ name: 'book_appointment', ok: true });
    const appointment = await db().selectFrom('appointments').selectAll().where('audit_id', '=', reply.auditId).executeTakeFirstOrThrow();
    expect(appointment).to.include({ customer_id: customer.id, branch_id: 'br-hz-xihu', date, purpose: '大额取现', status: 'requested', source: 'assistant' });
    const entry = await db().selectFrom('timeline_events').selectAll().where('customer_id', '=', customer.id).where('kind', '=', 'appointment_booked').executeTakeFirstOrThrow();
    expect(entry.summary).to.equal(`通过AI助手预约星河银行杭州西湖支行（${date}，大额取现）`);
    // The tool's result went back to the model with the call it answers.
    const second = w.llm.requests[1]!.body.messages;
    const toolMessage = second.find((m) => m.role === 'tool')!;
    expect(toolMessage.content).to.contain('已预约：星河银行杭州西湖支行');
    expect(toolMessage.tool_call_id).to.equal((second.at(-2)!.tool_calls as { id: string }[])[0]!.id);
    const row = await auditRow(db(), reply.auditId);
    expect(row).to.include({ prompt_tokens: 1880, completion_tokens: 65, model_calls: 2 });
  });

  it('tells the model a booking outside the next 60 days or at an unknown branch cannot be made', async () => {
    const customer = await customerFollowing(db(), 'LiNa');
    w.llm.reply(
      { toolCalls: [{ name: 'book_appointment', arguments: { branchId: 'br-nowhere', date: '2099-01-01', purpose: '开户' } }] },
      { text: '抱歉，暂时无法为您预约，请稍后再试。' },
    );
    const reply = await ask('帮我预约开户', { customerId: customer.id });
    expect(reply.kind === 'answer' && reply.toolCalls[0]).to.deep.include({ name: 'book_appointment', ok: false });
    expect(await db().selectFrom('appointments').selectAll().where('customer_id', '=', customer.id).execute()).to.deep.equal([]);
  });

  it('refuses my_products without the customer’s consent and names the holdings with it', async () => {
    const without = await customerFollowing(db(), 'LiNa', { consent: false, products: ['p-dep-lcd-3y', 'p-wm-cash-r1'] });
    w.llm.reply({ toolCalls: [{ name: 'my_products', arguments: {} }] }, { text: '抱歉，您可以登录手机银行查看持有的产品。' });
    const refused = await ask('我在你们这买了哪些产品？', { customerId: without.id });
    expect(refused.kind === 'answer' && refused.toolCalls[0]).to.deep.include({ name: 'my_products', ok: false });
    const told = w.llm.requests[1]!.body.messages.find((m) => m.role === 'tool')!.content!;
    expect(told).to.contain('客户未授权');
    expect(told).not.to.contain('星河大额存单');

    w.llm.reset();
    const consenting = await customerFollowing(db(), 'LiNa', { consent: true, products: ['p-dep-lcd-3y', 'p-wm-cash-r1'] });
    w.llm.reply({ toolCalls: [{ name: 'my_products', arguments: {} }] }, { text: '您持有大额存单和天天利。' });
    const listed = await ask('我在你们这买了哪些产品？', { customerId: consenting.id });
    expect(listed.kind === 'answer' && listed.toolCalls[0]).to.deep.include({ name: 'my_products', ok: true });
    expect(w.llm.requests[1]!.body.messages.find((m) => m.role === 'tool')!.content).to.contain('星河大额存单（3年期）');
  });

  it('hands off when the model calls the handoff tool', async () => {
    w.llm.reply({ toolCalls: [{ name: 'handoff', arguments: { reason: '资料未覆盖，需客户经理确认' } }] });
    const reply = await ask('我家老人的养老金能不能帮忙代领？');
    expect(reply).to.deep.include({ kind: 'handoff', reason: 'model:资料未覆盖，需客户经理确认', text: HANDOFF_TEXT });
    expect((await auditRow(db(), reply.auditId)).decision).to.equal('handoff');
  });

  it('hands a fraud report to a person without asking the model', async () => {
    const reply = await ask('我好像被骗了，刚给对方转了钱');
    expect(reply.kind).to.equal('handoff');
    expect(w.llm.requests).to.have.length(0);
    expect((await auditRow(db(), reply.auditId)).decision).to.equal('handoff');
  });

  it(`answers in words after ${MAX_TOOL_ROUNDS} rounds of tool calls, asked without tools`, async () => {
    const call = { toolCalls: [{ name: 'my_products', arguments: {} }] };
    w.llm.reply(call, call, call, { text: '抱歉，这个问题我不确定，建议联系您的客户经理。' });
    const reply = await ask('查一下我的产品');
    expect(reply.kind).to.equal('answer');
    expect(w.llm.requests.map((r) => (r.body.tools ?? []).length)).to.deep.equal([3, 3, 3, 0]);
  });

  it('reports an answer with tool calls and no words after the last round as unavailable', async () => {
    const call = { toolCalls: [{ name: 'my_products', arguments: {} }] };
    w.llm.reply(call, call, call, call);
    const reply = await ask('查一下我的产品');
    expect(reply).to.deep.include({ kind: 'unavailable', reason: 'tool_rounds' });
    expect((await auditRow(db(), reply.auditId)).decision).to.equal('error');
  });
});
