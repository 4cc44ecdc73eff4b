/**
 * WeCom business errors: HTTP 200 with an errcode, and an errmsg shaped like the real server's
 * (`invalid access_token, hint: [...], from ip: ..., more info at ...`), because client code and
 * operators grep for that text.
 */
const MESSAGES: Record<number, string> = {
  [-1]: 'system busy',
  40001: 'invalid credential',
  40003: 'invalid userid',
  40008: 'invalid message type',
  40013: 'invalid corpid',
  40014: 'invalid access_token',
  40029: 'invalid code',
  40050: 'chatid not found',
  40056: 'invalid agentid',
  40058: 'invalid Parameter',
  40068: 'invalid tagid',
  40071: 'UserTag Name Already Exist',
  40096: 'invalid external userid',
  40100: 'external contact is already in transfer',
  40126: 'corp tag count exceed limit',
  40128: 'transfer too frequently',
  40129: 'customer is transferring',
  40130: 'handover userid is the same as takeover userid',
  40131: 'handover userid is not the follow user of the external contact',
  41001: 'access_token missing',
  41002: 'corpid missing',
  41004: 'corpsecret missing',
  41008: 'missing code',
  41009: 'missing userid',
  41017: 'missing tagid',
  41035: 'missing external userid',
  41037: 'missing contact way type',
  41038: 'missing contact way scene',
  41039: 'invalid contact way type',
  41040: 'invalid contact way scene',
  41041: 'contact way user count exceed limit',
  41042: 'invalid contact way style',
  41043: 'missing contact way config_id',
  41044: 'invalid contact way config_id',
  41045: 'contact way count exceed limit',
  41046: 'missing msgid',
  41047: 'invalid msgid',
  41048: 'no available external contact',
  41049: 'missing welcome code',
  41050: 'invalid welcome code',
  41051: 'customer has already started chatting with the user',
  42001: 'access_token expired',
  43001: 'require GET method',
  43002: 'require POST method',
  44004: 'empty content',
  45002: 'content size out of limit',
  45009: 'api freq out of limit',
  47001: 'data format error',
  48002: 'api forbidden',
  60003: 'department not found',
  60011: 'no privilege to access/modify contact/party/agent',
  60111: 'userid not found',
  81013: 'user & party & tag all invalid',
  84061: 'not external contact',
  91040: 'invalid ticket type',
  95000: 'invalid open_kfid',
  95001: 'send msg count limit',
  95002: 'send msg time limit',
  95004: 'open_kfid not exist',
  95007: 'invalid msg token',
  95014: 'user is not servicer',
  95016: 'service state transition not allowed',
  95018: 'send msg session status invalid',
};

export class WeComError extends Error {
  constructor(
    readonly errcode: number,
    detail?: string,
    /** Fields that stay in the error body, e.g. `follow_user: []` (SHAPES §0). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail ?? MESSAGES[errcode] ?? 'error');
    this.name = 'WeComError';
  }
}

let hintCounter = 0;

/** The errmsg as WeCom formats it; `hint` is a per-request id support staff ask for. */
export function errmsgFor(errcode: number, text: string, ip: string, nowMs: number): string {
  hintCounter = (hintCounter + 1) % 1_000_000;
  const hint = `${nowMs}${String(hintCounter).padStart(6, '0')}${String(errcode).replace('-', '').padStart(5, '0').slice(-5)}`;
  return `${text}, hint: [${hint}], from ip: ${ip}, more info at https://open.work.weixin.qq.com/devtool/query?e=${errcode}`;
}

export const defaultMessage = (errcode: number): string => MESSAGES[errcode] ?? 'error';

/** A control-API request the sandbox cannot carry out (unknown id, impossible simulation): 400 or 404 over HTTP. */
export class SandboxControlError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 404 | 409 = 400,
  ) {
    super(message);
    this.name = 'SandboxControlError';
  }
}
