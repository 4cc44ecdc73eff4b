import { normalizeQuery } from './tokenize.js';

/**
 * Topics a bot must not answer alone: the customer is routed to a person. Found in the customer's
 * own words, however they differ from the knowledge base's entries:
 * - `complaint`: 投诉, 举报, 维权, "态度太差", "给个说法";
 * - `dispute`: a transaction the customer did not make or does not accept (盗刷, "不是我刷的",
 *   "莫名其妙扣了钱", 多扣, 乱扣);
 * - `frozen`: an account or card that is frozen or restricted now (冻结, 止付, 非柜面, "卡被锁了");
 * - `fraud`: fraud in progress or just happened (被骗, 上当, 安全账户, 屏幕共享, "对方让我转账", "要我把钱转过去",
 *   "交保证金才能提现");
 * - `human`: the customer asks for a person (转人工, 人工客服, 真人).
 *
 * A pattern may carry `unless`: a question about the topic in general ("长期不用的卡会被冻结吗",
 * "怎么防诈骗") is not the customer's own case and is answered from the knowledge base.
 */
export type HandoffTopic = 'complaint' | 'dispute' | 'frozen' | 'fraud' | 'human';

export interface HandoffPattern {
  topic: HandoffTopic;
  pattern: RegExp;
  unless?: RegExp;
}

export const HANDOFF_PATTERNS: readonly HandoffPattern[] = [
  { topic: 'human', pattern: /转人工|人工(客服|服务|坐席|接待)?$|(找|要|接|转|联系|叫)(个)?人工|人工客服|真人|活人|不要机器人|机器人.{0,4}(没用|听不懂|答非所问)/ },
  { topic: 'complaint', pattern: /投诉|举报|维权|曝光你们|12378|差评|(态度|服务)[^，。,.]{0,3}(很|太|非常|真|特别)?(差|恶劣|不好)|(给|要)个说法|不满意|很不满|非常不满|误导(我|销售|购买)/ },
  {
    topic: 'dispute',
    pattern: /盗刷|被盗|盗用|(不是|并非|没有?)(我|本人)[^，。,.]{0,4}(刷|消费|操作|买|转|交易|授权)|没(有)?(消费|刷|买)过|莫名(其妙)?[^，。,.]{0,4}(扣|少|多|转)|(乱|多|重复)扣|扣(错|多)了|不认(可)?这笔|(钱|余额)[^，。,.]{0,4}少了|争议交易|拒付/,
    unless: /会(不会)?被盗刷(吗|么)?$|会不会被盗|(怎么|如何)(防|预防|避免)|防止盗刷/,
  },
  {
    topic: 'frozen',
    pattern: /冻结|止付|非柜面|冻住|(卡|账户|账号)[^，。,.]{0,3}(被)?(锁|封|限制|管控)|(被|遭)(限制|管控)(交易|转账|使用)?|(用|转|取)不了(钱|账)?了|不能(转账|交易|取钱|用)了/,
    unless: /会(不会)?被?[^，。？！,.?!]{0,6}(吗|么|不)|会不会|什么情况(下)?会|为什么会|怎么(防|避免)|长期不用|(登录|手机银行|密码)[^，。,.]{0,6}锁/,
  },
  {
    topic: 'fraud',
    pattern:
      /(被|遭|让人|叫人)[^，。,.]{0,2}(骗|诈骗)|受骗|上当|骗了我|骗走|安全账户|屏幕共享|共享屏幕|(?<!需)(让|叫|要求|逼|要)我[^，。,.]{0,6}(转账|转钱|汇款|打钱|转过去|转到|转给|汇到|交钱|充值)|(刚|已经|刚刚)[^，。,.]{0,3}(转|汇|打)了?[^，。,.]{0,6}(钱|元|块|万)[^，。,.]{0,8}(骗|联系不上|拉黑)|(提不了现|无法提现|不能提现|取不出来)[^。]{0,12}(交|缴|充)|(交|缴)[^，。,.]{0,3}(保证金|解冻费|手续费|税费)[^，。,.]{0,4}(才能|才可以)(提现|解冻|到账)/,
    unless: /(怎么|如何)(防|预防|避免|识别)|防范|防骗/,
  },
];

export interface HandoffDetection {
  topic: HandoffTopic;
  match: string;
}

/** The first handoff topic the text raises, or null. Spaces and case do not matter. */
export function detectHandoff(text: string, patterns: readonly HandoffPattern[] = HANDOFF_PATTERNS): HandoffDetection | null {
  const normalized = normalizeQuery(text).replace(/\s+/g, '');
  for (const { topic, pattern, unless } of patterns) {
    const found = pattern.exec(normalized);
    if (found && !(unless && unless.test(normalized))) return { topic, match: found[0] };
  }
  return null;
}
