import { randomBytes } from 'node:crypto';
import { WeComError } from './errors.js';

/** Which secret a token was issued for: the app (agent) secret or the contact-sync secret. */
export type SecretKind = 'agent' | 'contact';

export interface IssuedToken {
  token: string;
  corpId: string;
  kind: SecretKind;
  issuedAt: number;
  expiresAt: number;
}

interface Ticket {
  kind: 'jsapi' | 'agent_config';
  expiresAt: number;
}

interface OAuthCode {
  userid: string;
  scope: string;
  issuedAt: number;
  used: boolean;
}

const OAUTH_CODE_TTL_MS = 5 * 60_000;
const TICKET_TTL_SECONDS = 7200;
// Expired tokens are remembered for a day so a late caller gets 42001 rather than 40014.
const EXPIRED_MEMORY_MS = 86_400_000;

/**
 * Credentials WeCom issues: access tokens per (corp, secret), JS-SDK tickets and OAuth codes.
 * Secrets are random (not from the seeded streams) because nothing should be able to predict them.
 */
export class CredentialStore {
  private tokens = new Map<string, IssuedToken>();
  private tickets = new Map<string, Ticket>();
  private codes = new Map<string, OAuthCode>();

  constructor(private readonly ttlSeconds: number) {}

  issue(corpId: string, kind: SecretKind, nowMs: number): IssuedToken {
    this.prune(nowMs);
    // Each gettoken issues a fresh token; earlier ones stay valid until their own expiry.
    const token: IssuedToken = { token: randomBytes(48).toString('base64url'), corpId, kind, issuedAt: nowMs, expiresAt: nowMs + this.ttlSeconds * 1000 };
    this.tokens.set(token.token, token);
    return token;
  }

  get ttl(): number {
    return this.ttlSeconds;
  }

  verify(token: string | undefined, nowMs: number): IssuedToken {
    if (!token) throw new WeComError(41001);
    const found = this.tokens.get(token);
    if (!found) throw new WeComError(40014);
    if (nowMs >= found.expiresAt) throw new WeComError(42001);
    return found;
  }

  /** Ends every token now (a key rotation or an outage as seen by the client). Returns how many were live. */
  expireAll(nowMs: number): number {
    let live = 0;
    for (const t of this.tokens.values()) {
      if (t.expiresAt > nowMs) live++;
      t.expiresAt = Math.min(t.expiresAt, nowMs);
    }
    return live;
  }

  issueTicket(kind: Ticket['kind'], nowMs: number): { ticket: string; expires_in: number } {
    const ticket = randomBytes(48).toString('base64url');
    this.tickets.set(ticket, { kind, expiresAt: nowMs + TICKET_TTL_SECONDS * 1000 });
    return { ticket, expires_in: TICKET_TTL_SECONDS };
  }

  issueCode(userid: string, scope: string, nowMs: number): string {
    const code = randomBytes(24).toString('base64url');
    this.codes.set(code, { userid, scope, issuedAt: nowMs, used: false });
    return code;
  }

  /** OAuth codes are single use and live five minutes (REFERENCE §5); anything else is 40029. */
  redeemCode(code: string, nowMs: number): OAuthCode {
    const found = this.codes.get(code);
    if (!found || found.used || nowMs - found.issuedAt > OAUTH_CODE_TTL_MS) throw new WeComError(40029);
    found.used = true;
    return found;
  }

  private prune(nowMs: number): void {
    if (this.tokens.size < 1000) return;
    for (const [key, t] of this.tokens) if (nowMs - t.expiresAt > EXPIRED_MEMORY_MS) this.tokens.delete(key);
    for (const [key, t] of this.tickets) if (nowMs > t.expiresAt) this.tickets.delete(key);
    for (const [key, c] of this.codes) if (nowMs - c.issuedAt > OAUTH_CODE_TTL_MS) this.codes.delete(key);
  }
}
