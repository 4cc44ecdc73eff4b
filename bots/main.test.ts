import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../test/ports.js';
import { until } from '../test/wecom.js';

/**
 * `npm run bot` as a newcomer runs it: bots/main.ts in a child process on its embedded defaults
 * with the mock puppet, typed to on stdin, stopped with Ctrl-C; and the ways it refuses to start.
 */
const dataDir = path.resolve('.data/bot-process-test');

function run(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'bots/main.ts'], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output };
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
const alive = (pid: number | undefined) => {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the bot process', function () {
  this.timeout(120_000);

  it('logs in to a simulated WeChat in sandbox mode, answers customers (typed ones too) and stops on Ctrl-C', async () => {
    mkdirSync(dataDir, { recursive: true });
    const bot = run({ DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()) });
    let pgPid: number | undefined;
    try {
      await until(() => bot.output().includes('[星河银行助手 → 王建国] 个人大额存单20万元起存'), 90_000, 'the answer to the first customer');
      expect(bot.output()).to.contain('星河银行助手 is logged in to a simulated WeChat');
      const pidFile = path.join(dataDir, 'pg', 'postmaster.pid');
      pgPid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : undefined;
      bot.child.stdin!.write('@定期存款一年期利率是多少？\n');
      await until(() => bot.output().includes('星河银行助手：@王建国 整存整取定期存款50元起存'), 20_000, 'the answer in the group');
    } finally {
      bot.child.kill('SIGINT');
      expect(await exited(bot.child)).to.equal(0);
    }
    expect(alive(pgPid), 'its embedded PostgreSQL stopped with it').to.equal(false);
  });

  it('exits 1 naming BOT_PUPPET_TOKEN when BOT_PUPPET=service has no token', async () => {
    const bot = run({ BOT_PUPPET: 'service' });
    expect(await exited(bot.child)).to.equal(1);
    expect(bot.output()).to.contain('BOT_PUPPET_TOKEN');
  });

  it('exits 1 rather than run the simulated world outside sandbox mode', async () => {
    const bot = run({ SANDBOX: 'false', WECOM_CORP_ID: 'ww1', WECOM_CALLBACK_TOKEN: 'x', WECOM_CALLBACK_AES_KEY: 'a'.repeat(43) });
    expect(await exited(bot.child)).to.equal(1);
    expect(bot.output()).to.contain('BOT_PUPPET=mock runs a simulated WeChat world and only in sandbox mode');
  });
});
