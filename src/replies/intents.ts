import { normalizeText } from '../compliance/index.js';

/**
 * Purchase intents in customer messages. Each intent has strong cues (the product named, "想买",
 * "怎么办理") and weak ones (a topic word); a message's score is the sum of its cues' weights, capped
 * at 1. An intent at or above the threshold becomes a tag (意向:<name>) on the customer, with the
 * message as its cause. Questions that only mention a topic ("大额存单是存款吗") stay below the
 * threshold unless they also carry a wish to act.
 */
export interface Intent {
  intent: string;
  score: number;
}

interface Cue {
  words: string[];
  weight: number;
}

const ACT: Cue = { words: ['想买', '想办', '想存', '想申请', '怎么买', '怎么办理', '如何办理', '在哪买', '怎么申请', '能不能办', '可以办', '我要办', '帮我办', '预约', '打算', '准备', '有额度吗', '还有额度', '想了解', '推荐'], weight: 0.5 };

const INTENTS: Record<string, Cue[]> = {
  大额存单: [{ words: ['大额存单', '大额存款', '大额定期'], weight: 0.6 }, { words: ['存单'], weight: 0.3 }],
  定期存款: [{ words: ['定期存款', '整存整取', '存定期', '定期利率', '零存整取'], weight: 0.6 }, { words: ['定期', '存款利率'], weight: 0.3 }],
  理财: [{ words: ['理财产品', '买理财', '固收', '理财收益'], weight: 0.6 }, { words: ['理财', '净值'], weight: 0.3 }],
  基金: [{ words: ['基金定投', '买基金', '指数基金', '债券基金'], weight: 0.6 }, { words: ['基金', '定投'], weight: 0.3 }],
  信用卡: [{ words: ['信用卡', '办卡', '申请卡', '提额', '分期'], weight: 0.6 }, { words: ['额度', '年费'], weight: 0.2 }],
  贷款: [{ words: ['贷款', '房贷', '车贷', '消费贷', '经营贷', '借钱'], weight: 0.6 }, { words: ['利率', '月供'], weight: 0.2 }],
  保险: [{ words: ['保险', '重疾险', '医疗险', '年金险', '寿险'], weight: 0.6 }, { words: ['保障', '保费'], weight: 0.3 }],
  养老: [{ words: ['个人养老金', '养老金账户', '养老规划', '养老理财', '退休规划'], weight: 0.6 }, { words: ['养老', '退休'], weight: 0.3 }],
  外汇: [{ words: ['换汇', '购汇', '结汇', '外币', '美元', '黄金'], weight: 0.5 }],
};

/** Detected intents, strongest first (only those with a score above zero). */
export function detectIntents(text: string): Intent[] {
  const norm = normalizeText(text).text;
  const wantsToAct = ACT.words.some((w) => norm.includes(w));
  const found: Intent[] = [];
  for (const [intent, cues] of Object.entries(INTENTS)) {
    let score = 0;
    for (const cue of cues) if (cue.words.some((w) => norm.includes(w))) score += cue.weight;
    if (score === 0) continue;
    if (wantsToAct) score += ACT.weight;
    found.push({ intent, score: Math.min(1, Math.round(score * 100) / 100) });
  }
  return found.sort((a, b) => b.score - a.score);
}

export const INTENT_TAG_PREFIX = '意向';
export const INTENT_NAMES = Object.keys(INTENTS);
