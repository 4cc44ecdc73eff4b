import type { PuppetMock } from 'wechaty-puppet-mock';

/**
 * Which puppet carries the bot: the mock puppet (a simulated WeChat world, for sandbox mode and
 * tests), or a real account through wechaty-puppet-service and a token from a puppet service
 * provider. Wechaty takes either as `puppet` (+ `puppetOptions`).
 */
export type BotPuppet =
  | { kind: 'mock'; puppet: PuppetMock }
  | { kind: 'service'; module: typeof SERVICE_PUPPET; token: string };

export const SERVICE_PUPPET = 'wechaty-puppet-service';

export class PuppetUnavailableError extends Error {
  constructor(readonly packageName: string, cause: unknown) {
    super(
      `BOT_PUPPET=service needs the npm package ${packageName}, which cannot be loaded here.\n` +
        `  Install it:  npm install ${packageName}\n` +
        `  and set BOT_PUPPET_TOKEN to the token of your Wechaty puppet service.`,
      { cause },
    );
    this.name = 'PuppetUnavailableError';
  }
}

const isModuleMissing = (error: unknown) => ['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND'].includes((error as NodeJS.ErrnoException)?.code ?? '');

/**
 * The service puppet, after checking that its package loads (Wechaty would otherwise fail later,
 * inside start(), with a less helpful message). `load` is the import; tests pass a failing one.
 */
export async function servicePuppet(token: string, load: (name: string) => Promise<unknown> = (name) => import(name)): Promise<BotPuppet> {
  try {
    await load(SERVICE_PUPPET);
  } catch (error) {
    if (isModuleMissing(error)) throw new PuppetUnavailableError(SERVICE_PUPPET, error);
    throw error;
  }
  return { kind: 'service', module: SERVICE_PUPPET, token };
}

/** What WechatyBuilder.build takes for the puppet. */
export function wechatyPuppetOptions(p: BotPuppet): { puppet: PuppetMock } | { puppet: typeof SERVICE_PUPPET; puppetOptions: { token: string } } {
  return p.kind === 'mock' ? { puppet: p.puppet } : { puppet: p.module, puppetOptions: { token: p.token } };
}
