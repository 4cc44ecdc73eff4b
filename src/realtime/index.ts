import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import type { Db } from '../platform/db/database.js';
import type { Logger } from '../platform/logger.js';
import type { Actor } from '../platform/http/context.js';
import { SESSION_COOKIE, cookieFromHeader, resolveSession } from '../auth/index.js';

/**
 * socket.io on the same HTTP server, authenticated by the same session cookie. Each staff member
 * joins `member:<staffId>`; console roles also join `console`.
 */
export const memberRoom = (staffId: string) => `member:${staffId}`;
export const CONSOLE_ROOM = 'console';
const CONSOLE_ROLES = new Set(['admin', 'ops', 'compliance', 'branch_manager']);

export interface Realtime {
  io: Server;
  toMember(staffId: string, event: string, data: unknown): void;
  toConsole(event: string, data: unknown): void;
  close(): Promise<void>;
}

export function attachRealtime(server: HttpServer, deps: { db: Db; logger: Logger }): Realtime {
  const io = new Server(server, { path: '/socket.io', serveClient: false, cors: { origin: false } });
  io.use(async (socket, next) => {
    try {
      const token = cookieFromHeader(socket.handshake.headers.cookie, SESSION_COOKIE);
      const actor = await resolveSession(deps.db, token);
      if (!actor) return next(new Error('unauthenticated'));
      (socket.data as { actor: Actor }).actor = actor;
      next();
    } catch (error) {
      deps.logger.warn({ err: error }, 'socket authentication failed');
      next(new Error('unavailable'));
    }
  });
  io.on('connection', (socket: Socket) => {
    const actor = (socket.data as { actor: Actor }).actor;
    void socket.join(memberRoom(actor.id));
    if (CONSOLE_ROLES.has(actor.role)) void socket.join(CONSOLE_ROOM);
    socket.emit('ready', { staffId: actor.id, rooms: [...socket.rooms].filter((r) => r !== socket.id) });
  });
  return {
    io,
    toMember: (staffId, event, data) => void io.to(memberRoom(staffId)).emit(event, data),
    toConsole: (event, data) => void io.to(CONSOLE_ROOM).emit(event, data),
    close: () =>
      new Promise<void>((resolve) => {
        io.disconnectSockets(true);
        // io.close() would also close the HTTP server, which the app closes itself.
        io.engine.close();
        resolve();
      }),
  };
}
