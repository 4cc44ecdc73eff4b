/**
 * The knowledge base: the bank's FAQ entries (seeded from data/bank/kb.jsonl, edited by
 * operations staff, versioned) and the search over them. The reply engine and the assistant call
 * `knowledgeBase.search(query, { topK })` → `{ hits: [{ id, score, entry }], handoff, handoffReason }`.
 * See README.md.
 */
export { KnowledgeBase, DEFAULT_REFRESH_MS, WEALTH_DISCLAIMER, type AnswerJudgement, type ChangedBy, type KbAnswer, type KbSearchHit, type KnowledgeBaseOptions, type SavedKbEntry } from './service.js';
export { KbIndex, PRODUCT_CONFIG, BASELINE_CONFIG, DEFAULT_TOP_K, ENTRY_HANDOFF_MIN_SCORE, type HandoffReason, type IndexConfig, type KbHit, type KbSearchable, type KbSearchResult, type SearchOptions } from './search.js';
export { detectHandoff, HANDOFF_PATTERNS, type HandoffDetection, type HandoffTopic } from './handoff.js';
export { Tokenizer, BANK_LEXICON, EMPTY_LEXICON, type Lexicon } from './tokenize.js';
export { getKbEntry, listKbEntries, listKbEntryVersions, type KbContent, type KbEntry, type KbEntryVersion } from './store.js';
export { loadBankEntries, type BankEntry } from './bank.js';
export { seedKnowledgeBase } from './seed.js';
export { registerKbRoutes } from './routes.js';
