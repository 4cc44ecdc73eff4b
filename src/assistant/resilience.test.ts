import { expect } from 'chai';
import { answerCustomer } from './answer.js';
import { auditRow, customerFollowing, assistantWorld, until, type AssistantWorld } from './testing.js';

describe('the assistant when the model is slow, down or streaming', () => {
  let w: AssistantWorld;
  before(async () => {
    w = await assistantWorld();
  });
  after(() => w.close());
  beforeEach(() => w.llm.reset());
  const db = () => w.app.database.db;
  const QUESTION = '大额存单现在利率多少？';

  it('retries a 429 and then answers', async () => {
    w.llm.reply({ status: 429 }, { status: 429 }, { text: '大额存单20万元起存 [kb-001]' });
    const reply = await answerCustomer(w.assistant({ maxRetries: 2 }), { text: QUESTION, channel: 'kf' });
    expect(reply.kind).to.equal('answer');
    expect(w.llm.requests).to.have.length(3);
  });

  it('retries 500s, then reports the model unavailable so the engine falls back', async () => {
    w.llm.reply({ status: 500 }, { status: 500 }, { status: 500 });
    const reply = await answerCustomer(w.assistant({ maxRetries: 2 }), { text: QUESTION, channel: 'kf' });
    expect(reply).to.deep.include({ kind: 'unavailable', reason: 'http_500' });
    expect(w.llm.requests).to.have.length(3);
    const row = await auditRow(db(), reply.auditId);
    expect(row).to.include({ decision: 'fallback', reason: 'http_500', answer: null });
    expect(row.prompt).to.have.length(2); // what would have been sent is kept
  });

  it('reports a rate limit that outlasts the retries as rate_limited', async () => {
    w.llm.reply({ status: 429 }, { status: 429 });
    const reply = await answerCustomer(w.assistant({ maxRetries: 1 }), { text: QUESTION, channel: 'kf' });
    expect(reply).to.deep.include({ kind: 'unavailable', reason: 'rate_limited' });
  });

  it('does not retry a request the endpoint rejects (400) and records it as an error', async () => {
    w.llm.reply({ status: 400, message: 'model not found' });
    const reply = await answerCustomer(w.assistant({ maxRetries: 2 }), { text: QUESTION, channel: 'kf' });
    expect(reply).to.deep.include({ kind: 'unavailable', reason: 'http_400' });
    expect(w.llm.requests).to.have.length(1);
    expect((await auditRow(db(), reply.auditId)).decision).to.equal('error');
  });

  it('gives up on a model that never answers when each attempt times out, retrying once', async () => {
    w.llm.reply({ hang: true }, { hang: true });
    const reply = await answerCustomer(w.assistant({ timeoutMs: 300, maxRetries: 1 }), { text: QUESTION, channel: 'kf' });
    expect(reply).to.deep.include({ kind: 'unavailable', reason: 'timeout' });
    expect(w.llm.requests).to.have.length(2);
    await until(async () => w.llm.requests.every((r) => r.abandoned), 'the server to see both attempts abandoned');
  });

  it('returns unavailable at the overall deadline while the model hangs, abandoning the call', async () => {
    w.llm.reply({ hang: true });
    // Each attempt could wait far longer than the test runs; only the deadline ends it.
    const reply = await answerCustomer(w.assistant({ timeoutMs: 120_000, maxRetries: 3, deadlineMs: 400 }), { text: QUESTION, channel: 'kf' });
    expect(reply).to.deep.include({ kind: 'unavailable', reason: 'deadline' });
    expect(w.llm.requests).to.have.length(1);
    await until(async () => w.llm.requests[0]!.abandoned, 'the server to see the call abandoned');
    expect((await auditRow(db(), reply.auditId)).decision).to.equal('fallback');
  });

  it('keeps the tokens of the rounds before a deadline cut the conversation short', async () => {
    const customer = await customerFollowing(db(), 'LiNa');
    w.llm.reply({ toolCalls: [{ name: 'my_products', arguments: {} }], usage: { prompt: 500, completion: 12 } }, { hang: true });
    const reply = await answerCustomer(w.assistant({ deadlineMs: 500 }), { text: '我有哪些产品', customerId: customer.id, channel: 'kf' });
    expect(reply).to.deep.include({ kind: 'unavailable', reason: 'deadline' });
    const row = await auditRow(db(), reply.auditId);
    expect(row).to.include({ prompt_tokens: 500, completion_tokens: 12, model_calls: 1 });
    expect((row.tool_calls as { name: string }[]).map((c) => c.name)).to.deep.equal(['my_products']);
  });

  it('reports an answer that is not JSON as malformed', async () => {
    w.llm.reply({ malformed: true });
    const reply = await answerCustomer(w.assistant(), { text: QUESTION, channel: 'kf' });
    expect(reply).to.deep.include({ kind: 'unavailable', reason: 'malformed' });
    expect((await auditRow(db(), reply.auditId)).decision).to.equal('error');
  });

  it('reports the endpoint unreachable as a connection failure', async () => {
    const reply = await answerCustomer(w.assistant({ baseUrl: 'http://127.0.0.1:9/v1' }), { text: QUESTION, channel: 'kf' });
    expect(reply).to.deep.include({ kind: 'unavailable', reason: 'connection' });
  });

  it('answers from a streamed completion with tool calls in fragments, counting tokens from the usage chunk (OPENAI_STREAM)', async () => {
    const customer = await customerFollowing(db(), 'LiNa', { products: ['p-dep-lcd-3y'] });
    w.llm.reply(
      { toolCalls: [{ name: 'my_products', arguments: {} }], usage: { prompt: 700, completion: 9 } },
      { text: '王先生您好，您持有星河大额存单（3年期），3年期参考年利率1.90% [kb-001]。', usage: { prompt: 760, completion: 48 } },
    );
    const reply = await answerCustomer(w.assistant({ stream: true }), { text: '我买的大额存单利率多少？', customerId: customer.id, channel: 'kf' });
    expect(w.llm.requests.map((r) => [r.body.stream, r.body.stream_options?.include_usage])).to.deep.equal([[true, true], [true, true]]);
    expect(reply.kind).to.equal('answer');
    if (reply.kind !== 'answer') return;
    expect(reply.text).to.equal('「AI助手」王先生您好，您持有星河大额存单（3年期），3年期参考年利率1.90%。');
    expect(reply.toolCalls.map((c) => [c.name, c.ok])).to.deep.equal([['my_products', true]]);
    expect(reply.citations).to.deep.equal(['kb-001']);
    expect(await auditRow(db(), reply.auditId)).to.include({ prompt_tokens: 1460, completion_tokens: 57, model_calls: 2 });
  });
});
