import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { decrypt, encrypt, getSignature } from '@wecom/crypto';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';

/**
 * WeCom callback crypto (REFERENCE §1): sha1 signatures compared in constant time, AES-256-CBC
 * through @wecom/crypto, and the receive id checked against the corp id, because decrypting with a
 * wrong key does not throw.
 */
export class CallbackRejected extends Error {
  constructor(readonly reason: 'bad_signature' | 'bad_key' | 'wrong_receiver' | 'malformed' | 'stale') {
    super(`callback rejected: ${reason}`);
    this.name = 'CallbackRejected';
  }
}

export function signatureOf(token: string, timestamp: string, nonce: string, encrypted: string): string {
  return getSignature(token, timestamp, nonce, encrypted);
}

export function signatureMatches(expected: string, given: string | undefined): boolean {
  if (!given || given.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(expected), Buffer.from(given.toLowerCase()));
}

export interface CallbackSecrets {
  corpId: string;
  token: string;
  aesKey: string;
}

/** Verifies and decrypts one encrypted field (echostr or Encrypt); returns the plaintext. */
export function openEnvelope(secrets: CallbackSecrets, query: { msg_signature?: string; timestamp?: string; nonce?: string }, encrypted: string): string {
  const { msg_signature: signature, timestamp = '', nonce = '' } = query;
  if (!encrypted || !signatureMatches(signatureOf(secrets.token, timestamp, nonce, encrypted), signature)) throw new CallbackRejected('bad_signature');
  let opened: { message: string; id: string };
  try {
    opened = decrypt(secrets.aesKey, encrypted);
  } catch {
    throw new CallbackRejected('bad_key');
  }
  // A wrong key decrypts to garbage instead of throwing: the receive id is the real check.
  if (opened.id !== secrets.corpId) throw new CallbackRejected(opened.id ? 'wrong_receiver' : 'bad_key');
  return opened.message;
}

/** Encrypts and signs a plaintext as WeCom does when it pushes an event (used by the sandbox and tests). */
export function sealEnvelope(secrets: CallbackSecrets, plaintext: string, options: { timestamp?: string; nonce?: string; agentId?: string | number } = {}) {
  const timestamp = options.timestamp ?? String(Math.floor(Date.now() / 1000));
  const nonce = options.nonce ?? String(randomBytes(5).readUIntBE(0, 5));
  const encrypted = encrypt(secrets.aesKey, plaintext, secrets.corpId);
  const signature = signatureOf(secrets.token, timestamp, nonce, encrypted);
  const body = `<xml><ToUserName><![CDATA[${secrets.corpId}]]></ToUserName><AgentID><![CDATA[${options.agentId ?? ''}]]></AgentID><Encrypt><![CDATA[${encrypted}]]></Encrypt></xml>`;
  return { query: { msg_signature: signature, timestamp, nonce }, body, encrypted };
}

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false, // keep ids such as MsgId (64-bit) and ExternalUserID exactly as sent
  trimValues: true,
  isArray: (name) => name === 'Item',
  processEntities: false,
  htmlEntities: false,
});

export type XmlValue = string | XmlObject | XmlValue[];
export interface XmlObject {
  [key: string]: XmlValue;
}

/** Parses a WeCom XML document and returns the children of its <xml> root. */
export function parseXml(text: string): XmlObject {
  if (!text || text.length > 1_000_000) throw new CallbackRejected('malformed');
  let doc: unknown;
  try {
    doc = parser.parse(text, true);
  } catch {
    throw new CallbackRejected('malformed');
  }
  const root = (doc as { xml?: unknown }).xml;
  if (!root || typeof root !== 'object') throw new CallbackRejected('malformed');
  return root as XmlObject;
}

const builder = new XMLBuilder({ cdataPropName: '__cdata', format: false, suppressEmptyNode: false });

/** Builds `<xml>` from a flat object: strings as CDATA, numbers bare, arrays of strings as <Item>s. */
export function buildXml(fields: Record<string, string | number | string[] | undefined>): string {
  const node: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) node[key] = { Item: value.map((v) => ({ __cdata: v })) };
    else if (typeof value === 'number') node[key] = value;
    else node[key] = { __cdata: value };
  }
  return builder.build({ xml: node }) as string;
}

export const str = (value: XmlValue | undefined): string | undefined => (typeof value === 'string' ? value : undefined);

/** JS-SDK signature (REFERENCE §5): sha1 of the four fields in that order, the URL without its fragment. */
export function jsApiSignature(ticket: string, nonceStr: string, timestamp: string | number, url: string): string {
  const plain = `jsapi_ticket=${ticket}&noncestr=${nonceStr}&timestamp=${timestamp}&url=${url.split('#')[0]}`;
  return createHash('sha1').update(plain).digest('hex');
}
