import type { JsonBody } from '../core.js';
import { WeComError } from '../errors.js';
import { bytes } from './params.js';

/**
 * The text + attachments body shared by send_welcome_msg and add_msg_template (SHAPES §7, §8.1):
 * text ≤ 4000 bytes, ≤ 9 attachments of image, link, miniprogram, video or file.
 */
const ATTACHMENT_TYPES = new Set(['image', 'link', 'miniprogram', 'video', 'file']);

export interface CustomerContent {
  text?: { content: string };
  attachments: JsonBody[];
}

function checkAttachment(a: JsonBody): void {
  const type = a.msgtype;
  if (typeof type !== 'string' || !ATTACHMENT_TYPES.has(type)) throw new WeComError(41065);
  const body = a[type];
  if (!body || typeof body !== 'object') throw new WeComError(41065, `missing ${type} body`);
  const b = body as Record<string, unknown>;
  const tooLong = (field: string, max: number) => typeof b[field] === 'string' && bytes(b[field] as string) > max;
  if (type === 'image' && !b.media_id && !b.pic_url) throw new WeComError(40058, 'image needs media_id or pic_url');
  if ((type === 'video' || type === 'file') && !b.media_id) throw new WeComError(40058, `${type} needs media_id`);
  if (type === 'link') {
    if (!b.title || !b.url) throw new WeComError(40058, 'link needs title and url');
    if (tooLong('title', 128) || tooLong('desc', 512) || tooLong('url', 2048)) throw new WeComError(45002);
  }
  if (type === 'miniprogram') {
    if (!b.title || !b.appid || !b.page || !b.pic_media_id) throw new WeComError(40058, 'miniprogram needs title, pic_media_id, appid and page');
    if (tooLong('title', 64)) throw new WeComError(45002);
  }
}

export function customerContent(body: JsonBody): CustomerContent {
  let text: { content: string } | undefined;
  if (body.text !== undefined) {
    const content = (body.text as { content?: unknown } | null)?.content;
    if (typeof content !== 'string') throw new WeComError(40058, 'invalid text');
    if (bytes(content) > 4000) throw new WeComError(45002);
    if (content) text = { content };
  }
  const raw = body.attachments ?? [];
  if (!Array.isArray(raw)) throw new WeComError(40058, 'invalid attachments');
  if (raw.length > 9) throw new WeComError(40058, 'at most 9 attachments');
  const attachments = raw as JsonBody[];
  for (const a of attachments) {
    if (!a || typeof a !== 'object') throw new WeComError(41065);
    checkAttachment(a);
  }
  if (!text && !attachments.length) throw new WeComError(44004);
  return { ...(text ? { text } : {}), attachments };
}

/** How a customer message is recorded in the world: msgtype of its first part and the whole content. */
export function recordedContent(c: CustomerContent): { msgtype: string; content: Record<string, unknown> } {
  return { msgtype: c.text ? 'text' : String(c.attachments[0]?.msgtype ?? 'text'), content: { ...(c.text ? { text: c.text } : {}), attachments: c.attachments } };
}
