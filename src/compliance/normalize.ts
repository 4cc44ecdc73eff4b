import { TRADITIONAL_TO_SIMPLIFIED } from './hanzi.js';

/**
 * Normalisation before matching. The message is reduced to its letters and digits:
 * - full-width → half-width and other compatibility forms (NFKC, per character: ｂｂ → bb, ㈱ → (株));
 * - case-folded (BB → bb);
 * - traditional and variant characters → simplified for the characters the rules use (保證 → 保证);
 * - everything that is not a letter or a digit (spaces, punctuation, symbols, emoji, zero-width
 *   characters, combining marks) is dropped, so 保 本, 保-本, 保*本 and 保\u200b本 all read 保本.
 *
 * What was dropped is not forgotten: `gap[i]` says how strong a boundary preceded character i
 * (a phrase may run across a space, a comma or a line break — chat wraps lines — but never across
 * 。！？, so 参保。本产品 is not 保本), and `quoted[i]` says
 * whether it sits inside quotation marks. `start[i]`/`end[i]` give the UTF-16 range in the
 * ORIGINAL text that produced character i, so findings point at what the author wrote.
 */
export const GAP = { none: 0, soft: 1, clause: 2, line: 3, sentence: 4 } as const;

export interface NormalizedText {
  original: string;
  text: string;
  start: number[];
  end: number[];
  gap: number[];
  quoted: boolean[];
}

const SENTENCE_ENDS = new Set(['。', '!', '?']);
const LINE_ENDS = new Set(['\n', '\r']);
const CLAUSE_ENDS = new Set([',', ';', ':']);
const OPEN_QUOTES = new Set(['“', '「', '『', '‘', '〝']);
const CLOSE_QUOTES = new Set(['”', '」', '』', '’', '〞']);
const KEEP = /^[\p{L}\p{N}]$/u;

/** One input character → its folded form (possibly several characters, possibly none). */
export function foldChar(ch: string): string {
  let folded = '';
  for (const c of ch.normalize('NFKC').toLowerCase()) folded += TRADITIONAL_TO_SIMPLIFIED.get(c) ?? c;
  return folded;
}

export function normalizeText(original: string): NormalizedText {
  const out: string[] = [];
  const start: number[] = [];
  const end: number[] = [];
  const gap: number[] = [];
  const quoted: boolean[] = [];
  let pending: number = GAP.none;
  let depth = 0;
  let asciiQuote = false;
  let at = 0;
  for (const ch of original) {
    const from = at;
    at += ch.length;
    for (const c of foldChar(ch)) {
      if (KEEP.test(c)) {
        // A character may fold into several (NFKC); each keeps the whole original range.
        for (let k = 0; k < c.length; k++) {
          out.push(c[k]!);
          start.push(from);
          end.push(at);
          gap.push(k === 0 ? pending : GAP.none);
          quoted.push(depth > 0 || asciiQuote);
        }
        pending = GAP.none;
        continue;
      }
      const level = SENTENCE_ENDS.has(c) ? GAP.sentence : LINE_ENDS.has(c) ? GAP.line : CLAUSE_ENDS.has(c) ? GAP.clause : GAP.soft;
      pending = Math.max(pending, level);
      if (OPEN_QUOTES.has(c)) depth++;
      else if (CLOSE_QUOTES.has(c)) depth = Math.max(0, depth - 1);
      else if (c === '"') asciiQuote = !asciiQuote;
      else if (c === '\n') {
        // An unclosed quotation mark does not quote the rest of the message.
        depth = 0;
        asciiQuote = false;
      }
    }
  }
  return { original, text: out.join(''), start, end, gap, quoted };
}

/** The normalized form of a rule pattern or cue (its letters and digits, folded). */
export function normalizePattern(pattern: string): string {
  return normalizeText(pattern).text;
}

/** The strongest boundary strictly inside [from, to) — i.e. before characters from+1 … to-1. */
export function strongestGapWithin(norm: NormalizedText, from: number, to: number): number {
  let strongest: number = GAP.none;
  for (let k = from + 1; k < to; k++) strongest = Math.max(strongest, norm.gap[k] ?? GAP.none);
  return strongest;
}

/** Every occurrence of `needle` (already normalized) that does not cross a sentence end. */
export function occurrences(norm: NormalizedText, needle: string): Array<[number, number]> {
  const found: Array<[number, number]> = [];
  if (!needle) return found;
  for (let i = norm.text.indexOf(needle); i !== -1; i = norm.text.indexOf(needle, i + 1)) {
    if (strongestGapWithin(norm, i, i + needle.length) < GAP.sentence) found.push([i, i + needle.length]);
  }
  return found;
}

/** The original-text range of normalized characters [from, to). */
export function originalRange(norm: NormalizedText, from: number, to: number): { start: number; end: number } {
  return { start: norm.start[from] ?? 0, end: norm.end[to - 1] ?? 0 };
}

/** For each normalized character, the number of the unit it belongs to (a unit ends at a boundary ≥ level). */
export function unitIds(norm: NormalizedText, level: number): number[] {
  let id = 0;
  return norm.gap.map((gap, i) => (i > 0 && gap >= level ? ++id : id));
}
