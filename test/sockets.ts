import { io as connect, type Socket } from 'socket.io-client';
import type { TestApp } from './harness.js';

/** Real socket.io clients against a test app, logged in as a demo user (src/realtime). */
export interface LiveEvent {
  event: string;
  data: Record<string, unknown> & { eventId?: number };
}

export interface LiveClient {
  socket: Socket;
  rooms: string[];
  /** Every event received except `ready`, in arrival order. */
  received: LiveEvent[];
  /** Resolves with the first event (already received or to come) that matches; rejects after `timeoutMs`. */
  until(match: (e: LiveEvent) => boolean, timeoutMs?: number, what?: string): Promise<LiveEvent>;
  close(): Promise<void>;
}

/** Logs `username` in and connects; resolves at `ready`, when the socket is in its rooms. */
export async function liveClient(app: TestApp, username: string): Promise<LiveClient> {
  const { cookie } = await app.client().login(username);
  return new Promise<LiveClient>((resolve, reject) => {
    const socket = connect(app.url, { transports: ['websocket'], extraHeaders: { cookie }, reconnection: false });
    const received: LiveEvent[] = [];
    socket.onAny((event: string, data: LiveEvent['data']) => {
      if (event !== 'ready') received.push({ event, data });
    });
    const until: LiveClient['until'] = (match, timeoutMs = 20_000, what = 'a live event') =>
      new Promise<LiveEvent>((done, fail) => {
        const seen = received.find(match);
        if (seen) return done(seen);
        const timer = setTimeout(() => {
          socket.offAny(listener);
          fail(new Error(`${what} did not arrive within ${timeoutMs} ms; received: ${received.map((r) => r.event).join(', ') || 'nothing'}`));
        }, timeoutMs);
        const listener = (event: string, data: LiveEvent['data']) => {
          if (event === 'ready' || !match({ event, data })) return;
          clearTimeout(timer);
          socket.offAny(listener);
          done({ event, data });
        };
        socket.onAny(listener);
      });
    const close = () =>
      new Promise<void>((done) => {
        if (socket.disconnected) return done();
        socket.once('disconnect', () => done());
        socket.close();
      });
    socket.once('ready', (ready: { rooms: string[] }) => resolve({ socket, rooms: ready.rooms, received, until, close }));
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });
}

/**
 * For a describe block: opens live clients as the app's users and closes every one after each test.
 * `app` is read when a client is opened (the app is booted in `before`).
 */
export function liveClients(app: () => TestApp): (username: string) => Promise<LiveClient> {
  let clients: LiveClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
  });
  return async (username) => {
    const client = await liveClient(app(), username);
    clients.push(client);
    return client;
  };
}
