/**
 * Callback events as the product understands them, parsed from WeCom's decrypted XML (SHAPES §13).
 * The inbox parses; the handlers in sync/ apply them.
 */
export type ContactChange =
  | { kind: 'contact'; changeType: 'add_external_contact' | 'add_half_external_contact'; userid: string; externalUserid: string; state?: string; welcomeCode?: string }
  | { kind: 'contact'; changeType: 'edit_external_contact'; userid: string; externalUserid: string }
  | { kind: 'contact'; changeType: 'del_external_contact'; userid: string; externalUserid: string; source?: string }
  | { kind: 'contact'; changeType: 'del_follow_user'; userid: string; externalUserid: string }
  | { kind: 'contact'; changeType: 'transfer_fail'; userid: string; externalUserid: string; failReason: string };

export type ChatChange = {
  kind: 'chat';
  changeType: 'create' | 'update' | 'dismiss';
  chatId: string;
  updateDetail?: string;
  joinScene?: number;
  quitScene?: number;
  memberIds: string[];
  lastMemVer?: string;
  curMemVer?: string;
};

export type TagChange = {
  kind: 'tag';
  changeType: 'create' | 'update' | 'delete' | 'shuffle';
  id: string;
  tagType?: 'tag' | 'tag_group';
  strategyId?: string;
};

export type KfEvent = { kind: 'kf'; token: string; openKfId: string };

export type AppMessage = { kind: 'message'; msgType: string; fromUserid: string; content?: string; msgId: string; agentId?: string };

export type CallbackEvent = (ContactChange | ChatChange | TagChange | KfEvent | AppMessage) & {
  corpId: string;
  /** CreateTime, in seconds. */
  createTime: number;
  /** The inbox row this came from. */
  inboxId: string;
};

/** What the inbox calls for each kind of event; implemented by the sync module. */
export interface CallbackHandlers {
  contact(event: Extract<CallbackEvent, { kind: 'contact' }>): Promise<void>;
  chat(event: Extract<CallbackEvent, { kind: 'chat' }>): Promise<void>;
  tag(event: Extract<CallbackEvent, { kind: 'tag' }>): Promise<void>;
  kf(event: Extract<CallbackEvent, { kind: 'kf' }>): Promise<void>;
  message(event: Extract<CallbackEvent, { kind: 'message' }>): Promise<void>;
}
