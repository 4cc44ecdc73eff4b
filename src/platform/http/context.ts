import type { Logger } from '../logger.js';
import type { Role } from '../db/schema.js';

/** Who is making a request, as the auth module resolved it from the session cookie. */
export interface Actor {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  branchId: string | null;
  corpId: string | null;
  wecomUserid: string | null;
  sessionId: string;
}

export interface AppState {
  requestId: string;
  log: Logger;
  actor?: Actor;
  /** The route pattern that matched, for metrics and logs. */
  routeName?: string;
}
