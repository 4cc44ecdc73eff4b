import { z } from 'zod';

/**
 * The one place that reads the environment. Everything else receives a `Config`.
 * Each variable is mirrored, with a comment, in `.env.example`.
 */
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const hexKey = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, 'expected 64 hexadecimal characters (a 32-byte key)');

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  ROLE: z.enum(['all', 'web', 'worker']).default('all'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PUBLIC_URL: z.url().optional(),
  TRUST_PROXY: bool.default(false),
  DATABASE_URL: z.url().optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  DATA_DIR: z.string().default('.data'),
  SOP_TEMPLATE_DIR: z.string().default('templates/sop'),
  WEB_DIST_DIR: z.string().default('web/dist'),
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1024).max(65535).default(54329),
  DEMO_ADMIN_PASSWORD: z.string().min(8, 'at least 8 characters').optional(),
  DEMO_CUSTOMERS: z.coerce.number().int().min(0).max(1_000_000).default(2000),
  DEMO_SCORE_ON_SEED: bool.default(true),
  SESSION_TTL_HOURS: z.coerce.number().positive().max(24 * 30).default(12),
  LOGIN_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(5),
  LOGIN_WINDOW_MINUTES: z.coerce.number().positive().default(15),
  FIELD_KEYS: z
    .string()
    .regex(
      /^[A-Za-z0-9_-]+:[0-9a-fA-F]{64}(,[A-Za-z0-9_-]+:[0-9a-fA-F]{64})*$/,
      'expected "keyId:64hex[,keyId:64hex...]", the first key encrypts, all keys decrypt',
    )
    .optional(),
  HMAC_KEY: hexKey.optional(),
  BODY_LIMIT_KB: z.coerce.number().int().min(1).max(10_240).default(1024),
  JOBS_PROCESS_EVERY_MS: z.coerce.number().int().min(50).default(2000),
  SANDBOX: bool.optional(),
  WECOM_CORP_ID: z.string().min(1).optional(),
  WECOM_CALLBACK_TOKEN: z.string().min(1).optional(),
  WECOM_CALLBACK_AES_KEY: z.string().length(43, 'expected the 43-character EncodingAESKey').optional(),
  WECOM_AGENT_ID: z.coerce.number().int().optional(),
  WECOM_AGENT_SECRET: z.string().min(1).optional(),
  WECOM_CONTACT_SECRET: z.string().min(1).optional(),
  WECOM_API_BASE: z.url().default('https://qyapi.weixin.qq.com/cgi-bin'),
  WECOM_OAUTH_BASE: z.url().default('https://open.weixin.qq.com'),
  WECOM_API_PER_MINUTE: z.coerce.number().int().min(1).max(10_000).default(6000),
  WECOM_API_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  WECOM_API_RETRIES: z.coerce.number().int().min(0).max(10).default(3),
  WECOM_JSAPI_TICKETS_PER_HOUR: z.coerce.number().int().min(1).max(400).default(300),
  WECOM_AGENT_TICKETS_PER_HOUR: z.coerce.number().int().min(1).max(100).default(80),
  WECOM_RECONCILE_CRON: z.string().min(9).default('0 2 * * *'),
  WECOM_SYNC_ON_START: bool.default(true),
  WECOM_APP_MESSAGES_PER_MEMBER_PER_MINUTE: z.coerce.number().int().min(1).max(1000).default(30),
  WECOM_APP_MESSAGES_PER_MEMBER_PER_HOUR: z.coerce.number().int().min(1).max(100_000).default(1000),
  OUTBOX_BATCH_MAX: z.coerce.number().int().min(1).max(10_000).default(10_000),
  OUTBOX_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(8),
  OUTBOX_LEASE_MS: z.coerce.number().int().min(1000).max(3_600_000).optional(),
  OUTBOX_POLL_MS: z.coerce.number().int().min(50).max(600_000).default(5000),
  OUTBOX_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(8),
  OUTBOX_RESULT_SYNC_MS: z.coerce.number().int().min(1000).default(300_000),
  OUTBOX_RESULT_FRESH_MS: z.coerce.number().int().min(0).default(3_600_000),
  /** Live updates (src/realtime/README.md): socket.io's adapter, the resumable event log. */
  REALTIME_ADAPTER: z.enum(['postgres', 'memory']).default('postgres'),
  REALTIME_RETENTION_HOURS: z.coerce.number().int().min(1).max(24 * 30).default(24),
  REALTIME_REPLAY_MAX: z.coerce.number().int().min(1).max(100_000).default(1000),
  REALTIME_POLL_MS: z.coerce.number().int().min(100).max(600_000).default(2000),
  /** Digital business cards (src/cards/README.md): themes, per-share QR codes, the public pages' rate limit. */
  CARDS_THEME_DIR: z.string().default('templates/cards'),
  CARDS_SHARE_WAYS_MAX: z.coerce.number().int().min(0).max(500_000).default(10_000),
  CARDS_SHARE_WAY_IDLE_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  CARDS_PUBLIC_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(120),
  CARDS_EVENT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(400),
  /** The AI assistant (src/assistant): any OpenAI-compatible endpoint; no key means retrieval-only mode. */
  OPENAI_BASE_URL: z.url().optional(),
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_MODEL: z.string().min(1).max(200).default('gpt-4o-mini'),
  OPENAI_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(15_000),
  OPENAI_MAX_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
  OPENAI_STREAM: bool.default(false),
  ASSISTANT_DEADLINE_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  ASSISTANT_AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(180),
  SANDBOX_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
  SANDBOX_CONTROL: bool.optional(),
  /** Wechaty bots (bots/README.md): the puppet, the bot's identity, send limits and reconnects. */
  BOT_PUPPET: z.enum(['mock', 'service']).default('mock'),
  BOT_PUPPET_TOKEN: z.string().min(1).optional(),
  BOT_NAME: z.string().min(1).max(64).default('星河银行助手'),
  BOT_CORP_ID: z.string().min(1).optional(),
  BOT_MEMBER_USERID: z.string().min(1).optional(),
  BOT_SENDS_PER_MINUTE: z.coerce.number().int().min(1).max(600).default(20),
  BOT_SEND_BURST: z.coerce.number().int().min(1).max(100).default(3),
  BOT_CONVERSATION_INTERVAL_MS: z.coerce.number().int().min(0).max(600_000).default(2000),
  BOT_RECONNECT: bool.default(true),
  BOT_RECONNECT_MAX_MS: z.coerce.number().int().min(1000).max(3_600_000).default(300_000),
});

export type RawConfig = z.infer<typeof configSchema>;

export interface Config extends RawConfig {
  /** True when no WeCom corp is configured: the sandbox and the demo bank are used. */
  sandbox: boolean;
  /** The sandbox's control API (simulations, faults); never in production. */
  sandboxControl: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; expected: string }[]) {
    super(
      'Invalid configuration:\n' +
        problems.map((p) => `  ${p.variable}: ${p.expected}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** Parses the environment once. Empty strings count as unset. Throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') cleaned[key] = value;
  }
  const parsed = configSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? '(config)'),
        expected: issue.message,
      })),
    );
  }
  const raw = parsed.data;
  const sandbox = raw.SANDBOX ?? !raw.WECOM_CORP_ID;
  const problems: { variable: string; expected: string }[] = [];
  if (raw.NODE_ENV === 'production') {
    if (!raw.FIELD_KEYS) problems.push({ variable: 'FIELD_KEYS', expected: 'required in production' });
    if (!raw.HMAC_KEY) problems.push({ variable: 'HMAC_KEY', expected: 'required in production' });
    if (sandbox) problems.push({ variable: 'SANDBOX', expected: 'the sandbox cannot run in production; set WECOM_CORP_ID and SANDBOX=false' });
  }
  if (!sandbox) {
    for (const name of ['WECOM_CORP_ID', 'WECOM_CALLBACK_TOKEN', 'WECOM_CALLBACK_AES_KEY'] as const) {
      if (!raw[name]) problems.push({ variable: name, expected: 'required when SANDBOX is off' });
    }
  }
  if (raw.OUTBOX_LEASE_MS !== undefined && raw.OUTBOX_LEASE_MS <= 2 * raw.WECOM_API_TIMEOUT_MS) {
    problems.push({ variable: 'OUTBOX_LEASE_MS', expected: `more than twice WECOM_API_TIMEOUT_MS (${2 * raw.WECOM_API_TIMEOUT_MS})` });
  }
  if (raw.BOT_PUPPET === 'service') {
    if (!raw.BOT_PUPPET_TOKEN) problems.push({ variable: 'BOT_PUPPET_TOKEN', expected: 'required when BOT_PUPPET=service (the token of your Wechaty puppet service)' });
    if (!sandbox && !raw.BOT_MEMBER_USERID) problems.push({ variable: 'BOT_MEMBER_USERID', expected: 'required when BOT_PUPPET=service outside sandbox mode (the member whom handoffs alert)' });
  }
  if (problems.length) throw new ConfigError(problems);
  return { ...raw, sandbox, sandboxControl: sandbox && raw.NODE_ENV !== 'production' && raw.SANDBOX_CONTROL !== false };
}
