import { parseXml, type XmlObject, type XmlValue } from '../crypto.js';

/**
 * WeCom's callback documents are flat: `<xml>` holding elements with one text or one CDATA value,
 * and lists holding `<Item>`s (SHAPES §13). This reads exactly that shape with a few indexOf calls,
 * about ten times faster than the general parser, and returns what `parseXml` returns for it
 * (text trimmed, CDATA verbatim, Items always a list). Anything else (a declaration, attributes,
 * entities, comments, carriage returns, self-closing or repeated elements, deeper nesting, unusual names, mixed text
 * and CDATA) goes to `parseXml`, which stays the authority: this is a fast path, not a second
 * dialect. The callback test checks the two agree on generated documents.
 */
export function readCallbackXml(text: string): XmlObject {
  return readFlat(text) ?? parseXml(text);
}

const NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const CDATA_OPEN = '<![CDATA[';
const WHITESPACE = /^[ \t\r\n]*$/;

const isSpace = (code: number) => code === 32 || code === 9 || code === 10 || code === 13;

/** The end of the whitespace run starting at `i`. */
function skipSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

/** Reads `<![CDATA[...]]>` or plain text up to `</name>`; returns the value and the index after the close tag. */
function readLeaf(text: string, i: number, name: string): { value: string; next: number } | undefined {
  const close = `</${name}>`;
  if (text.startsWith(CDATA_OPEN, i)) {
    const end = text.indexOf(']]>', i + CDATA_OPEN.length);
    if (end < 0 || !text.startsWith(close, end + 3)) return undefined;
    return { value: text.slice(i + CDATA_OPEN.length, end), next: end + 3 + close.length };
  }
  const end = text.indexOf('<', i);
  if (end < 0 || !text.startsWith(close, end)) return undefined;
  const raw = text.slice(i, end);
  if (raw.includes('&')) return undefined; // entities: parseXml's business
  return { value: raw.trim(), next: end + close.length };
}

/** The fast path alone: the document, or undefined when it is not the plain flat shape. */
export function readFlat(text: string): XmlObject | undefined {
  // XML turns CR LF and lone CR into LF before anything else; parseXml does that work.
  if (text.includes('\r')) return undefined;
  let i = skipSpace(text, 0);
  if (!text.startsWith('<xml>', i)) return undefined;
  i += 5;
  const out: XmlObject = {};
  let fields = 0;
  for (;;) {
    i = skipSpace(text, i);
    if (text.startsWith('</xml>', i)) {
      // Only whitespace may follow the root, and an empty root is parseXml's (it refuses one).
      return fields > 0 && WHITESPACE.test(text.slice(i + 6)) ? out : undefined;
    }
    if (text.charCodeAt(i) !== 60 /* < */) return undefined;
    const gt = text.indexOf('>', i + 1);
    if (gt < 0) return undefined;
    const name = text.slice(i + 1, gt);
    // Item at the top level becomes a list in parseXml; names shared with Object.prototype are refused there.
    if (!NAME.test(name) || name === 'Item' || name in Object.prototype || Object.hasOwn(out, name)) return undefined;
    i = gt + 1;
    let value: XmlValue;
    const afterSpace = skipSpace(text, i);
    if (text.startsWith('<Item>', afterSpace)) {
      const items: string[] = [];
      i = afterSpace;
      while (text.startsWith('<Item>', i)) {
        const item = readLeaf(text, i + 6, 'Item');
        if (!item) return undefined;
        items.push(item.value);
        i = skipSpace(text, item.next);
      }
      if (!text.startsWith(`</${name}>`, i)) return undefined;
      i += name.length + 3;
      value = { Item: items };
    } else {
      const leaf = readLeaf(text, i, name);
      if (!leaf) return undefined;
      value = leaf.value;
      i = leaf.next;
    }
    out[name] = value;
    fields++;
  }
}
