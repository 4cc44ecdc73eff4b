import http from 'node:http';
import { mkdirSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { io as connect, type Socket } from 'socket.io-client';
import { bootApp, type TestApp } from '../../test/harness.js';
import { freePort } from '../../test/ports.js';
import { ensureDatabase, startEmbeddedPostgres, type EmbeddedServer } from '../platform/db/embedded.js';
import { openDatabase } from '../platform/db/database.js';
import { createLogger } from '../platform/logger.js';
import type { Role } from '../platform/db/schema.js';
import { attachRealtime, CONSOLE_ROOM, memberRoom, REALTIME_CLEANUP_JOB, RealtimeLog, type Realtime } from './index.js';
import { deleteEventsBefore, readRoomEventsAfter } from './log.js';

interface Received {
  event: string;
  data: Record<string, unknown> & { eventId?: number };
}

interface Ready {
  staffId: string;
  rooms: string[];
  lastEventId: number;
}

interface Client {
  socket: Socket;
  ready: Ready;
  /** Every event the socket received except `ready`, in arrival order (replayed ones included). */
  received: Received[];
}

/** Connects with a session cookie (and a last event id); resolves at `ready`, when the replay is done. */
const open = (url: string, cookie?: string, auth: Record<string, unknown> = {}) =>
  new Promise<Client>((resolve, reject) => {
    const socket = connect(url, { transports: ['websocket'], extraHeaders: cookie ? { cookie } : {}, reconnection: false, auth });
    const received: Received[] = [];
    socket.onAny((event: string, data: Received['data']) => {
      if (event !== 'ready') received.push({ event, data });
    });
    socket.once('ready', (ready: Ready) => resolve({ socket, ready, received }));
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });

/** Resolves when the client has received an event matching `match` (at once if it already has). */
const until = (client: Client, match: (r: Received) => boolean) =>
  new Promise<Received>((resolve) => {
    const seen = client.received.find(match);
    if (seen) return resolve(seen);
    const listener = (event: string, data: Received['data']) => {
      if (event === 'ready' || !match({ event, data })) return;
      client.socket.offAny(listener);
      resolve({ event, data });
    };
    client.socket.onAny(listener);
  });

const closed = (client: Client) =>
  new Promise<void>((resolve) => {
    if (client.socket.disconnected) return resolve();
    client.socket.once('disconnect', () => resolve());
    client.socket.close();
  });

async function staffOfRole(app: TestApp, role: Role, count: number) {
  const rows = await app.database.db.selectFrom('staff').select(['id', 'username']).where('role', '=', role).where('active', '=', true).orderBy('username').limit(count).execute();
  expect(rows, `demo staff with role ${role}`).to.have.length(count);
  return rows;
}

async function sessionOf(app: TestApp, username: string) {
  return (await app.client().login(username)).cookie;
}

describe('realtime updates', () => {
  let app: TestApp;
  let realtime: Realtime;
  let managers: { id: string; username: string }[];
  before(async () => {
    app = await bootApp();
    realtime = app.realtime!;
    managers = await staffOfRole(app, 'account_manager', 2);
  });
  after(() => app.close());

  it('refuses a socket without a session', async () => {
    const error = await open(app.url).catch((e: Error) => e);
    expect((error as Error).message).to.equal('unauthenticated');
  });

  it("delivers a member's events to that member, with the event id, and not to another member", async () => {
    const [me, other] = managers;
    const mine = await open(app.url, await sessionOf(app, me!.username));
    const theirs = await open(app.url, await sessionOf(app, other!.username));
    try {
      expect(mine.ready.rooms).to.deep.equal([memberRoom(me!.id)]);
      realtime.toMember(other!.id, 'task.created', { title: '给王女士回电' });
      realtime.toMember(me!.id, 'task.created', { title: '回访客户' });
      const got = await until(mine, (r) => r.event === 'task.created');
      expect(got.data.title).to.equal('回访客户');
      expect(got.data.eventId).to.be.a('number').greaterThan(mine.ready.lastEventId);
      await until(theirs, (r) => r.event === 'task.created');
      // Each process delivers in id order, so the other member's earlier event would have come first.
      expect(mine.received.map((r) => r.data.title)).to.deep.equal(['回访客户']);
      expect(theirs.received.map((r) => r.data.title)).to.deep.equal(['给王女士回电']);
    } finally {
      await Promise.all([closed(mine), closed(theirs)]);
    }
  });

  it('sends data that is not a JSON object as its value, with the event id', async () => {
    const [me] = managers;
    const client = await open(app.url, await sessionOf(app, me!.username));
    try {
      realtime.toMember(me!.id, 'sop.alert', ['第一步', '第二步']);
      realtime.toMember(me!.id, 'sop.alert', new Date('2026-12-06T08:00:00Z'));
      const second = await until(client, (r) => typeof r.data.value === 'string');
      expect(client.received.map((r) => r.data.value)).to.deep.equal([['第一步', '第二步'], '2026-12-06T08:00:00.000Z']);
      expect(second.data.eventId).to.equal(client.received[0]!.data.eventId! + 1);
    } finally {
      await closed(client);
    }
  });

  it('puts console roles in the console room and keeps managers out of it', async () => {
    const [manager] = managers;
    const admin = await open(app.url, await sessionOf(app, 'admin'));
    const am = await open(app.url, await sessionOf(app, manager!.username));
    try {
      expect(admin.ready.rooms).to.include(CONSOLE_ROOM);
      expect(am.ready.rooms).to.not.include(CONSOLE_ROOM);
      realtime.toConsole('import.progress', { done: 10, total: 100 });
      realtime.toMember(manager!.id, 'handoff.alert', { conversation: 'kf-1' });
      const progress = await until(admin, (r) => r.event === 'import.progress');
      expect(progress.data).to.include({ done: 10, total: 100 });
      await until(am, (r) => r.event === 'handoff.alert');
      expect(am.received.map((r) => r.event)).to.deep.equal(['handoff.alert']);
    } finally {
      await Promise.all([closed(admin), closed(am)]);
    }
  });

  it('replays exactly the three events a client missed while disconnected, in order, and then live ones', async () => {
    const [me, other] = managers;
    const cookie = await sessionOf(app, me!.username);
    const first = await open(app.url, cookie);
    realtime.toMember(me!.id, 'task.created', { title: 'before' });
    const seen = await until(first, (r) => r.data.title === 'before');
    await closed(first);

    const missed: number[] = [];
    for (const title of ['one', 'two', 'three']) {
      missed.push(await realtime.publish(memberRoom(me!.id), 'task.created', { title }));
      await realtime.publish(memberRoom(other!.id), 'task.created', { title: `not mine ${title}` });
    }
    const again = await open(app.url, cookie, { lastEventId: seen.data.eventId });
    try {
      expect(again.received.map((r) => [r.data.eventId, r.data.title])).to.deep.equal([
        [missed[0], 'one'],
        [missed[1], 'two'],
        [missed[2], 'three'],
      ]);
      expect(again.ready.lastEventId).to.be.at.least(missed[2]!);
      realtime.toMember(me!.id, 'sop.alert', { title: 'live' });
      await until(again, (r) => r.data.title === 'live');
      expect(again.received.map((r) => r.data.title)).to.deep.equal(['one', 'two', 'three', 'live']);
    } finally {
      await closed(again);
    }
  });

  it('resumes clients while events keep arriving, each event once and in id order', async () => {
    const [me, other] = managers;
    const cookie = await sessionOf(app, me!.username);
    // Clients reconnect one after another while writes go on, so that writes land before, during and
    // after each one's replay query and join; each must get exactly the member's events after its id.
    const published: number[] = [await realtime.publish(memberRoom(me!.id), 'task.created', { n: -1 })];
    const resumed: { from: number; client: Promise<Client> }[] = [];
    for (let n = 0; n < 400; n += 10) {
      if (n % 40 === 0) {
        const from = published[Math.max(0, published.length - 15)]!;
        resumed.push({ from, client: open(app.url, cookie, { lastEventId: from }) });
      }
      const writes = Array.from({ length: 10 }, (_, i) => realtime.publish(memberRoom(me!.id), 'task.created', { n: n + i }));
      writes.push(realtime.publish(memberRoom(other!.id), 'task.created', { n }));
      published.push(...(await Promise.all(writes)).slice(0, 10));
    }
    published.push(await realtime.publish(memberRoom(me!.id), 'task.created', { n: 'end' }));
    const clients = await Promise.all(resumed.map((r) => r.client));
    try {
      for (const [i, client] of clients.entries()) {
        await until(client, (r) => r.data.n === 'end');
        const ids = client.received.map((r) => r.data.eventId);
        expect(ids, `client ${i}`).to.deep.equal(published.filter((id) => id > resumed[i]!.from));
      }
    } finally {
      await Promise.all(clients.map(closed));
    }
  });

  it('sends a resuming client an event the process delivered while its replay was being read', async () => {
    const [me] = managers;
    const cookie = await sessionOf(app, me!.username);
    const room = memberRoom(me!.id);
    // A second socket.io server on the same database, whose replay read is held open: after the
    // read's snapshot, an event is written and delivered to the room before the resume goes on.
    const server = http.createServer();
    const log = new RealtimeLog({ db: app.database.db, logger: createLogger({ level: 'silent' }) });
    let witness: Client | undefined;
    let during: number | undefined;
    const held = await attachRealtime(server, {
      db: app.database.db,
      logger: createLogger({ level: 'silent' }),
      log,
      databaseUrl: app.database.url,
      adapter: 'memory',
      pollMs: 600_000,
      replayMax: 100,
      readReplay: async (...args) => {
        const stored = await readRoomEventsAfter(...args);
        during = await log.publish(room, 'task.created', { title: 'during' });
        await until(witness!, (r) => r.data.eventId === during);
        return stored;
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      witness = await open(url, cookie);
      const seen = await log.publish(room, 'task.created', { title: 'seen' });
      const missed = await log.publish(room, 'task.created', { title: 'missed' });
      const client = await open(url, cookie, { lastEventId: seen });
      log.toMember(me!.id, 'task.created', { title: 'live' });
      await until(client, (r) => r.data.title === 'live');
      await closed(client);
      expect(client.received.map((r) => [r.data.eventId, r.data.title])).to.deep.equal([
        [missed, 'missed'],
        [during, 'during'],
        [client.received[2]!.data.eventId, 'live'],
      ]);
      await closed(witness);
    } finally {
      await held.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('tells a client to reload when its last event id is unknown or its gap has expired', async () => {
    const [me] = managers;
    const cookie = await sessionOf(app, me!.username);
    const ahead = await open(app.url, cookie, { lastEventId: realtime.cursor + 1_000_000 });
    await closed(ahead);
    expect(ahead.received).to.deep.equal([{ event: 'resync', data: { reason: 'unknown_event', eventId: ahead.ready.lastEventId } }]);

    const old = await realtime.publish(memberRoom(me!.id), 'task.created', { title: 'old' });
    await realtime.publish(memberRoom(me!.id), 'task.created', { title: 'expires' });
    await deleteEventsBefore(app.database.db, new Date(Date.now() + 60_000));
    const late = await open(app.url, cookie, { lastEventId: old });
    await closed(late);
    expect(late.received.map((r) => r.event)).to.deep.equal(['resync']);
    expect(late.received[0]!.data.reason).to.equal('expired');

    const garbled = await open(app.url, cookie, { lastEventId: 'yesterday' });
    await closed(garbled);
    expect(garbled.received.map((r) => r.data.reason)).to.deep.equal(['invalid_last_event_id']);
  });
});

describe('realtime event retention', () => {
  let app: TestApp;
  before(async () => {
    app = await bootApp({ REALTIME_RETENTION_HOURS: '24' });
  });
  after(() => app.close());

  it('deletes events older than the retention with its job and keeps the others', async () => {
    const realtime = app.realtime!;
    const old = await realtime.publish(CONSOLE_ROOM, 'import.progress', { done: 1 });
    const recent = await realtime.publish(CONSOLE_ROOM, 'import.progress', { done: 2 });
    const { db } = app.database;
    await db.updateTable('realtime_events').set({ created_at: new Date(Date.now() - 25 * 3600_000) }).where('id', '=', String(old)).execute();
    await app.jobs.enqueue(REALTIME_CLEANUP_JOB, {}, { cause: { type: 'system', id: 'test' } });
    const kept = () => db.selectFrom('realtime_events').select('id').orderBy('id').execute();
    while ((await kept()).some((r) => Number(r.id) === old)) await new Promise((r) => setTimeout(r, 50));
    expect((await kept()).map((r) => Number(r.id))).to.deep.equal([recent]);
  });
});

describe('realtime updates across web processes', () => {
  let a: TestApp;
  let b: TestApp;
  let manager: { id: string; username: string };
  before(async function () {
    this.timeout(60_000);
    // Polling off: only PostgreSQL's notifications can carry an event from one process to the other.
    const quiet = { REALTIME_POLL_MS: '600000', REALTIME_ADAPTER: 'postgres' };
    a = await bootApp(quiet);
    b = await bootApp({ ...quiet, ROLE: 'web' }, { databaseUrl: a.database.url });
    manager = (await staffOfRole(a, 'account_manager', 1))[0]!;
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  it('delivers an event written on one process to a client connected to the other', async () => {
    const onB = await open(b.url, await sessionOf(b, manager.username));
    const admin = await open(a.url, await sessionOf(a, 'admin'));
    try {
      a.realtime!.toMember(manager.id, 'task.created', { title: '从A发出' });
      b.realtime!.toConsole('masssend.progress', { sent: 5 });
      expect((await until(onB, (r) => r.event === 'task.created')).data.title).to.equal('从A发出');
      expect((await until(admin, (r) => r.event === 'masssend.progress')).data.sent).to.equal(5);
    } finally {
      await Promise.all([closed(onB), closed(admin)]);
    }
  });

  it('resumes on one process after an event id seen on the other', async () => {
    const cookie = await sessionOf(a, manager.username);
    const onA = await open(a.url, cookie);
    a.realtime!.toMember(manager.id, 'task.created', { title: 'seen on A' });
    const seen = await until(onA, (r) => r.data.title === 'seen on A');
    await closed(onA);
    const missed = await a.realtime!.publish(memberRoom(manager.id), 'task.created', { title: 'missed' });
    const onB = await open(b.url, cookie, { lastEventId: seen.data.eventId });
    try {
      expect(onB.received.map((r) => [r.data.eventId, r.data.title])).to.deep.equal([[missed, 'missed']]);
    } finally {
      await closed(onB);
    }
  });

  it("shares socket.io's rooms between the processes through the postgres adapter", async () => {
    const onB = await open(b.url, await sessionOf(b, manager.username));
    try {
      // The processes find each other by heartbeats sent through PostgreSQL (each hears the other).
      for (const app of [a, b]) {
        while ((await app.realtime!.io.of('/').adapter.serverCount()) < 2) await new Promise((r) => setTimeout(r, 50));
      }
      // A has no socket of this member; what it finds is on B.
      const sockets = await a.realtime!.io.in(memberRoom(manager.id)).fetchSockets();
      expect(sockets.map((s) => s.id)).to.include(onB.socket.id);
      const told = until(onB, (r) => r.event === 'notice');
      // A plain socket.io broadcast (not an event-log write) crosses processes only through the adapter.
      a.realtime!.io.to(memberRoom(manager.id)).emit('notice', { text: 'adapter' });
      expect((await told).data).to.deep.equal({ text: 'adapter' });
    } finally {
      await closed(onB);
    }
  });
});

describe('realtime updates through a database restart', function () {
  this.timeout(120_000);
  // A cluster of this run's own (other suites may run at once), deleted afterwards.
  const dataDir = path.resolve('.data/realtime-restart-test', String(process.pid));
  const silent = createLogger({ level: 'silent' });
  let server: EmbeddedServer;
  let app: TestApp;
  let port: number;
  before(async () => {
    mkdirSync(dataDir, { recursive: true });
    port = await freePort();
    server = await startEmbeddedPostgres({ dataDir, port, logger: silent });
    const url = await ensureDatabase(server.url, `realtime_restart_${process.pid}`);
    // Polling off: after the restart, only a renewed LISTEN can bring another process's events.
    app = await bootApp({ REALTIME_POLL_MS: '600000' }, { databaseUrl: url });
  });
  after(async () => {
    await app?.close();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('listens again when the database comes back and delivers what another process writes', async () => {
    const [manager] = await staffOfRole(app, 'account_manager', 1);
    const client = await open(app.url, await sessionOf(app, manager!.username));
    await server.stop();
    server = await startEmbeddedPostgres({ dataDir, port, logger: silent });
    // Another process's writer: its events reach this one only through the notification.
    const other = openDatabase({ url: app.database.url, poolMax: 2, logger: silent });
    const writer = new RealtimeLog({ db: other.db, logger: silent });
    try {
      let sent = 0;
      // The listening connection comes back within a few seconds; until then an event waits in the table.
      while (!client.received.some((r) => r.event === 'task.created')) {
        await writer.publish(memberRoom(manager!.id), 'task.created', { title: `after restart ${++sent}` });
        await new Promise((r) => setTimeout(r, 250));
      }
      const titles = client.received.map((r) => r.data.title);
      expect(titles[0]).to.equal('after restart 1');
      expect(client.received.map((r) => r.data.eventId)).to.deep.equal([...client.received.map((r) => r.data.eventId)].sort((x, y) => x! - y!));
      expect(app.logs.lines.some((l) => l.msg === 'live updates: notification connection error' || l.msg === 'socket.io adapter connection lost')).to.equal(true);
    } finally {
      await closed(client);
      await other.close();
    }
  });
});
