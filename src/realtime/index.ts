import type { Server as HttpServer } from 'node:http';
import pg from 'pg';
import { Server, type Socket } from 'socket.io';
import { createAdapter } from '@socket.io/postgres-adapter';
import type { Db } from '../platform/db/database.js';
import type { Logger } from '../platform/logger.js';
import type { Actor } from '../platform/http/context.js';
import { SESSION_COOKIE, cookieFromHeader, resolveSession } from '../auth/index.js';
import { RealtimeFeed } from './feed.js';
import { CONSOLE_ROOM, RealtimeLog, memberRoom, readRoomEventsAfter, wireData, type RealtimeEvent } from './log.js';

export { CONSOLE_ROOM, RealtimeLog, memberRoom, type RealtimeEvent } from './log.js';
export { defineRealtimeJobs, scheduleRealtimeJobs, REALTIME_CLEANUP_JOB } from './jobs.js';

/**
 * socket.io on the same HTTP server, authenticated by the same session cookie. Each staff member
 * joins `member:<staffId>`; console roles also join `console`. Events are rows first (log.ts) and
 * reach sockets through each process's feed (feed.ts), so a client can resume after the last
 * event id it saw. README.md beside this file describes rooms, events, resume and configuration.
 */
const CONSOLE_ROLES = new Set(['admin', 'ops', 'compliance', 'branch_manager']);

export type RealtimeAdapter = 'postgres' | 'memory';

export interface RealtimeOptions {
  db: Db;
  logger: Logger;
  log: RealtimeLog;
  databaseUrl: string;
  /** postgres: socket.io's own rooms, broadcasts and socket queries span every web process. */
  adapter: RealtimeAdapter;
  /** The feed's read without a notification, ms. */
  pollMs: number;
  /** More missed events than this and the client is told to reload (`resync`) instead. */
  replayMax: number;
  /** The replay's read; a test wraps it to hold a resume between its read and its join. */
  readReplay?: typeof readRoomEventsAfter;
}

export interface Realtime {
  io: Server;
  log: RealtimeLog;
  toMember(staffId: string, event: string, data: unknown): void;
  toConsole(event: string, data: unknown): void;
  /** Writes an event to a room and resolves with its id once every web process can deliver it. */
  publish(room: string, event: string, data: unknown): Promise<number>;
  /** The highest event id this process has delivered. */
  readonly cursor: number;
  close(): Promise<void>;
}

/** A socket between its handshake and the end of its replay: it is in no room yet. */
interface Resuming {
  rooms: readonly string[];
  /** Events the feed delivered to the socket's rooms while its replay was being read. */
  missed: RealtimeEvent[];
}

export async function attachRealtime(server: HttpServer, options: RealtimeOptions): Promise<Realtime> {
  const { db, logger, log, readReplay = readRoomEventsAfter } = options;
  let adapterPool: pg.Pool | undefined;
  if (options.adapter === 'postgres') {
    // A pool of its own: the adapter keeps one connection for LISTEN for as long as it runs.
    adapterPool = new pg.Pool({ connectionString: options.databaseUrl, max: 3, application_name: 'xinghe-scrm socket.io' });
    adapterPool.on('error', (error) => logger.warn({ err: error }, 'socket.io adapter connection lost'));
    containHeldConnections(adapterPool, logger);
  }
  const io = new Server(server, {
    path: '/socket.io',
    serveClient: false,
    cors: { origin: false },
    ...(adapterPool && {
      adapter: createAdapter(adapterPool, {
        tableName: 'socket_io_attachments',
        errorHandler: (error) => logger.warn({ err: error }, 'socket.io adapter error'),
      }),
    }),
  });

  const resuming = new Map<string, Resuming>();
  const feed = new RealtimeFeed({
    db,
    logger,
    databaseUrl: options.databaseUrl,
    pollMs: options.pollMs,
    deliver(events) {
      for (const event of events) {
        // local: every process reads every event itself; the adapter must not fan it out again.
        io.local.to(event.room).emit(event.event, wireData(event));
        for (const r of resuming.values()) if (r.rooms.includes(event.room)) r.missed.push(event);
      }
    },
  });
  await feed.start();
  const stopOffers = log.onWritten((events) => feed.offer(events));

  io.use(async (socket, next) => {
    try {
      const token = cookieFromHeader(socket.handshake.headers.cookie, SESSION_COOKIE);
      const actor = await resolveSession(db, token);
      if (!actor) return next(new Error('unauthenticated'));
      (socket.data as { actor: Actor }).actor = actor;
      next();
    } catch (error) {
      logger.warn({ err: error }, 'socket authentication failed');
      next(new Error('unavailable'));
    }
  });

  /** Joins the rooms and says where the stream stands; from here on the feed delivers. */
  const goLive = (socket: Socket, actor: Actor, rooms: readonly string[]) => {
    resuming.delete(socket.id);
    void socket.join([...rooms]);
    socket.emit('ready', { staffId: actor.id, rooms, lastEventId: feed.cursor });
  };

  /**
   * Sends the socket every event of its rooms in (after, cursor], in order, then makes it live.
   * Events up to the moment the socket registered come from the table; events the feed delivered
   * since then were kept in `missed`. Together they cover everything up to the feed's cursor, and
   * the merge below runs in one turn of the event loop, so no delivery can fall between it and
   * the join: nothing is lost, nothing is sent twice.
   */
  async function resume(socket: Socket, actor: Actor, rooms: readonly string[], after: number) {
    const state: Resuming = { rooms, missed: [] };
    resuming.set(socket.id, state);
    const resync = (reason: string) => {
      socket.emit('resync', { reason, eventId: feed.cursor });
      goLive(socket, actor, rooms);
    };
    // The client may come from a process that is ahead of this one.
    if (after > feed.cursor) await feed.pull();
    if (!socket.connected) return void resuming.delete(socket.id);
    if (after > feed.cursor) return resync('unknown_event');
    const stored = await readReplay(db, rooms, after, options.replayMax + 1);
    if (!socket.connected) return void resuming.delete(socket.id);
    // Events after `after` were deleted by retention (an empty table means all of them were).
    const expired = stored.oldest === null ? after < feed.cursor : after < stored.oldest - 1;
    if (expired) return resync('expired');
    const cursor = feed.cursor;
    const byId = new Map<number, RealtimeEvent>();
    for (const e of [...stored.events, ...state.missed]) if (e.id > after && e.id <= cursor) byId.set(e.id, e);
    if (byId.size > options.replayMax) return resync('too_many');
    for (const e of [...byId.values()].sort((a, b) => a.id - b.id)) socket.emit(e.event, wireData(e));
    goLive(socket, actor, rooms);
  }

  io.on('connection', (socket: Socket) => {
    const actor = (socket.data as { actor: Actor }).actor;
    const rooms = CONSOLE_ROLES.has(actor.role) ? [memberRoom(actor.id), CONSOLE_ROOM] : [memberRoom(actor.id)];
    socket.on('disconnect', () => resuming.delete(socket.id));
    const after = lastEventIdOf(socket.handshake.auth);
    if (after === undefined) return goLive(socket, actor, rooms);
    if (after === 'invalid') {
      socket.emit('resync', { reason: 'invalid_last_event_id', eventId: feed.cursor });
      return goLive(socket, actor, rooms);
    }
    resume(socket, actor, rooms, after).catch((error: unknown) => {
      logger.warn({ err: error, staffId: actor.id }, 'live updates: resume failed');
      resuming.delete(socket.id);
      socket.disconnect(true);
    });
  });

  let closing: Promise<void> | undefined;
  return {
    io,
    log,
    toMember: (staffId, event, data) => log.toMember(staffId, event, data),
    toConsole: (event, data) => log.toConsole(event, data),
    publish: (room, event, data) => log.publish(room, event, data),
    get cursor() {
      return feed.cursor;
    },
    close() {
      closing ??= (async () => {
        // local: with the postgres adapter a plain disconnectSockets would reach other processes' sockets.
        stopOffers();
        io.local.disconnectSockets(true);
        // Tells the other processes this one has gone, and stops the adapter's listening connection.
        await io.of('/').adapter.close();
        // io.close() would also close the HTTP server, which the app closes itself.
        io.engine.close();
        await feed.stop();
        await adapterPool?.end();
      })();
      return closing;
    },
  };
}

/**
 * The adapter checks out one connection for LISTEN and keeps it, with no 'error' listener (a
 * database restart would crash the process) and without releasing it when it ends (the pool would
 * count the dead connection forever). Every connection of its pool gets both here; for connections
 * the pool or a query already released, the release throws and is ignored.
 */
function containHeldConnections(pool: pg.Pool, logger: Logger): void {
  pool.on('connect', (client) => {
    client.on('error', (error) => logger.warn({ err: error }, 'socket.io adapter connection lost'));
    client.on('end', () => {
      try {
        (client as pg.PoolClient).release?.(new Error('connection ended'));
      } catch {
        // Already back in the pool, or removed from it.
      }
    });
  });
}

/** `auth: { lastEventId }` from the handshake: undefined when absent, 'invalid' when not an id. */
function lastEventIdOf(auth: unknown): number | 'invalid' | undefined {
  const value = (auth as { lastEventId?: unknown } | undefined)?.lastEventId;
  if (value === undefined || value === null || value === '') return undefined;
  const id = typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : 'invalid';
}
