import { expect } from 'chai';
import { bootApp, type TestApp } from '../../../test/harness.js';

describe('the HTTP API', () => {
  let app: TestApp;
  before(async () => {
    app = await bootApp({ BODY_LIMIT_KB: '4' });
  });
  after(() => app.close());

  it('answers /healthz and /readyz', async () => {
    const client = app.client();
    expect((await client.get('/healthz')).body).to.deep.equal({ status: 'ok' });
    expect((await client.get('/readyz')).status).to.equal(200);
  });

  it('names each field at fault in a 400', async () => {
    const client = await app.client().login('admin');
    const r = await client.post('/api/v1/staff', { username: 'X!', displayName: '', role: 'boss' });
    expect(r.status).to.equal(400);
    expect(r.body.error.kind).to.equal('invalid');
    expect(r.body.error.issues.map((i: { path: string }) => i.path)).to.have.members(['body.username', 'body.displayName', 'body.role']);
  });

  it('validates path parameters and query strings too', async () => {
    const client = await app.client().login('admin');
    const p = await client.get('/api/v1/customers/not-a-uuid');
    expect(p.status).to.equal(400);
    expect(p.body.error.issues[0].path).to.equal('params.id');
    const q = await client.get('/api/v1/customers?limit=100000');
    expect(q.status).to.equal(400);
    expect(q.body.error.issues[0].path).to.equal('query.limit');
  });

  it('answers 400 to malformed JSON and 413 to an oversized body', async () => {
    const client = await app.client().login('admin');
    const bad = await client.request('POST', '/api/v1/staff', '{"username": ');
    expect(bad.status).to.equal(400);
    const big = await client.request('POST', '/api/v1/staff', { username: 'x'.repeat(10_000) });
    expect(big.status).to.equal(413);
    expect(big.body.error.kind).to.equal('too_large');
  });

  it('answers 404 for an unknown record and 409 for a duplicate', async () => {
    const client = await app.client().login('admin');
    expect((await client.get('/api/v1/customers/00000000-0000-4000-8000-000000000000')).status).to.equal(404);
    const dup = await client.post('/api/v1/staff', { username: 'ops', displayName: '重复', role: 'ops' });
    expect(dup.status).to.equal(409);
  });

  it('leaves nothing half-written when a request is rejected', async () => {
    const client = await app.client().login('admin');
    const r = await client.post('/api/v1/staff', { username: 'newam', displayName: '新经理', role: 'account_manager', branchId: 'no-such-branch' });
    expect(r.status).to.equal(400);
    expect(r.body.error.issues[0].path).to.equal('body.branchId');
    const row = await app.database.db.selectFrom('staff').select('id').where('username', '=', 'newam').executeTakeFirst();
    expect(row).to.equal(undefined);
  });

  it('gives every answer a request id, echoing a well-formed one', async () => {
    const r = await app.client().request('GET', '/healthz', undefined, { 'x-request-id': 'trace-12345678' });
    expect(r.headers.get('x-request-id')).to.equal('trace-12345678');
    const generated = await app.client().request('GET', '/healthz', undefined, { 'x-request-id': 'bad id!' });
    expect(generated.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
  });

  it('describes every route in the OpenAPI document', async () => {
    const r = await app.client().get('/api/v1/openapi.json');
    expect(r.status).to.equal(200);
    expect(r.body.openapi).to.match(/^3\./);
    for (const route of app.api.list()) {
      const path = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      expect(r.body.paths[path], path).to.have.property(route.method);
    }
    expect(r.body.paths['/api/v1/auth/login'].post.requestBody).to.exist;
  });

  it('exposes Prometheus metrics with request counts', async () => {
    await app.client().get('/healthz');
    const r = await app.client().get('/metrics');
    expect(r.status).to.equal(200);
    expect(r.body).to.contain('http_requests_total{method="GET",route="/healthz"');
    expect(r.body).to.contain('process_cpu_seconds_total');
  });

  it('answers an unexpected failure with a plain 500 that leaks nothing', async () => {
    app.api.router.get('/boom', () => {
      throw new Error('secret internals at /srv/db password=x');
    });
    const r = await app.client().get('/api/v1/boom');
    expect(r.status).to.equal(500);
    expect(JSON.stringify(r.body)).not.to.contain('secret');
    expect(r.body.error.kind).to.equal('internal');
  });
});
