import { expect } from 'chai';
import { bootApp, type TestApp } from '../../test/harness.js';

describe('console login', () => {
  let app: TestApp;
  before(async () => {
    app = await bootApp({ LOGIN_MAX_ATTEMPTS: '3', LOGIN_WINDOW_MINUTES: '15', SESSION_TTL_HOURS: '1' });
  });
  after(() => app.close());

  it('logs admin in with the demo password and sets an httpOnly SameSite cookie', async () => {
    const client = app.client();
    const r = await client.post('/api/v1/auth/login', { username: 'admin', password: 'demo-password-123' });
    expect(r.status).to.equal(200);
    expect(r.body.staff.role).to.equal('admin');
    const cookie = r.headers.getSetCookie().find((c) => c.startsWith('scrm_session='))!;
    expect(cookie).to.match(/httponly/i);
    expect(cookie).to.match(/samesite=lax/i);
    expect(cookie).not.to.match(/secure/i); // sandbox over plain http
    expect((await client.get('/api/v1/auth/me')).body.username).to.equal('admin');
  });

  it('answers 401 to a wrong password without saying which part was wrong', async () => {
    const r = await app.client().post('/api/v1/auth/login', { username: 'ops', password: 'not-the-password' });
    expect(r.status).to.equal(401);
    expect(r.body.error.message).to.equal('wrong username or password');
    const unknown = await app.client().post('/api/v1/auth/login', { username: 'nobody', password: 'x' });
    expect(unknown.body.error.message).to.equal('wrong username or password');
  });

  it('rate-limits a username after too many failures, even with the right password', async () => {
    const client = app.client();
    for (let i = 0; i < 3; i++) expect((await client.post('/api/v1/auth/login', { username: 'compliance', password: 'wrong' })).status).to.equal(401);
    const blocked = await client.post('/api/v1/auth/login', { username: 'compliance', password: 'demo-password-123' });
    expect(blocked.status).to.equal(429);
    expect(Number(blocked.headers.get('retry-after'))).to.be.greaterThan(0);
    const denied = await app.database.db.selectFrom('audit_log').selectAll().where('action', '=', 'auth.login').where('outcome', '=', 'denied').execute();
    expect(denied.length).to.be.greaterThan(0);
  });

  it('rejects an expired session', async () => {
    const client = await app.client().login('ops');
    expect((await client.get('/api/v1/auth/me')).status).to.equal(200);
    await app.database.db.updateTable('sessions').set({ expires_at: new Date(Date.now() - 1000) }).execute();
    const r = await client.get('/api/v1/auth/me');
    expect(r.status).to.equal(401);
    expect(r.body.error.kind).to.equal('unauthenticated');
  });

  it('ends the session on logout', async () => {
    const client = await app.client().login('admin');
    const cookie = client.cookie;
    expect((await client.post('/api/v1/auth/logout')).status).to.equal(204);
    client.cookie = cookie; // replaying the old cookie must not work
    expect((await client.get('/api/v1/auth/me')).status).to.equal(401);
  });

  it('stores only a hash of the password and of the session token', async () => {
    const client = await app.client().login('admin');
    const token = client.cookie.split('=')[1]!;
    const staff = await app.database.db.selectFrom('staff').select('password_hash').where('username', '=', 'admin').executeTakeFirstOrThrow();
    expect(staff.password_hash).to.match(/^\$argon2id\$/);
    const sessions = await app.database.db.selectFrom('sessions').select('id').execute();
    expect(sessions.map((s) => s.id)).not.to.include(token);
  });
});
