import { z } from 'zod';
import catalogue from '../../data/bank/products.json' with { type: 'json' };
import type { MaterialKind } from '../platform/db/schema.js';
import { invalid, type FieldIssue } from '../platform/errors.js';

/**
 * WeCom attachment shapes (SHAPES.md §7, shared by send_welcome_msg, add_msg_template and the
 * sidebar): `{"msgtype": image|link|miniprogram|file, <msgtype>: {...}}`. The API takes the inner
 * object (the material's kind names the msgtype) and stores the whole attachment, ready to send.
 * Byte limits are WeCom's, counted in UTF-8.
 */
const fitsBytes = (max: number) => (value: string) => Buffer.byteLength(value, 'utf8') <= max;
const shortText = (max: number) => z.string().trim().min(1).refine(fitsBytes(max), `at most ${max} bytes (UTF-8)`);
const httpUrl = z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).refine(fitsBytes(2048), 'at most 2048 bytes');
const mediaId = z.string().trim().min(1).max(256);

const imageInput = z
  .strictObject({ media_id: mediaId.optional(), pic_url: httpUrl.optional() })
  .refine((v) => (v.media_id === undefined) !== (v.pic_url === undefined), { message: 'give either media_id or pic_url', path: ['media_id'] });
const linkInput = z.strictObject({ title: shortText(128), desc: shortText(512).optional(), url: httpUrl, picurl: httpUrl.optional() });
const miniprogramInput = z.strictObject({
  title: shortText(64),
  pic_media_id: mediaId,
  appid: z.string().regex(/^wx[0-9A-Za-z]{6,30}$/, 'a mini-program appid (wx…)'),
  page: z.string().trim().min(1).max(512),
});
const fileInput = z.strictObject({ media_id: mediaId });

export const attachmentInputs = { image: imageInput, link: linkInput, miniprogram: miniprogramInput, file: fileInput } as const;
export type AttachmentKind = keyof typeof attachmentInputs;
export const ATTACHMENT_KINDS = Object.keys(attachmentInputs) as AttachmentKind[];

export type LinkAttachment = { msgtype: 'link'; link: z.output<typeof linkInput> };
export type WecomAttachment =
  | { msgtype: 'image'; image: { media_id: string } | { pic_url: string } }
  | LinkAttachment
  | { msgtype: 'miniprogram'; miniprogram: z.output<typeof miniprogramInput> }
  | { msgtype: 'file'; file: z.output<typeof fileInput> };

/** The stored attachment, for the OpenAPI document and for reading rows back. */
export const wecomAttachmentSchema = z.discriminatedUnion('msgtype', [
  z.object({ msgtype: z.literal('image'), image: z.union([z.object({ media_id: z.string() }), z.object({ pic_url: z.string() })]) }),
  z.object({ msgtype: z.literal('link'), link: z.object({ title: z.string(), desc: z.string().optional(), url: z.string(), picurl: z.string().optional() }) }),
  z.object({ msgtype: z.literal('miniprogram'), miniprogram: z.object({ title: z.string(), pic_media_id: z.string(), appid: z.string(), page: z.string() }) }),
  z.object({ msgtype: z.literal('file'), file: z.object({ media_id: z.string() }) }),
]);

export const isAttachmentKind = (kind: MaterialKind): kind is AttachmentKind => kind in attachmentInputs;

/** Wraps an already validated inner object as the WeCom attachment of its kind. */
export function wrapAttachment(kind: AttachmentKind, inner: Record<string, unknown>): WecomAttachment {
  if (kind === 'image') {
    const { media_id, pic_url } = inner as { media_id?: string; pic_url?: string };
    return { msgtype: 'image', image: media_id !== undefined ? { media_id } : { pic_url: pic_url! } };
  }
  return { msgtype: kind, [kind]: inner } as WecomAttachment;
}

/** Validates a raw inner object for a kind; issues name `body.attachment.<field>`. */
export function parseAttachment(kind: AttachmentKind, value: unknown): WecomAttachment {
  const result = attachmentInputs[kind].safeParse(value);
  if (!result.success) {
    const issues: FieldIssue[] = result.error.issues.map((i) => ({ path: ['body', 'attachment', ...i.path.map(String)].join('.'), message: i.message }));
    throw invalid('附件格式不正确', issues);
  }
  return wrapAttachment(kind, result.data as Record<string, unknown>);
}

/** What a customer reads on the attachment itself (checked by the compliance gate with the text). */
export function visibleText(attachment: WecomAttachment | null): string {
  if (!attachment) return '';
  if (attachment.msgtype === 'link') return [attachment.link.title, attachment.link.desc].filter(Boolean).join('\n');
  if (attachment.msgtype === 'miniprogram') return attachment.miniprogram.title;
  return '';
}

interface CatalogueEntry { id: string; name: string; type: string; selling_points: string[] }
const PRODUCTS: ReadonlyMap<string, CatalogueEntry> = new Map((catalogue as readonly CatalogueEntry[]).map((p) => [p.id, p]));

export const isCatalogueProduct = (id: string) => PRODUCTS.has(id);
export const productName = (id: string) => PRODUCTS.get(id)?.name;
export const productIdSchema = z.string().trim().min(1).max(60).refine(isCatalogueProduct, 'unknown product id');

function cutToBytes(text: string, max: number): string {
  if (fitsBytes(max)(text)) return text;
  let cut = text;
  while (!fitsBytes(max - 3)(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/**
 * A product card: a WeCom link to the product's page, titled with the catalogue name and described
 * by its selling points. Rates are left out on purpose: a rate shown on a card needs the sentences
 * the product's compliance notes require, which belong in the message text the gate completes.
 */
export function productCardAttachment(productId: string, publicUrl: string): LinkAttachment {
  const product = PRODUCTS.get(productId);
  if (!product) throw invalid('产品不存在', [{ path: 'body.productIds.0', message: 'unknown product id' }]);
  const base = publicUrl.replace(/\/+$/, '');
  return {
    msgtype: 'link',
    link: {
      title: cutToBytes(product.name, 128),
      desc: cutToBytes(product.selling_points.join('；'), 512),
      url: `${base}/p/${encodeURIComponent(product.id)}`,
    },
  };
}
