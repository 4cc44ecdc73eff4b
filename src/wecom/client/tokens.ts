import type { FieldCipher } from '../../platform/crypto.js';
import type { Db } from '../../platform/db/database.js';

/**
 * access_tokens and JS-SDK tickets, cached in memory and in the database (encrypted) so that every
 * node shares one token per (corp, secret) and a restart fetches none. A refresh is single-flight:
 * callers that need the same token at the same time wait for the one fetch.
 */
export interface Fetched {
  value: string;
  expiresInSeconds: number;
}

interface Cached {
  value: string;
  expiresAt: number;
  lifetimeMs: number;
  refreshedAt: Date;
}

// Refresh five minutes early (WeCom tokens can die before their stated expiry), or at half-life
// for a token that lives less than ten minutes.
const MARGIN_MS = 5 * 60_000;

export class TokenStore {
  private readonly memory = new Map<string, Cached>();
  private readonly inflight = new Map<string, Promise<Cached>>();

  constructor(
    private readonly db: Db,
    private readonly cipher: FieldCipher,
    private readonly now: () => number = Date.now,
  ) {}

  async get(corpId: string, kind: string, fetch: () => Promise<Fetched>): Promise<string> {
    const key = `${corpId}:${kind}`;
    const hit = this.memory.get(key);
    if (hit && this.fresh(hit.expiresAt, hit.lifetimeMs)) return hit.value;
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.load(corpId, kind, fetch).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return (await pending).value;
  }

  private fresh(expiresAt: number, lifetimeMs: number): boolean {
    return expiresAt - Math.min(MARGIN_MS, lifetimeMs / 2) > this.now();
  }

  private async load(corpId: string, kind: string, fetch: () => Promise<Fetched>): Promise<Cached> {
    const key = `${corpId}:${kind}`;
    const row = await this.db.selectFrom('wecom_tokens').selectAll().where('corp_id', '=', corpId).where('kind', '=', kind).executeTakeFirst();
    const rowExpires = row ? new Date(row.expires_at).getTime() : 0;
    if (row && this.fresh(rowExpires, rowExpires - row.refreshed_at.getTime())) {
      const cached = { value: this.cipher.decrypt(row.value_enc), expiresAt: rowExpires, lifetimeMs: rowExpires - row.refreshed_at.getTime(), refreshedAt: row.refreshed_at };
      this.memory.set(key, cached);
      return cached;
    }
    const fetched = await fetch();
    const refreshedAt = new Date(this.now());
    const expiresAt = this.now() + fetched.expiresInSeconds * 1000;
    const values = { value_enc: this.cipher.encrypt(fetched.value), expires_at: new Date(expiresAt), refreshed_at: refreshedAt };
    await this.db
      .insertInto('wecom_tokens')
      .values({ corp_id: corpId, kind, ...values })
      .onConflict((oc) => oc.columns(['corp_id', 'kind']).doUpdateSet(values))
      .execute();
    const cached = { value: fetched.value, expiresAt, lifetimeMs: fetched.expiresInSeconds * 1000, refreshedAt };
    this.memory.set(key, cached);
    return cached;
  }

  /** Forgets a token WeCom rejected; a token another node refreshed since is kept. */
  async invalidate(corpId: string, kind: string, value: string): Promise<void> {
    const key = `${corpId}:${kind}`;
    const hit = this.memory.get(key);
    if (hit?.value !== value) return;
    this.memory.delete(key);
    await this.db.deleteFrom('wecom_tokens').where('corp_id', '=', corpId).where('kind', '=', kind).where('refreshed_at', '=', hit.refreshedAt).execute();
  }
}
