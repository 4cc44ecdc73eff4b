import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { ConfigError, loadConfig } from './config.js';

describe('configuration', () => {
  it('runs in sandbox mode with defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config.PORT).to.equal(3000);
    expect(config.ROLE).to.equal('all');
    expect(config.sandbox).to.equal(true);
    expect(config.DATABASE_URL).to.equal(undefined);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '' }).PORT).to.equal(3000);
  });

  it('names each bad variable and what it expects', () => {
    try {
      loadConfig({ PORT: 'eighty', ROLE: 'boss', FIELD_KEYS: 'k1:abc' });
      expect.fail('should have thrown');
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      const problems = (error as ConfigError).problems.map((p) => p.variable);
      expect(problems).to.have.members(['PORT', 'ROLE', 'FIELD_KEYS']);
      expect((error as ConfigError).message).to.match(/FIELD_KEYS: expected "keyId:64hex/);
    }
  });

  it('requires the callback secrets when the sandbox is off', () => {
    expect(() => loadConfig({ WECOM_CORP_ID: 'ww123' })).to.throw(ConfigError, /WECOM_CALLBACK_TOKEN: required when SANDBOX is off/);
  });

  it('refuses to run the sandbox or generated keys in production', () => {
    try {
      loadConfig({ NODE_ENV: 'production' });
      expect.fail('should have thrown');
    } catch (error) {
      expect((error as ConfigError).problems.map((p) => p.variable)).to.have.members(['FIELD_KEYS', 'HMAC_KEY', 'SANDBOX']);
    }
  });

  it('stops the process with exit code 1 and a message naming the variable', function () {
    this.timeout(30_000);
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, PORT: 'not-a-port', LOG_LEVEL: 'silent' },
      encoding: 'utf8',
      timeout: 25_000,
    });
    expect(result.status).to.equal(1);
    expect(result.stderr).to.contain('PORT:');
  });
});

describe('.env.example', () => {
  it('lists exactly the variables the configuration schema reads', async () => {
    const { readFileSync } = await import('node:fs');
    const { configSchema } = await import('./config.js');
    const listed = readFileSync('.env.example', 'utf8')
      .split('\n')
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => line.split('=')[0]);
    expect(listed).to.have.members(Object.keys(configSchema.shape));
  });
});
