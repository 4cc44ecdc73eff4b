import { Bm25Index } from './bm25.js';
import { detectHandoff, type HandoffTopic } from './handoff.js';
import { BANK_LEXICON, EMPTY_LEXICON, Tokenizer } from './tokenize.js';

/**
 * The in-memory search index over the active knowledge-base entries. Built from the entries in
 * one pass (about a second for 5,000 entries) and replaced whole when an entry changes; a search
 * is synchronous and touches only the postings of the query's terms.
 *
 * Fields (BM25F): the question, the alternative questions (weighted higher: they are phrased the
 * way customers ask), the answer (weighted low: it shares vocabulary with neighbouring topics),
 * and the character bigrams of the questions' meaningful words (weighted low: they catch typos and
 * words jieba segments differently). Scores are divided by what the query would score against an entry that
 * holds each of its terms once in its question and once in its alternative questions, and capped
 * at 1, so 1 means "every word of the query is in the entry's questions".
 */
export interface KbSearchable {
  id: string;
  question: string;
  altQuestions: readonly string[];
  answer: string;
  handoff: boolean;
}

export interface KbHit {
  id: string;
  /** 0–1, see above. */
  score: number;
}

export type HandoffReason = { source: 'topic'; topic: HandoffTopic; match: string } | { source: 'entry'; id: string };

export interface KbSearchResult {
  hits: KbHit[];
  /** Route the conversation to a person: the query raises a handoff topic or its best answer is a handoff entry. */
  handoff: boolean;
  handoffReason: HandoffReason | null;
}

export interface SearchOptions {
  /** How many hits (default 3). */
  topK?: number;
}

export interface IndexConfig {
  name: string;
  tokenizer: () => Tokenizer;
  k1: number;
  weights: { question: number; alt: number; answer: number; grams: number };
  b: { question: number; alt: number; answer: number; grams: number };
  /** Detect handoff topics in the query (the baseline does not). */
  detectTopics: boolean;
}

/** A handoff entry at the top counts only when it matches at least this well. */
export const ENTRY_HANDOFF_MIN_SCORE = 0.3;
export const DEFAULT_TOP_K = 3;
const GRAM = '\u0001';

let bankTokenizer: Tokenizer | undefined;
let plainTokenizer: Tokenizer | undefined;

/** The product's search: bank dictionary, synonyms, stop words, field weights, bigrams, handoff topics. */
export const PRODUCT_CONFIG: IndexConfig = {
  name: 'product',
  tokenizer: () => (bankTokenizer ??= new Tokenizer(BANK_LEXICON)),
  k1: 1.2,
  weights: { question: 1, alt: 1.3, answer: 0.25, grams: 0.35 },
  b: { question: 0.5, alt: 0.5, answer: 0.75, grams: 0.5 },
  detectTopics: true,
};

/**
 * The baseline it is measured against: the same BM25, over plain jieba words (its own dictionary
 * only: no bank words, synonyms or stop words), question, alternative questions and answer
 * weighted equally, no bigrams; handoff only from a matched handoff entry.
 */
export const BASELINE_CONFIG: IndexConfig = {
  name: 'baseline',
  tokenizer: () => (plainTokenizer ??= new Tokenizer(EMPTY_LEXICON)),
  k1: 1.2,
  weights: { question: 1, alt: 1, answer: 1, grams: 0 },
  b: { question: 0.75, alt: 0.75, answer: 0.75, grams: 0.75 },
  detectTopics: false,
};

export class KbIndex {
  private readonly ids: string[];
  private readonly handoffs: boolean[];
  private readonly byId: Map<string, number>;
  private readonly bm25: Bm25Index;
  private readonly tokenizer: Tokenizer;
  private readonly refWord: number;
  private readonly refGram: number;
  /** Each entry's analysed fields by its text, for the next index to reuse. */
  private readonly analysed = new Map<string, readonly string[][]>();

  /**
   * `reuse` is the previous index's analysis: entries whose text is unchanged are not segmented
   * again, so re-indexing after one edit costs the postings build, not the segmentation of every
   * entry. It must come from an index with the same configuration.
   */
  constructor(entries: readonly KbSearchable[], readonly config: IndexConfig = PRODUCT_CONFIG, reuse?: KbIndex) {
    this.tokenizer = config.tokenizer();
    this.ids = entries.map((e) => e.id);
    this.handoffs = entries.map((e) => e.handoff);
    this.byId = new Map(this.ids.map((id, i) => [id, i]));
    const previous = reuse?.config === config ? reuse.analysed : undefined;
    const docs = entries.map((e) => {
      const key = analysisKey(e);
      const fields = previous?.get(key) ?? this.analyse(e);
      this.analysed.set(key, fields);
      return fields;
    });
    const { weights: w, b } = config;
    this.bm25 = new Bm25Index(docs, {
      k1: config.k1,
      fields: [
        { name: 'question', weight: w.question, b: b.question },
        { name: 'alt', weight: w.alt, b: b.alt },
        { name: 'answer', weight: w.answer, b: b.answer },
        { name: 'grams', weight: w.grams, b: b.grams },
      ],
    });
    this.refWord = w.question + w.alt;
    this.refGram = w.grams;
  }

  private analyse(e: KbSearchable): string[][] {
    const withGrams = this.config.weights.grams > 0;
    const question = this.tokenizer.analyse(e.question, withGrams);
    const alts = e.altQuestions.map((q) => this.tokenizer.analyse(q, withGrams));
    return [
      question.terms,
      alts.flatMap((a) => a.terms),
      this.tokenizer.terms(e.answer),
      [question, ...alts].flatMap((a) => a.grams.map((g) => GRAM + g)),
    ];
  }

  get size(): number {
    return this.ids.length;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** The query's search terms (word terms, then bigram terms when the index uses them). */
  queryTerms(query: string): { words: string[]; grams: string[] } {
    const { terms, grams } = this.tokenizer.analyse(query, this.config.weights.grams > 0);
    return { words: terms, grams: grams.map((g) => GRAM + g) };
  }

  search(query: string, options: SearchOptions = {}): KbSearchResult {
    const topK = options.topK ?? DEFAULT_TOP_K;
    const { words, grams: gramTerms } = this.queryTerms(query);
    const terms = gramTerms.length ? words.concat(gramTerms) : words;
    const found = this.bm25.search(terms, topK);
    const reference = this.reference(words, gramTerms);
    const hits = found.map((f) => ({ id: this.ids[f.doc]!, score: reference > 0 ? round(Math.min(1, f.score / reference)) : 0 }));

    let handoffReason: HandoffReason | null = null;
    const topic = this.config.detectTopics ? detectHandoff(query) : null;
    if (topic) handoffReason = { source: 'topic', ...topic };
    else if (found[0] && this.handoffs[found[0].doc] && hits[0]!.score >= ENTRY_HANDOFF_MIN_SCORE) handoffReason = { source: 'entry', id: hits[0]!.id };
    return { hits, handoff: handoffReason !== null, handoffReason };
  }

  private reference(words: readonly string[], gramTerms: readonly string[]): number {
    let total = 0;
    const add = (terms: readonly string[], tf: number) => {
      const seen = new Set<string>();
      for (const t of terms) {
        if (seen.has(t)) continue;
        seen.add(t);
        total += this.bm25.saturate(this.bm25.idf(t) ?? this.bm25.meanIdf, tf);
      }
    };
    add(words, this.refWord);
    if (gramTerms.length) add(gramTerms, this.refGram);
    return total;
  }
}

const analysisKey = (e: KbSearchable) => `${e.question}\u0002${e.altQuestions.join('\u0003')}\u0002${e.answer}`;
const round = (n: number) => Math.round(n * 10_000) / 10_000;
