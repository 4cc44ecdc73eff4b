import { expect } from 'chai';
import { io as connect, type Socket } from 'socket.io-client';
import { bootApp, type TestApp } from '../../test/harness.js';

const connectWith = (url: string, cookie?: string) =>
  new Promise<Socket>((resolve, reject) => {
    const socket = connect(url, { transports: ['websocket'], extraHeaders: cookie ? { cookie } : {}, reconnection: false });
    socket.once('ready', () => resolve(socket));
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });

describe('realtime updates', () => {
  let app: TestApp;
  before(async () => {
    app = await bootApp();
  });
  after(() => app.close());

  it('refuses a socket without a session', async () => {
    const error = await connectWith(app.url).catch((e: Error) => e);
    expect((error as Error).message).to.equal('unauthenticated');
  });

  it('puts a manager in their own room and delivers what is sent to it', async () => {
    const client = await app.client().login('am.zhangwei').catch(async () => {
      const am = await app.database.db.selectFrom('staff').select('username').where('role', '=', 'account_manager').executeTakeFirstOrThrow();
      return app.client().login(am.username);
    });
    const me = (await client.get('/api/v1/auth/me')).body;
    const socket = await connectWith(app.url, client.cookie);
    try {
      const received = new Promise((resolve) => socket.once('task.created', resolve));
      app.realtime!.toMember(me.id, 'task.created', { title: '回访客户' });
      expect(await received).to.deep.equal({ title: '回访客户' });
    } finally {
      socket.close();
    }
  });

  it('puts console roles in the console room and keeps managers out of it', async () => {
    const admin = await connectWith(app.url, (await app.client().login('admin')).cookie);
    const amName = (await app.database.db.selectFrom('staff').select('username').where('role', '=', 'account_manager').executeTakeFirstOrThrow()).username;
    const manager = await connectWith(app.url, (await app.client().login(amName)).cookie);
    try {
      let managerGot = false;
      manager.on('import.progress', () => (managerGot = true));
      const received = new Promise((resolve) => admin.once('import.progress', resolve));
      app.realtime!.toConsole('import.progress', { done: 10, total: 100 });
      expect(await received).to.deep.equal({ done: 10, total: 100 });
      await new Promise((r) => setTimeout(r, 100));
      expect(managerGot).to.equal(false);
    } finally {
      admin.close();
      manager.close();
    }
  });
});
