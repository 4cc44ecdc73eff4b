import { hash } from 'node:crypto';
import { CallbackRejected, type XmlObject, type XmlValue } from '../crypto.js';

/**
 * The de-duplication key of a decrypted callback (REFERENCE §1).
 *
 * - Messages: `msg:<AgentID>:<MsgId>`. MsgId is WeCom's own 64-bit message id; the agent is added
 *   because one corp URL can serve several apps.
 * - Events: `evt:<Event>:<ChangeType>:<CreateTime>:<digest>`, where the digest is a SHA-256 over
 *   every field that tells one real event from another. External-contact events all come from
 *   `sys` with a one-second CreateTime, so the sender and time alone would merge two customers
 *   added in the same second; the digest adds the member, the customer, the channel state, the
 *   group and its member change (list and versions), the tag, the kf token, and so on.
 *
 * A replay (WeCom re-sends the same plaintext, re-encrypted with a new nonce and timestamp) gives
 * the same fields and so the same key. Two events that agree on every field below are the same
 * fact delivered twice and are meant to merge. Fields read only by processing (WelcomeCode,
 * Content) are left out: they add nothing to identity, and the key is shown in the console.
 * The readable prefix is bounded and the digest fixed-length, so the key always fits the index.
 */
const IDENTITY_FIELDS = [
  'ToUserName',
  'FromUserName',
  'CreateTime',
  'MsgType',
  'MsgId',
  'Event',
  'ChangeType',
  'UserID',
  'ExternalUserID',
  'State',
  'Source',
  'FailReason',
  'ChatId',
  'UpdateDetail',
  'JoinScene',
  'QuitScene',
  'MemChangeCnt',
  'MemChangeList',
  'LastMemVer',
  'CurMemVer',
  'Id',
  'TagType',
  'StrategyId',
  'Token',
  'OpenKfId',
  'EventKey',
  'AgentID',
  // Third-party and 代开发 suites name the header fields differently (SHAPES §13).
  'InfoType',
  'TimeStamp',
  'SuiteId',
  'AuthCorpId',
] as const;

/** A leaf as a string, an `<Item>` list as its items, anything else as parsed. */
function normalise(value: XmlValue): unknown {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value) && Array.isArray(value.Item)) return value.Item;
  return value;
}

const text = (value: XmlValue | undefined): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const SAFE = /^[A-Za-z0-9_.-]{1,64}$/;
const AGENT = /^\d{1,20}$/;
const segment = (value: string | undefined) => (value ?? '-').replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);

/** The event name as stored in the inbox: `Event` for events (or a suite's `InfoType`), else `MsgType`. */
export function eventNameOf(payload: XmlObject): string | undefined {
  return text(payload.Event) ?? text(payload.InfoType) ?? text(payload.MsgType);
}

export function dedupeKeyOf(payload: XmlObject): string {
  const msgId = text(payload.MsgId);
  const agentId = text(payload.AgentID);
  // Verbatim only when nothing would be lost in the key; otherwise the digest below covers MsgId.
  if (msgId && SAFE.test(msgId) && (agentId === undefined || AGENT.test(agentId))) return `msg:${agentId ?? '-'}:${msgId}`;
  const event = eventNameOf(payload);
  const createTime = text(payload.CreateTime) ?? text(payload.TimeStamp);
  // Without a name and a time this is not a WeCom event, whatever decrypted it.
  if (!event || !createTime) throw new CallbackRejected('malformed');
  const identity: [string, unknown][] = [];
  for (const field of IDENTITY_FIELDS) {
    const value = payload[field];
    if (value !== undefined) identity.push([field, normalise(value)]);
  }
  // crypto.hash: the same digest as createHash().update().digest(), without a Hash object per call.
  const digest = hash('sha256', JSON.stringify(identity), 'hex').slice(0, 40);
  return `evt:${segment(event)}:${segment(text(payload.ChangeType))}:${segment(createTime)}:${digest}`;
}
