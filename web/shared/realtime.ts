import { io, type Socket } from 'socket.io-client';

/**
 * Live updates from src/realtime: one socket per page, authenticated by the session cookie.
 * Remembers the highest event id seen and resumes from it after a reconnection, so nothing is lost;
 * on `resync` (or the first `ready`) the page reloads what it shows.
 */
export interface LiveConnection {
  socket: Socket;
  on(event: string, handler: (data: Record<string, unknown>) => void): () => void;
  /** Called at every (re)connection's `ready` and at `resync`: reload what the page shows. */
  onReady(handler: () => void): () => void;
  close(): void;
}

let shared: LiveConnection | undefined;

export function live(): LiveConnection {
  if (shared) return shared;
  let lastEventId: number | undefined;
  const readyHandlers = new Set<() => void>();
  const socket = io({
    path: '/socket.io',
    withCredentials: true,
    auth: (cb) => cb(lastEventId === undefined ? {} : { lastEventId }),
  });
  const seen = (id: unknown) => {
    if (typeof id === 'number') lastEventId = Math.max(lastEventId ?? 0, id);
  };
  socket.on('ready', (r: { lastEventId?: number }) => {
    seen(r.lastEventId);
    for (const h of readyHandlers) h();
  });
  socket.on('resync', (r: { eventId?: number }) => {
    seen(r.eventId);
    for (const h of readyHandlers) h();
  });
  socket.onAny((_event, data: { eventId?: unknown } | undefined) => seen(data?.eventId));
  shared = {
    socket,
    on(event, handler) {
      socket.on(event, handler);
      return () => socket.off(event, handler);
    },
    onReady(handler) {
      readyHandlers.add(handler);
      return () => readyHandlers.delete(handler);
    },
    close() {
      socket.close();
      shared = undefined;
    },
  };
  return shared;
}
