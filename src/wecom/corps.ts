import type { Config } from '../platform/config.js';
import type { FieldCipher } from '../platform/crypto.js';
import type { Db } from '../platform/db/database.js';
import { invalid } from '../platform/errors.js';

/** A corp's settings with its secrets decrypted, as the gateway needs them. Never logged. */
export interface CorpSecrets {
  corpId: string;
  name: string;
  agentId: number | null;
  token: string;
  aesKey: string;
  agentSecret: string | null;
  contactSecret: string | null;
  apiBase: string;
}

export interface CorpInput {
  corpId: string;
  name: string;
  agentId?: number | null;
  token: string;
  aesKey: string;
  agentSecret?: string | null;
  contactSecret?: string | null;
  apiBase: string;
  source: 'env' | 'console' | 'sandbox';
}

/** Stores a corp with its secrets encrypted at rest (insert or replace). */
export async function saveCorp(db: Db, cipher: FieldCipher, corp: CorpInput): Promise<void> {
  const values = {
    name: corp.name,
    agent_id: corp.agentId ?? null,
    callback_token_enc: cipher.encrypt(corp.token),
    callback_aes_key_enc: cipher.encrypt(corp.aesKey),
    agent_secret_enc: corp.agentSecret ? cipher.encrypt(corp.agentSecret) : null,
    contact_secret_enc: corp.contactSecret ? cipher.encrypt(corp.contactSecret) : null,
    api_base: corp.apiBase,
    source: corp.source,
    active: true,
  };
  await db
    .insertInto('corps')
    .values({ corp_id: corp.corpId, ...values })
    .onConflict((oc) => oc.column('corp_id').doUpdateSet({ ...values, updated_at: new Date() }))
    .execute();
}

/** The corp configured in the environment, if any (DESIGN "Contracts"). */
export function corpFromConfig(config: Config): CorpInput | undefined {
  if (!config.WECOM_CORP_ID || !config.WECOM_CALLBACK_TOKEN || !config.WECOM_CALLBACK_AES_KEY) return undefined;
  return {
    corpId: config.WECOM_CORP_ID,
    name: config.WECOM_CORP_ID,
    agentId: config.WECOM_AGENT_ID ?? null,
    token: config.WECOM_CALLBACK_TOKEN,
    aesKey: config.WECOM_CALLBACK_AES_KEY,
    agentSecret: config.WECOM_AGENT_SECRET ?? null,
    contactSecret: config.WECOM_CONTACT_SECRET ?? null,
    apiBase: config.WECOM_API_BASE,
    source: 'env',
  };
}

/**
 * Reads corps from the table, decrypting once and caching briefly so a callback burst costs no
 * decryption per request while a console change still applies within seconds.
 */
export class CorpRegistry {
  private cache = new Map<string, { corp: CorpSecrets | undefined; at: number }>();

  constructor(
    private readonly db: Db,
    private readonly cipher: FieldCipher,
    private readonly ttlMs = 10_000,
  ) {}

  async get(corpId: string): Promise<CorpSecrets | undefined> {
    const hit = this.cache.get(corpId);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.corp;
    const row = await this.db.selectFrom('corps').selectAll().where('corp_id', '=', corpId).where('active', '=', true).executeTakeFirst();
    const corp = row
      ? {
          corpId: row.corp_id,
          name: row.name,
          agentId: row.agent_id,
          token: this.cipher.decrypt(row.callback_token_enc),
          aesKey: this.cipher.decrypt(row.callback_aes_key_enc),
          agentSecret: row.agent_secret_enc ? this.cipher.decrypt(row.agent_secret_enc) : null,
          contactSecret: row.contact_secret_enc ? this.cipher.decrypt(row.contact_secret_enc) : null,
          apiBase: row.api_base,
        }
      : undefined;
    if (this.cache.size > 1000) this.cache.clear();
    this.cache.set(corpId, { corp, at: Date.now() });
    return corp;
  }

  async list(): Promise<string[]> {
    const rows = await this.db.selectFrom('corps').select('corp_id').where('active', '=', true).execute();
    return rows.map((r) => r.corp_id);
  }

  /** The corp a request means: the one named, or the only one configured. */
  async resolve(given: string | undefined, path = 'query.corpId'): Promise<string> {
    if (given) {
      if (!(await this.get(given))) throw invalid('unknown corp', [{ path, message: `no corp ${given}` }]);
      return given;
    }
    const corps = await this.list();
    if (corps.length !== 1) throw invalid('corpId required', [{ path, message: `${corps.length} corps are configured: name one` }]);
    return corps[0]!;
  }

  forget(corpId?: string): void {
    if (corpId) this.cache.delete(corpId);
    else this.cache.clear();
  }
}
