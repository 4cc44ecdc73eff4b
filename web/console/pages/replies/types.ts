export type MatchType = 'exact' | 'keyword' | 'regex' | 'intent';
export type Channel = 'bot' | 'kf';

export interface ReplyRule {
  id: string;
  name: string;
  matchType: MatchType;
  pattern: string;
  channels: Channel[];
  activeFrom: string | null;
  activeTo: string | null;
  cooldownMinutes: number;
  replyText: string;
  priority: number;
  enabled: boolean;
}

export type RuleInput = Omit<ReplyRule, 'id'>;

export const MATCH_TYPES: Record<MatchType, string> = { exact: '完全匹配', keyword: '关键词', regex: '正则表达式', intent: '意图' };
export const CHANNELS: Record<Channel, string> = { kf: '微信客服', bot: '群机器人' };

export type Decision = 'rule' | 'kb' | 'ai' | 'handoff' | 'ignored' | 'none';
export const DECISIONS: Record<Decision, string> = { rule: '规则回复', kb: '知识库回复', ai: 'AI助手回复', handoff: '转人工', ignored: '不回复', none: '处理中' };
export const DECISION_TAGS: Record<Decision, 'success' | 'primary' | 'warning' | 'danger' | 'info'> = {
  rule: 'success', kb: 'primary', ai: 'warning', handoff: 'danger', ignored: 'info', none: 'info',
};

export const toInput = (r: ReplyRule): RuleInput => {
  const { id: _id, ...input } = r;
  return input;
};
