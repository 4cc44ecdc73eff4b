import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Central redaction. Two layers, so a field that slips through under an unexpected name is still
 * caught:
 *  1. keys whose name says "secret" (password, token, secret, key, authorization, cookie) are
 *     replaced entirely; keys naming personal identifiers (mobile, phone, idNumber, cardNo) masked;
 *  2. every string value is scanned for mainland mobile numbers, resident ID numbers and bank card
 *     numbers, which are masked in place.
 */
const SECRET_KEY = /pass(word)?|secret|token|authorization|cookie|aes_?key|encodingaeskey|api_?key|private|^key$|session/i;
const PERSONAL_KEY = /mobile|phone|id_?(number|no|card)|card_?(no|number)|cert_?no/i;

const ID_NUMBER = /(?<![0-9A-Za-z])([1-9]\d{5})(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])/g;
const CARD_NUMBER = /(?<!\d)(\d{4})\d{8,11}(\d{4})(?!\d)/g;
const MOBILE = /(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)/g;

export function redactString(value: string): string {
  return value
    .replace(ID_NUMBER, (_m, head: string) => `${head}********${'****'}`)
    .replace(CARD_NUMBER, (_m, head: string, tail: string) => `${head}********${tail}`)
    .replace(MOBILE, (_m, head: string, tail: string) => `${head}****${tail}`);
}

export function redactValue(value: unknown, key = '', depth = 0): unknown {
  if (depth > 8) return '[deep]';
  if (value === null || value === undefined) return value;
  if (key && SECRET_KEY.test(key) && !/^(token_?type|expires)/i.test(key)) return '[redacted]';
  if (typeof value === 'string') {
    if (key && PERSONAL_KEY.test(key)) return redactString(value).replace(/\d(?=\d{4})/g, '*');
    return redactString(value);
  }
  if (typeof value === 'number' && key && PERSONAL_KEY.test(key)) return '[redacted]';
  if (Array.isArray(value)) return value.map((v) => redactValue(v, key, depth + 1));
  if (value instanceof Error) {
    return { type: value.name, message: redactString(value.message), stack: value.stack ? redactString(value.stack) : undefined };
  }
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = redactValue(v, k, depth + 1);
    return out;
  }
  return value;
}

export interface LoggerOptions {
  level: string;
  /** Where lines go; tests pass a stream to read the output. Defaults to stdout. */
  destination?: DestinationStream;
  pretty?: boolean;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: (e: unknown) => redactValue(e) },
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redactValue(object) as Record<string, unknown>,
      },
      hooks: {
        // The message string is redacted too: "login for 13812345678" must not reach the log.
        logMethod(args, method) {
          const redacted = args.map((a) => (typeof a === 'string' ? redactString(a) : a)) as typeof args;
          method.apply(this, redacted);
        },
      },
    },
    options.destination ?? pino.destination(1),
  );
}
