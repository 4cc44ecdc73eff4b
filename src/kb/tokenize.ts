import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict.js';
import { BANK_WORDS, STOP_WORDS, SYNONYMS } from './lexicon.js';

/**
 * Text → search terms. The same analysis runs over entries and queries, so a term means the same
 * thing on both sides:
 * 1. normalise: NFKC (full-width → half-width), lower case;
 * 2. segment with jieba (its own dictionary plus the bank's words, HMM off: an unknown run of
 *    characters splits into single characters rather than into guessed words, which match
 *    inconsistently between an entry and a query);
 * 3. map each word to its synonym group's first word;
 * 4. drop stop words and anything without a letter or a digit (punctuation, spaces).
 *
 * `grams` gives the character bigrams of each run of Chinese characters (a lone character stands
 * for itself): they still match when a customer mistypes a character or segmentation differs.
 */
export interface Lexicon {
  words: readonly string[];
  synonyms: readonly (readonly string[])[];
  stopWords: readonly string[];
}

export const BANK_LEXICON: Lexicon = { words: BANK_WORDS, synonyms: SYNONYMS, stopWords: STOP_WORDS };

/** No bank words, no synonyms, no stop words: plain jieba (the baseline). */
export const EMPTY_LEXICON: Lexicon = { words: [], synonyms: [], stopWords: [] };

/** Frequency given to the bank's words: high enough that jieba keeps them whole. */
const BANK_WORD_FREQ = 30_000;
const MEANINGFUL = /[\p{L}\p{N}]/u;
/** A UTF-16 unit of a Chinese character (the basic plane, or either half of a surrogate pair). */
const HAN_UNIT = /[\p{Script=Han}\uD800-\uDFFF]/u;

export function normalizeQuery(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

export class Tokenizer {
  private readonly jieba: Jieba;
  private readonly canonical = new Map<string, string>();
  private readonly stop: ReadonlySet<string>;

  constructor(readonly lexicon: Lexicon) {
    this.jieba = Jieba.withDict(dict);
    for (const group of lexicon.synonyms) {
      const [head] = group;
      if (head === undefined) continue;
      for (const word of group) {
        const key = normalizeQuery(word);
        const existing = this.canonical.get(key);
        if (existing !== undefined && existing !== normalizeQuery(head)) {
          throw new Error(`synonym "${word}" is in two groups ("${existing}" and "${head}")`);
        }
        this.canonical.set(key, normalizeQuery(head));
      }
    }
    const words = new Set<string>();
    for (const word of lexicon.words) words.add(normalizeQuery(word));
    for (const word of this.canonical.keys()) if ([...word].length > 1) words.add(word);
    if (words.size) this.jieba.loadDict(Buffer.from([...words].map((w) => `${w} ${BANK_WORD_FREQ}`).join('\n'), 'utf8'));
    this.stop = new Set(lexicon.stopWords.map(normalizeQuery));
  }

  /** The words jieba cuts the (normalised) text into, before synonyms and stop words. */
  segment(text: string): string[] {
    return this.jieba.cut(normalizeQuery(text), false);
  }

  /** Search terms of a text: segmented, mapped to synonym heads, stop words dropped. */
  terms(text: string): string[] {
    return this.analyse(text, false).terms;
  }

  /**
   * Terms and, with `withGrams`, the character bigrams of the text (see `grams`), from one
   * normalisation and one segmentation.
   */
  analyse(text: string, withGrams: boolean): { terms: string[]; grams: string[] } {
    const normalized = normalizeQuery(text);
    const terms: string[] = [];
    for (const raw of this.jieba.cut(normalized, false)) {
      const word = raw.trim();
      if (!word || !MEANINGFUL.test(word) || this.stop.has(word)) continue;
      const term = this.canonical.get(word) ?? word;
      if (!this.stop.has(term)) terms.push(term);
    }
    return { terms, grams: withGrams ? gramsOfNormalized(normalized) : [] };
  }

  /** The synonym head of a word (the word itself when it is in no group). */
  canonicalOf(word: string): string {
    const key = normalizeQuery(word);
    return this.canonical.get(key) ?? key;
  }
}

/**
 * Character bigrams of each run of Chinese characters; a run of one character gives that character.
 * Stop words stay in: the bigrams that span them (没到, 不了) still tell questions apart.
 */
export function grams(text: string): string[] {
  return gramsOfNormalized(normalizeQuery(text));
}

function gramsOfNormalized(text: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const han = i < text.length && HAN_UNIT.test(text[i]!);
    if (han && start < 0) start = i;
    if (!han && start >= 0) {
      pushGrams(text.slice(start, i), out);
      start = -1;
    }
  }
  return out;
}

function pushGrams(run: string, out: string[]): void {
  // Characters outside the basic plane are two UTF-16 units: split by code point then.
  const chars: ArrayLike<string> = /[\uD800-\uDFFF]/.test(run) ? Array.from(run) : run;
  if (chars.length === 1) out.push(chars[0]!);
  for (let i = 0; i + 1 < chars.length; i++) out.push(chars[i]! + chars[i + 1]!);
}
