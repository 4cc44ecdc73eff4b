import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from './config.js';
import { FieldCipher, generateKeyHex } from './crypto.js';
import type { Logger } from './logger.js';

/**
 * Field keys come from FIELD_KEYS and HMAC_KEY. Outside production, when unset, keys are generated
 * once and kept in DATA_DIR/keys.json (mode 600) so a restarted demo still reads its data.
 */
export function loadFieldCipher(config: Config, logger: Logger): FieldCipher {
  if (config.FIELD_KEYS && config.HMAC_KEY) {
    return new FieldCipher(FieldCipher.parseKeys(config.FIELD_KEYS), Buffer.from(config.HMAC_KEY, 'hex'));
  }
  const file = path.resolve(config.DATA_DIR, 'keys.json');
  let stored: { fieldKeys: string; hmacKey: string };
  if (existsSync(file)) {
    stored = JSON.parse(readFileSync(file, 'utf8')) as typeof stored;
  } else {
    mkdirSync(path.dirname(file), { recursive: true });
    stored = { fieldKeys: `k1:${generateKeyHex()}`, hmacKey: generateKeyHex() };
    writeFileSync(file, JSON.stringify(stored), { mode: 0o600 });
    logger.warn({ file }, 'generated development field-encryption keys; set FIELD_KEYS and HMAC_KEY in production');
  }
  return new FieldCipher(FieldCipher.parseKeys(config.FIELD_KEYS ?? stored.fieldKeys), Buffer.from(config.HMAC_KEY ?? stored.hmacKey, 'hex'));
}
