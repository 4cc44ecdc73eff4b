import { answerCustomer, type AssistantDeps } from '../assistant/index.js';
import type { AssistantPort } from './engine.js';

/** The AI assistant behind the engine's port. */
export function assistantPort(deps: AssistantDeps): AssistantPort {
  return {
    async answerCustomer(input) {
      const reply = await answerCustomer(deps, { customerId: input.customerId, corpId: input.corpId, externalUserid: input.externalUserid, text: input.text, channel: input.channel });
      if (reply.kind === 'answer') return { kind: 'answer', text: reply.text, citations: reply.citations, auditId: reply.auditId };
      if (reply.kind === 'handoff') return { kind: 'handoff', reason: `AI 助手转人工：${reply.reason}`, auditId: reply.auditId };
      return { kind: 'unavailable', reason: reply.reason };
    },
  };
}
