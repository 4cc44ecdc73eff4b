/**
 * Runs the WeCom sandbox on its own, for rehearsals against a service started with a real-corp
 * configuration (WECOM_API_BASE = the printed apiBase) and for tests that run the service in
 * another process:
 *
 *   npx tsx scripts/sandbox.ts [--port 3001] [--customers 2000] [--seed N] [--corp-id ID] [--agent-id N]
 *                              [--agent-secret S] [--contact-secret S] [--token T] [--aes-key K]
 *                              [--per-api-per-minute N] [--callback-url URL] [--no-control]
 *
 * Secrets not given are generated. Once listening it prints one JSON line on stdout: url, apiBase,
 * corpId, agentId, the secrets, the callback token and AES key, and how many contacts the world has.
 * SIGINT or SIGTERM stops it.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createLogger } from '../src/platform/logger.js';
import { startSandbox } from '../src/wecom/sandbox/index.js';

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npx tsx scripts/sandbox.ts [--port N] [--customers N] [--seed N] [--corp-id ID] [--agent-id N] [--agent-secret S] [--contact-secret S] [--token T] [--aes-key K] [--per-api-per-minute N] [--callback-url URL] [--no-control]\n`);
  process.exit(1);
}

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '3001' },
    host: { type: 'string', default: '127.0.0.1' },
    customers: { type: 'string', default: '2000' },
    seed: { type: 'string' },
    'corp-id': { type: 'string', default: 'wwxinghe0000sandbox' },
    'agent-id': { type: 'string', default: '1000002' },
    'agent-secret': { type: 'string' },
    'contact-secret': { type: 'string' },
    token: { type: 'string' },
    'aes-key': { type: 'string' },
    'per-api-per-minute': { type: 'string' },
    'callback-url': { type: 'string' },
    'no-control': { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'warn' },
  },
});

const int = (name: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) usage(`--${name} must be a non-negative integer`);
  return n;
};

const secrets = {
  agentSecret: values['agent-secret'] ?? randomBytes(24).toString('base64url'),
  contactSecret: values['contact-secret'] ?? randomBytes(24).toString('base64url'),
  callbackToken: values.token ?? randomBytes(12).toString('base64url'),
  callbackAesKey: values['aes-key'] ?? randomBytes(32).toString('base64').slice(0, 43),
};
const logger = createLogger({ level: values['log-level'] as 'warn' });

try {
  const sandbox = await startSandbox({
    corpId: values['corp-id']!,
    agentId: int('agent-id', values['agent-id'])!,
    ...secrets,
    customers: int('customers', values.customers)!,
    port: int('port', values.port)!,
    host: values.host!,
    controlApi: !values['no-control'],
    logger,
    ...(values.seed !== undefined ? { seed: int('seed', values.seed)! } : {}),
    ...(values['per-api-per-minute'] !== undefined ? { perApiPerMinute: int('per-api-per-minute', values['per-api-per-minute'])! } : {}),
  });
  if (values['callback-url']) sandbox.setCallbackUrl(values['callback-url']);
  process.stdout.write(
    JSON.stringify({ url: sandbox.url, apiBase: sandbox.apiBase, corpId: values['corp-id'], agentId: int('agent-id', values['agent-id']), ...secrets, contacts: sandbox.world.contacts.size }) + '\n',
  );
  const stop = () => void sandbox.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (error) {
  usage((error as Error).message);
}
