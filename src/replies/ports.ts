import type { KnowledgeBase } from '../kb/index.js';
import type { KnowledgePort } from './engine.js';

const TOPICS: Record<string, string> = {
  complaint: '客户投诉',
  dispute: '交易争议',
  frozen: '账户冻结',
  fraud: '疑似电信诈骗',
  human: '客户要求转人工',
};

/** The knowledge base behind the engine's port: hits carry their entry, and a handoff says why in Chinese. */
export function knowledgePort(kb: KnowledgeBase): KnowledgePort {
  return {
    async search(query, topK) {
      const found = await kb.search(query, { topK });
      const reason = found.handoffReason
        ? found.handoffReason.source === 'topic'
          ? `${TOPICS[found.handoffReason.topic] ?? '需人工处理的话题'}（「${found.handoffReason.match}」）`
          : `知识库条目 ${found.handoffReason.id} 需人工处理`
        : undefined;
      return {
        handoff: found.handoff,
        reason,
        hits: found.hits.map((h) => ({ id: h.id, score: h.score, answer: h.entry.answer, productIds: h.entry.productIds, handoff: h.entry.handoff })),
      };
    },
  };
}

