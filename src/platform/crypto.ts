import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/**
 * Field encryption for sensitive personal information (PIPL): AES-256-GCM, a fresh 12-byte IV per
 * value, the key id stored with the ciphertext so keys can be rotated (new writes use the first
 * key; every listed key still decrypts). Stored form: `keyId.iv.tag.ciphertext` (base64url).
 *
 * Exact lookup by mobile or ID number goes through a keyed hash (HMAC-SHA256) of the normalised
 * value, never through the ciphertext.
 */
export interface FieldKey {
  id: string;
  key: Buffer;
}

export class FieldCipher {
  private readonly byId: Map<string, Buffer>;
  private readonly current: FieldKey;

  constructor(keys: FieldKey[], private readonly hmacKey: Buffer) {
    if (!keys.length) throw new Error('at least one field key is required');
    for (const k of keys) if (k.key.length !== 32) throw new Error(`field key ${k.id} must be 32 bytes`);
    if (hmacKey.length < 32) throw new Error('the HMAC key must be at least 32 bytes');
    this.current = keys[0]!;
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  /** Parses `keyId:hex,keyId:hex` as configured in FIELD_KEYS. */
  static parseKeys(spec: string): FieldKey[] {
    return spec.split(',').map((part) => {
      const [id, hex] = part.split(':');
      return { id: id!, key: Buffer.from(hex!, 'hex') };
    });
  }

  get currentKeyId(): string {
    return this.current.id;
  }

  encrypt(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    cipher.setAAD(Buffer.from(this.current.id));
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [this.current.id, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), data.toString('base64url')].join('.');
  }

  decrypt(stored: string): string {
    const [id, iv, tag, data] = stored.split('.');
    const key = id ? this.byId.get(id) : undefined;
    if (!key || iv === undefined || tag === undefined || data === undefined) {
      throw new Error(`cannot decrypt field: unknown key id ${id ?? '(none)'}`);
    }
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(id!));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
  }

  /** The key id a stored value was written with (for re-encryption after rotation). */
  static keyIdOf(stored: string): string | undefined {
    return stored.split('.')[0];
  }

  /** Keyed hash for exact lookups; `kind` separates the spaces (a mobile never equals an ID number). */
  lookupHash(kind: 'mobile' | 'id_number' | 'unionid', value: string): string {
    return createHmac('sha256', this.hmacKey).update(`${kind}:${normalise(kind, value)}`).digest('hex');
  }
}

/** Normalises before hashing: +86 prefixes, spaces and dashes in mobiles; lower-case x in ID numbers. */
export function normalise(kind: 'mobile' | 'id_number' | 'unionid', value: string): string {
  const trimmed = value.trim();
  if (kind === 'mobile') return trimmed.replace(/[\s-]/g, '').replace(/^(\+?86)(?=1\d{10}$)/, '');
  if (kind === 'id_number') return trimmed.toUpperCase();
  return trimmed;
}

export const generateKeyHex = () => randomBytes(32).toString('hex');

/** Masks for display; the role decides whether masking applies (see auth/policy). */
export const mask = {
  mobile(value: string): string {
    const v = normalise('mobile', value);
    return v.length >= 7 ? `${v.slice(0, 3)}****${v.slice(-4)}` : '****';
  },
  idNumber(value: string): string {
    const v = normalise('id_number', value);
    return v.length >= 10 ? `${v.slice(0, 6)}********${v.slice(-4)}` : '********';
  },
  name(value: string): string {
    const chars = [...value];
    if (chars.length <= 1) return value;
    return chars[0] + '*'.repeat(chars.length - 1);
  },
  cardNumber(value: string): string {
    const v = value.replace(/\s/g, '');
    return v.length > 8 ? `${v.slice(0, 4)} **** **** ${v.slice(-4)}` : '****';
  },
};
