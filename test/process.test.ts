import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { freePort } from './ports.js';

/**
 * The product as a newcomer runs it: `src/main.ts` on its embedded defaults, in a child process,
 * stopped with SIGINT (Ctrl-C) and with SIGKILL.
 */
const dataDir = path.resolve('.data/process-test');

/** `group`: in a process group of its own, as a shell runs it, so a Ctrl-C can reach every process in it. */
function start(port: number, pgPort: number, options: { group?: boolean } = {}): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, PORT: String(port), EMBEDDED_PG_PORT: String(pgPort), DATA_DIR: dataDir, DEMO_CUSTOMERS: '200', DEMO_ADMIN_PASSWORD: 'process-test-pw', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.group ?? false,
  });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output };
}

async function waitFor(url: string, timeoutMs: number): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.status === 200) return r;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} not ready in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const postmasterPid = () => {
  const file = path.join(dataDir, 'pg', 'postmaster.pid');
  return existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : undefined;
};
const alive = (pid: number | undefined) => {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));

describe('the service process', function () {
  this.timeout(300_000);
  let port: number;
  let pgPort: number;
  before(async () => {
    mkdirSync(dataDir, { recursive: true });
    port = await freePort();
    pgPort = await freePort();
  });

  it('starts on embedded PostgreSQL, serves /healthz and /readyz, prints the admin password and logs admin in', async () => {
    const run = start(port, pgPort);
    try {
      await waitFor(`http://127.0.0.1:${port}/healthz`, 120_000);
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).to.equal(200);
      // The banner is printed just after the server starts listening.
      const deadline = Date.now() + 10_000;
      while (!run.output().includes('API document') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(run.output()).to.contain('admin / process-test-pw');
      const login = await fetch(`http://127.0.0.1:${port}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: 'process-test-pw' }),
      });
      expect(login.status).to.equal(200);
    } finally {
      run.child.kill('SIGINT');
      expect(await exited(run.child)).to.equal(0);
    }
    expect(alive(postmasterPid())).to.equal(false);
  });

  it('stops everything on Ctrl-C, leaving no PostgreSQL running', async () => {
    const run = start(port, pgPort);
    await waitFor(`http://127.0.0.1:${port}/readyz`, 120_000);
    const pgPid = postmasterPid();
    expect(alive(pgPid)).to.equal(true);
    run.child.kill('SIGINT');
    expect(await exited(run.child)).to.equal(0);
    expect(alive(pgPid)).to.equal(false);
    expect(run.output()).to.contain('"msg":"stopped"');
  });

  it('stops the service before its database on a terminal’s Ctrl-C, which reaches every process of the group', async () => {
    const run = start(port, pgPort, { group: true });
    await waitFor(`http://127.0.0.1:${port}/readyz`, 120_000);
    const pgPid = postmasterPid();
    expect(alive(pgPid)).to.equal(true);
    process.kill(-run.child.pid!, 'SIGINT');
    expect(await exited(run.child)).to.equal(0);
    expect(alive(pgPid)).to.equal(false);
    const output = run.output();
    expect(output).to.contain('"msg":"stopped"');
    // The jobs are unlocked and the connections closed while the database still answers.
    expect(output).to.not.contain('database connection lost');
    expect(output).to.not.contain('job scheduler stop failed');
  });

  it('recovers on the next start after being killed with SIGKILL', async () => {
    const first = start(port, pgPort);
    await waitFor(`http://127.0.0.1:${port}/readyz`, 120_000);
    const stalePid = postmasterPid();
    first.child.kill('SIGKILL');
    await exited(first.child);
    expect(alive(stalePid), 'postgres outlives a killed parent').to.equal(true);

    const second = start(port, pgPort);
    try {
      await waitFor(`http://127.0.0.1:${port}/readyz`, 120_000);
      expect(second.output()).to.contain('stopping a stale embedded PostgreSQL');
      expect(alive(stalePid)).to.equal(false);
      expect(postmasterPid()).not.to.equal(stalePid);
    } finally {
      second.child.kill('SIGINT');
      await exited(second.child);
    }
    expect(alive(postmasterPid())).to.equal(false);
  });
});
