/**
 * What the assistant needs from the knowledge base: the best entries for a question, whole (the
 * answer goes into the prompt and may be suggested as is), and whether the question must go to a
 * person. The search itself belongs to src/kb; this is the port the assistant reads it through.
 */
export interface KnowledgeEntry {
  id: string;
  category: string;
  question: string;
  answer: string;
  productIds: string[];
  needsDisclaimer: boolean;
  handoff: boolean;
}

export interface KnowledgeHit extends KnowledgeEntry {
  score: number;
}

export interface KnowledgeResult {
  hits: KnowledgeHit[];
  /** The question must go to a person (complaint, dispute, frozen account, fraud in progress). */
  handoff: boolean;
  /** Why, when `handoff`: 'kb:<entry id>' or 'topic:<topic>'. */
  handoffReason: string | null;
}

export interface KnowledgeBase {
  search(query: string, topK: number): Promise<KnowledgeResult>;
}

/**
 * The knowledge module's search (src/kb `KnowledgeBase.search`), described by its shape so that
 * this module needs nothing of its internals.
 */
export interface KbSearchService {
  search(query: string, options: { topK?: number }): Promise<{
    hits: { id: string; score: number; entry: Omit<KnowledgeEntry, 'id'> }[];
    handoff: boolean;
    handoffReason: { source: 'topic'; topic: string } | { source: 'entry'; id: string } | null;
  }>;
}

export function knowledgeFrom(kb: KbSearchService): KnowledgeBase {
  return {
    async search(query, topK) {
      const result = await kb.search(query, { topK });
      const why = result.handoffReason;
      return {
        hits: result.hits.map((h) => ({
          id: h.id, score: h.score, category: h.entry.category, question: h.entry.question, answer: h.entry.answer,
          productIds: h.entry.productIds, needsDisclaimer: h.entry.needsDisclaimer, handoff: h.entry.handoff,
        })),
        handoff: result.handoff,
        handoffReason: result.handoff ? (why ? (why.source === 'entry' ? `kb:${why.id}` : `topic:${why.topic}`) : 'kb') : null,
      };
    },
  };
}
