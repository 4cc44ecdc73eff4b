import { expect } from 'chai';
import { createLogger } from '../../platform/logger.js';
import { createMetrics, type Metrics } from '../../platform/metrics.js';
import type { DatabaseHandle } from '../../platform/db/database.js';
import { testCipher, testDatabase } from '../../../test/harness.js';
import { CorpRegistry, saveCorp } from '../corps.js';
import { wecomApi } from '../api.js';
import type { Sandbox } from '../sandbox/index.js';
import { TEST_CORP, startTestSandbox } from '../sandbox/testing.js';
import { RateBudget, TokenStore, WeComApiError, WeComDeadlineError, WeComGateway, WeComUnavailableError } from './index.js';

/** The API client against the sandbox: tokens, quotas, retries, typed errors. */
describe('the WeCom API client', () => {
  let sandbox: Sandbox;
  let database: DatabaseHandle;
  let metrics: Metrics;
  const logger = createLogger({ level: 'silent' });

  const gatewayFor = (m: Metrics, overrides: Partial<{ blockMs: number; retries: number; timeoutMs: number }> = {}) =>
    new WeComGateway({
      registry: new CorpRegistry(database.db, testCipher()),
      tokens: new TokenStore(database.db, testCipher()),
      budget: new RateBudget({ perMinute: 6000, blockMs: overrides.blockMs ?? 300 }),
      metrics: m,
      logger,
      options: { timeoutMs: overrides.timeoutMs ?? 1000, retries: overrides.retries ?? 3, backoffMs: 20 },
    });

  /** Calls that reached the sandbox, by API and errcode, as the client counted them. */
  const calls = async (m: Metrics, api: string, errcode?: string) =>
    (await m.wecomCalls.get()).values.filter((v) => v.labels.api === api && (errcode === undefined || v.labels.errcode === errcode)).reduce((n, v) => n + v.value, 0);

  beforeEach(async () => {
    sandbox = await startTestSandbox({ customers: 100 });
    database = await testDatabase();
    metrics = createMetrics({ defaults: false });
    await saveCorp(database.db, testCipher(), {
      corpId: TEST_CORP.corpId,
      name: 'test',
      agentId: TEST_CORP.agentId,
      token: TEST_CORP.callbackToken,
      aesKey: TEST_CORP.callbackAesKey,
      agentSecret: TEST_CORP.agentSecret,
      contactSecret: TEST_CORP.contactSecret,
      apiBase: sandbox.apiBase,
      source: 'sandbox',
    });
  });
  afterEach(async () => {
    await sandbox.close();
    await database.close();
  });

  it('fetches one token for many calls, even when they start at once', async () => {
    const api = wecomApi(gatewayFor(metrics).client(TEST_CORP.corpId, 'contact'));
    await Promise.all([1, 2, 3, 4, 5, 6].map(() => api.departments()));
    await api.corpTags();
    expect(await calls(metrics, 'gettoken')).to.equal(1);
    expect(await calls(metrics, 'department/list', '0')).to.equal(6);
  });

  it('shares the token with another node through the database', async () => {
    await wecomApi(gatewayFor(metrics).client(TEST_CORP.corpId, 'contact')).departments();
    const other = createMetrics({ defaults: false });
    await wecomApi(gatewayFor(other).client(TEST_CORP.corpId, 'contact')).departments();
    expect(await calls(other, 'gettoken')).to.equal(0);
    const stored = await database.db.selectFrom('wecom_tokens').selectAll().execute();
    expect(stored).to.have.length(1);
    const token = testCipher().decrypt(stored[0]!.value_enc);
    expect(token.length).to.be.greaterThan(10);
    expect(stored[0]!.value_enc).not.to.contain(token);
  });

  it('keeps one token per secret', async () => {
    const gateway = gatewayFor(metrics);
    await wecomApi(gateway.client(TEST_CORP.corpId, 'contact')).departments();
    await wecomApi(gateway.client(TEST_CORP.corpId, 'agent')).departments();
    expect(await calls(metrics, 'gettoken')).to.equal(2);
  });

  it('refreshes an expired token once and retries the call', async () => {
    const api = wecomApi(gatewayFor(metrics).client(TEST_CORP.corpId, 'contact'));
    await api.departments();
    sandbox.control.expireTokens();
    const departments = await api.departments();
    expect(departments.length).to.be.greaterThan(1);
    expect(await calls(metrics, 'gettoken')).to.equal(2);
    expect(await calls(metrics, 'department/list', '42001')).to.equal(1);
  });

  it('refreshes on 40014 too, but only once per call', async () => {
    const api = wecomApi(gatewayFor(metrics).client(TEST_CORP.corpId, 'contact'));
    sandbox.control.addFault({ api: 'department/list', errcode: 40014, count: 2 });
    const error = await api.departments().catch((e: unknown) => e);
    expect(error).to.be.instanceOf(WeComApiError);
    expect((error as WeComApiError).errcode).to.equal(40014);
    expect(await calls(metrics, 'gettoken')).to.equal(2);
  });

  it('waits out 45009 for the window instead of spending calls, then succeeds', async () => {
    const gateway = gatewayFor(metrics, { blockMs: 300 });
    const api = wecomApi(gateway.client(TEST_CORP.corpId, 'contact'));
    sandbox.control.addFault({ api: 'externalcontact/get_corp_tag_list', errcode: 45009, count: 1 });
    const [first, second] = await Promise.all([api.corpTags(), new Promise((r) => setTimeout(r, 50)).then(() => api.corpTags())]);
    expect(first.length).to.be.greaterThan(0);
    expect(second.length).to.equal(first.length);
    // One refused call, then exactly the two that succeeded: the second caller waited instead of calling.
    expect(await calls(metrics, 'externalcontact/get_corp_tag_list', '45009')).to.equal(1);
    expect(await calls(metrics, 'externalcontact/get_corp_tag_list', '0')).to.equal(2);
  });

  it('retries -1, 5xx, slow answers and dropped connections with backoff', async () => {
    const api = wecomApi(gatewayFor(metrics, { timeoutMs: 200 }).client(TEST_CORP.corpId, 'contact'));
    sandbox.control.addFault({ api: 'department/list', errcode: -1, count: 1 });
    sandbox.control.addFault({ api: 'user/list', httpStatus: 502, count: 1 });
    sandbox.control.addFault({ api: 'externalcontact/get_corp_tag_list', delayMs: 1000, count: 1 });
    sandbox.control.addFault({ api: 'externalcontact/groupchat/list', drop: true, count: 1 });
    await api.departments();
    await api.members(1);
    await api.corpTags();
    await api.groupChats();
    expect(await calls(metrics, 'department/list', '-1')).to.equal(1);
    expect(await calls(metrics, 'user/list', 'http_502')).to.equal(1);
    expect(await calls(metrics, 'externalcontact/get_corp_tag_list', 'timeout')).to.equal(1);
    expect(await calls(metrics, 'externalcontact/groupchat/list', 'network')).to.equal(1);
  });

  it('gives up after its retries with an unavailable error', async () => {
    const api = wecomApi(gatewayFor(metrics, { retries: 2 }).client(TEST_CORP.corpId, 'contact'));
    sandbox.control.addFault({ api: 'department/list', httpStatus: 503 });
    const error = await api.departments().catch((e: unknown) => e);
    expect(error).to.be.instanceOf(WeComUnavailableError);
    expect(await calls(metrics, 'department/list', 'http_503')).to.equal(3);
  });

  it('does not repeat a non-idempotent call after a dropped connection', async () => {
    const api = wecomApi(gatewayFor(metrics).client(TEST_CORP.corpId, 'contact'));
    sandbox.control.addFault({ api: 'externalcontact/add_contact_way', drop: true, count: 1 });
    const error = await api.addContactWay({ type: 1, scene: 2, state: 'no-retry', user: ['ZhangWei'] }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(WeComUnavailableError);
    expect(await calls(metrics, 'externalcontact/add_contact_way')).to.equal(1);
  });

  it('starts no attempt after the call\'s deadline, even while waiting out 45009', async () => {
    const client = gatewayFor(metrics, { blockMs: 300 }).client(TEST_CORP.corpId, 'contact');
    sandbox.control.addFault({ api: 'externalcontact/add_contact_way', errcode: 45009, count: 1 });
    const body = { type: 1, scene: 2, state: 'deadline', user: ['ZhangWei'] };
    const error = await client.call('externalcontact/add_contact_way', { body, idempotent: false, notAfter: Date.now() + 100 }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(WeComDeadlineError);
    expect(await calls(metrics, 'externalcontact/add_contact_way')).to.equal(1);
    expect([...sandbox.world.contactWays.values()].some((w) => w.state === 'deadline')).to.equal(false);
  });

  it('raises any other errcode as a typed error carrying the code', async () => {
    const api = wecomApi(gatewayFor(metrics).client(TEST_CORP.corpId, 'contact'));
    const error = await api.contact('wm-not-a-customer').catch((e: unknown) => e);
    expect(error).to.be.instanceOf(WeComApiError);
    expect((error as WeComApiError).errcode).to.be.oneOf([40096, 84061]);
    expect((error as WeComApiError).api).to.equal('externalcontact/get');
  });
});
