import type { XmlObject, XmlValue } from '../crypto.js';
import type { CallbackEvent, ChatChange, ContactChange, TagChange } from '../events.js';

/**
 * A stored callback payload (the decrypted `<xml>` as parsed) turned into the typed event the
 * handlers take (SHAPES §13). Returns null for anything the product does not act on, or that lacks
 * a field the event cannot do without; the inbox then marks the row `ignored`.
 */
type Meta = { corpId: string; inboxId: string };
type Body<T> = T extends unknown ? Omit<T, 'corpId' | 'createTime' | 'inboxId'> : never;

/** A non-empty text value. Empty elements (`<State></State>`) count as absent. */
const text = (value: XmlValue | undefined): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

const integer = (value: XmlValue | undefined): number | undefined => {
  const raw = text(value);
  if (raw === undefined || !/^-?\d+$/.test(raw)) return undefined;
  return Number(raw);
};

const items = (value: XmlValue | undefined): string[] => {
  if (value === undefined || typeof value === 'string' || Array.isArray(value)) return [];
  const list = value.Item;
  if (typeof list === 'string') return [list];
  return Array.isArray(list) ? list.filter((v): v is string => typeof v === 'string' && v !== '') : [];
};

/** Copies only the optional fields that are present, so events compare cleanly. */
function defined<T extends Record<string, unknown>>(fields: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) out[key] = value;
  return out as { [K in keyof T]?: Exclude<T[K], undefined> };
}

function contact(x: XmlObject): Body<ContactChange> | null {
  const userid = text(x.UserID);
  const externalUserid = text(x.ExternalUserID);
  if (!userid || !externalUserid) return null;
  const changeType = text(x.ChangeType);
  switch (changeType) {
    case 'add_external_contact':
    case 'add_half_external_contact':
      return { kind: 'contact', changeType, userid, externalUserid, ...defined({ state: text(x.State), welcomeCode: text(x.WelcomeCode) }) };
    case 'edit_external_contact':
    case 'del_follow_user':
      return { kind: 'contact', changeType, userid, externalUserid };
    case 'del_external_contact':
      return { kind: 'contact', changeType, userid, externalUserid, ...defined({ source: text(x.Source) }) };
    case 'transfer_fail':
      // The doc gives customer_refused | customer_limit_exceed; a missing reason is still a failed transfer.
      return { kind: 'contact', changeType, userid, externalUserid, failReason: text(x.FailReason) ?? 'unknown' };
    default:
      return null;
  }
}

function chat(x: XmlObject): Body<ChatChange> | null {
  const chatId = text(x.ChatId);
  const changeType = text(x.ChangeType);
  if (!chatId || (changeType !== 'create' && changeType !== 'update' && changeType !== 'dismiss')) return null;
  return {
    kind: 'chat',
    changeType,
    chatId,
    memberIds: items(x.MemChangeList),
    ...defined({
      updateDetail: text(x.UpdateDetail),
      joinScene: integer(x.JoinScene),
      quitScene: integer(x.QuitScene),
      lastMemVer: text(x.LastMemVer),
      curMemVer: text(x.CurMemVer),
    }),
  };
}

function tag(x: XmlObject): Body<TagChange> | null {
  const changeType = text(x.ChangeType);
  if (changeType !== 'create' && changeType !== 'update' && changeType !== 'delete' && changeType !== 'shuffle') return null;
  // `shuffle` with an empty Id means every group was reordered; the others name a tag or group.
  const id = text(x.Id) ?? '';
  if (!id && changeType !== 'shuffle') return null;
  const tagType = text(x.TagType);
  return {
    kind: 'tag',
    changeType,
    id,
    ...defined({ tagType: tagType === 'tag' || tagType === 'tag_group' ? tagType : undefined, strategyId: text(x.StrategyId) }),
  };
}

function body(x: XmlObject): Body<CallbackEvent> | null {
  const msgType = text(x.MsgType);
  if (msgType && msgType !== 'event') {
    const msgId = text(x.MsgId);
    const fromUserid = text(x.FromUserName);
    if (!msgId || !fromUserid) return null;
    return { kind: 'message', msgType, fromUserid, msgId, ...defined({ content: text(x.Content), agentId: text(x.AgentID) }) };
  }
  switch (text(x.Event) ?? text(x.InfoType)) {
    case 'change_external_contact':
      return contact(x);
    case 'change_external_chat':
      return chat(x);
    case 'change_external_tag':
      return tag(x);
    case 'kf_msg_or_event': {
      const token = text(x.Token);
      const openKfId = text(x.OpenKfId);
      return token && openKfId ? { kind: 'kf', token, openKfId } : null;
    }
    default:
      return null;
  }
}

export function parseCallbackEvent(payload: XmlObject, meta: Meta): CallbackEvent | null {
  const parsed = body(payload);
  if (!parsed) return null;
  const createTime = integer(payload.CreateTime) ?? integer(payload.TimeStamp) ?? 0;
  return { ...parsed, corpId: meta.corpId, createTime, inboxId: meta.inboxId };
}

/** Why a payload was not turned into an event, for the inbox row's `error`. */
export function describeUnhandled(payload: XmlObject): string {
  const name = text(payload.Event) ?? text(payload.InfoType) ?? text(payload.MsgType) ?? '(none)';
  const change = text(payload.ChangeType);
  return `not handled: ${name}${change ? `/${change}` : ''}`.slice(0, 200);
}
