import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import Koa from 'koa';
import { sql } from 'kysely';
import { LogCapture, testCipher, testDatabase } from '../../../test/harness.js';
import { createLogger } from '../../platform/logger.js';
import { createMetrics } from '../../platform/metrics.js';
import { createJobRunner, type JobRunner } from '../../platform/jobs.js';
import { AppError } from '../../platform/errors.js';
import type { DatabaseHandle } from '../../platform/db/database.js';
import { Api } from '../../platform/http/api.js';
import type { AppState } from '../../platform/http/context.js';
import { errorHandler, requestContext } from '../../platform/http/middleware.js';
import { createSession, sessionMiddleware } from '../../auth/index.js';
import { CallbackRejected, buildXml, parseXml, sealEnvelope, type CallbackSecrets } from '../crypto.js';
import { CorpRegistry, saveCorp } from '../corps.js';
import type { CallbackEvent, CallbackHandlers } from '../events.js';
import {
  INBOX_SWEEP_JOB,
  Inbox,
  PROCESS_EVENT_JOB,
  callbackRouter,
  dedupeKeyOf,
  defineCallbackJobs,
  jobKeyOf,
  registerInboxRoutes,
  scheduleCallbackJobs,
} from './index.js';
import { readCallbackXml, readFlat } from './xml.js';

// WeCom's public sample (REFERENCE §1, SHAPES §13.6) and a bank corp with keys made for this run.
const SAMPLE: CallbackSecrets = { corpId: 'wx5823bf96d3bd56c7', token: 'QDG6eK', aesKey: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C' };
const BANK: CallbackSecrets = {
  corpId: 'ww2c8f1e5a7b3d9c04',
  token: `tok${randomBytes(12).toString('hex')}`,
  aesKey: randomBytes(32).toString('base64').slice(0, 43),
};

type Fields = Record<string, string | number | string[] | undefined>;

const until = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

/** Handlers that remember every call; two sentinel customers make them fail. */
class RecordingHandlers implements CallbackHandlers {
  readonly calls: CallbackEvent[] = [];
  private note(event: CallbackEvent): void {
    this.calls.push(event);
    const attempt = this.calls.filter((c) => c.inboxId === event.inboxId).length;
    if (event.kind !== 'contact') return;
    if (event.externalUserid === 'wm-flaky' && attempt < 3) throw new Error(`flaky CRM, attempt ${attempt}`);
    if (event.externalUserid === 'wm-broken') throw new Error('CRM rejected the contact of 13812345678');
  }
  async contact(event: Extract<CallbackEvent, { kind: 'contact' }>) {
    this.note(event);
  }
  async chat(event: Extract<CallbackEvent, { kind: 'chat' }>) {
    this.note(event);
  }
  async tag(event: Extract<CallbackEvent, { kind: 'tag' }>) {
    this.note(event);
  }
  async kf(event: Extract<CallbackEvent, { kind: 'kf' }>) {
    this.note(event);
  }
  async message(event: Extract<CallbackEvent, { kind: 'message' }>) {
    this.note(event);
  }
  callsFor(inboxId: string) {
    return this.calls.filter((c) => c.inboxId === inboxId);
  }
}

describe('the WeCom callback gateway', () => {
  const logs = new LogCapture();
  const logger = createLogger({ level: 'info', destination: logs });
  const handlers = new RecordingHandlers();
  const sentCiphertexts: string[] = [];
  let database: DatabaseHandle;
  let jobs: JobRunner;
  let inbox: Inbox;
  let server: http.Server;
  let base: string;
  let clock = 1716201000;

  const db = () => database.db;
  const countRows = async () => Number((await db().selectFrom('wecom_events').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
  const countJobs = async (name = PROCESS_EVENT_JOB) =>
    Number((await sql<{ n: string }>`SELECT count(*) AS n FROM agenda_jobs WHERE name = ${name}`.execute(db())).rows[0]!.n);
  const row = (id: string) => db().selectFrom('wecom_events').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const statusOf = async (id: string) => (await row(id)).status;

  const url = (corpId: string, query: Record<string, string>) => `${base}/wecom/callback/${corpId}?${new URLSearchParams(query)}`;

  async function send(corpId: string, query: Record<string, string>, body: string, method = 'POST') {
    const response = await fetch(url(corpId, query), { method, body: method === 'POST' ? body : undefined, headers: { 'content-type': 'text/xml' } });
    return { status: response.status, text: await response.text(), type: response.headers.get('content-type') ?? '' };
  }

  /** Seals a plaintext event as WeCom does and posts it; returns the answer and the inbox row. */
  async function push(fields: Fields, corp = BANK, options: { timestamp?: string; nonce?: string } = {}) {
    const sealed = sealEnvelope(corp, buildXml(fields), options);
    sentCiphertexts.push(sealed.encrypted);
    const answer = await send(corp.corpId, sealed.query, sealed.body);
    const dedupeKey = dedupeKeyOf(parseXml(buildXml(fields)));
    const stored = await db().selectFrom('wecom_events').selectAll().where('corp_id', '=', corp.corpId).where('dedupe_key', '=', dedupeKey).executeTakeFirst();
    return { ...answer, row: stored, sealed };
  }

  const header = (event: string): Fields => ({ ToUserName: BANK.corpId, FromUserName: 'sys', CreateTime: clock++, MsgType: 'event', Event: event });
  const contactEvent = (changeType: string, externalUserid: string, extra: Fields = {}): Fields => ({
    ...header('change_external_contact'),
    ChangeType: changeType,
    UserID: 'zhangwei',
    ExternalUserID: externalUserid,
    ...extra,
  });

  before(async () => {
    database = await testDatabase(logger);
    const cipher = testCipher();
    for (const corp of [SAMPLE, BANK]) {
      await saveCorp(database.db, cipher, { ...corp, name: corp.corpId, apiBase: 'http://127.0.0.1:9/cgi-bin', source: 'console' });
    }
    jobs = createJobRunner({ pool: database.pool, logger, processEveryMs: 100 });
    inbox = new Inbox({ db: database.db, jobs, logger });
    defineCallbackJobs(jobs, { db: database.db, handlers, logger, retryDelayMs: 50 });
    await jobs.start();

    const app = new Koa<AppState>();
    app.silent = true;
    app.use(requestContext(logger, createMetrics({ defaults: false })));
    app.use(errorHandler());
    const callbacks = callbackRouter({ registry: new CorpRegistry(database.db, cipher), inbox, logger });
    app.use(callbacks.routes());
    app.use(callbacks.allowedMethods());
    const api = new Api('/api/v1');
    registerInboxRoutes(api, { inbox });
    app.use(sessionMiddleware(database.db));
    app.use(api.router.routes());
    server = http.createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await inbox?.drain();
    await jobs?.stop();
    await database?.close();
  });

  describe('URL check', () => {
    it('answers WeCom’s public sample with exactly the decrypted echostr, as plain text', async () => {
      const query = {
        msg_signature: '5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3',
        timestamp: '1409659589',
        nonce: '263014780',
        echostr: 'P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==',
      };
      const response = await fetch(url(SAMPLE.corpId, query));
      const bytes = Buffer.from(await response.arrayBuffer());
      expect(response.status).to.equal(200);
      expect(response.headers.get('content-type')).to.match(/^text\/plain/);
      expect(bytes.toString('utf8')).to.equal('1616140317555161061');
      expect(bytes).to.have.length(19); // no BOM, quotes or newline
    });

    it('accepts an echostr whose + signs were not percent-encoded', async () => {
      // A '+' left raw in a query string decodes as a space; base64 never holds one.
      let sealed = sealEnvelope(BANK, '4242', { timestamp: '1716201000', nonce: '7' });
      while (!sealed.encrypted.includes('+')) sealed = sealEnvelope(BANK, '4242', { timestamp: '1716201000', nonce: '7' });
      const echostr = sealed.encrypted.replace(/\//g, '%2F').replace(/=/g, '%3D');
      const raw = `${base}/wecom/callback/${BANK.corpId}?msg_signature=${sealed.query.msg_signature}&timestamp=1716201000&nonce=7&echostr=${echostr}`;
      const response = await fetch(raw);
      expect(response.status).to.equal(200);
      expect(await response.text()).to.equal('4242');
    });

    it('refuses a URL check with a forged signature and leaks no plaintext', async () => {
      const sealed = sealEnvelope(BANK, 'secret-echo');
      sentCiphertexts.push(sealed.encrypted);
      const answer = await send(BANK.corpId, { ...sealed.query, msg_signature: 'f'.repeat(40), echostr: sealed.encrypted }, '', 'GET');
      expect(answer.status).to.equal(403);
      expect(answer.text).not.to.include('secret-echo');
      expect(logs.lines.some((l) => l.msg === 'wecom callback rejected' && l.reason === 'bad_signature' && l.method === 'GET')).to.equal(true);
    });
  });

  describe('rejections', () => {
    const text = (fields: Fields) => buildXml(fields);
    const cases: { name: string; status: number; reason: RegExp; request: () => { corpId: string; query: Record<string, string>; body: string } }[] = [
      {
        name: 'a forged signature',
        status: 403,
        reason: /^bad_signature$/,
        request: () => {
          const sealed = sealEnvelope(BANK, text(contactEvent('add_external_contact', 'wm-forged')));
          sentCiphertexts.push(sealed.encrypted);
          return { corpId: BANK.corpId, query: { ...sealed.query, msg_signature: 'f'.repeat(40) }, body: sealed.body };
        },
      },
      {
        name: 'a request without its signature parameters',
        status: 400,
        reason: /^missing_parameters$/,
        request: () => {
          const sealed = sealEnvelope(BANK, text(contactEvent('add_external_contact', 'wm-unsigned')));
          sentCiphertexts.push(sealed.encrypted);
          return { corpId: BANK.corpId, query: { timestamp: sealed.query.timestamp }, body: sealed.body };
        },
      },
      {
        name: 'an event sealed with the wrong AES key',
        status: 403,
        // Decrypting with a wrong key yields garbage rather than an error: the receive id check catches it.
        reason: /^(bad_key|wrong_receiver)$/,
        request: () => {
          const sealed = sealEnvelope({ ...BANK, aesKey: randomBytes(32).toString('base64').slice(0, 43) }, text(contactEvent('add_external_contact', 'wm-wrongkey')));
          sentCiphertexts.push(sealed.encrypted);
          return { corpId: BANK.corpId, query: sealed.query, body: sealed.body };
        },
      },
      {
        name: 'an event addressed to another corp',
        status: 403,
        reason: /^wrong_receiver$/,
        request: () => {
          const sealed = sealEnvelope({ ...BANK, corpId: 'wwsomeoneelse' }, text(contactEvent('add_external_contact', 'wm-elsewhere')));
          sentCiphertexts.push(sealed.encrypted);
          return { corpId: BANK.corpId, query: sealed.query, body: sealed.body };
        },
      },
      {
        name: 'a malformed envelope',
        status: 400,
        reason: /^malformed$/,
        request: () => ({ corpId: BANK.corpId, query: { msg_signature: 'a'.repeat(40), timestamp: '1', nonce: '2' }, body: '<xml><Encrypt><![CDATA[abc' }),
      },
      {
        name: 'an envelope without Encrypt',
        status: 400,
        reason: /^malformed$/,
        request: () => ({ corpId: BANK.corpId, query: { msg_signature: 'a'.repeat(40), timestamp: '1', nonce: '2' }, body: `<xml><ToUserName>${BANK.corpId}</ToUserName></xml>` }),
      },
      {
        name: 'a correctly sealed plaintext that is not XML',
        status: 400,
        reason: /^malformed$/,
        request: () => {
          const sealed = sealEnvelope(BANK, 'this is not <xml');
          sentCiphertexts.push(sealed.encrypted);
          return { corpId: BANK.corpId, query: sealed.query, body: sealed.body };
        },
      },
      {
        name: 'a correctly sealed XML that is no WeCom event',
        status: 400,
        reason: /^malformed$/,
        request: () => {
          const sealed = sealEnvelope(BANK, '<xml><Hello>world</Hello></xml>');
          sentCiphertexts.push(sealed.encrypted);
          return { corpId: BANK.corpId, query: sealed.query, body: sealed.body };
        },
      },
      {
        name: 'a correctly sealed plaintext holding a NUL character',
        status: 400,
        reason: /^malformed$/,
        request: () => {
          const sealed = sealEnvelope(BANK, text(contactEvent('add_external_contact', 'wm-nul')).replace('</xml>', '\u0000</xml>'));
          sentCiphertexts.push(sealed.encrypted);
          return { corpId: BANK.corpId, query: sealed.query, body: sealed.body };
        },
      },
      {
        name: 'an unknown corp',
        status: 404,
        reason: /^unknown_corp$/,
        request: () => {
          const sealed = sealEnvelope({ ...BANK, corpId: 'wwnosuchcorp' }, text(contactEvent('add_external_contact', 'wm-nocorp')));
          sentCiphertexts.push(sealed.encrypted);
          return { corpId: 'wwnosuchcorp', query: sealed.query, body: sealed.body };
        },
      },
      {
        name: 'a body over 64 KiB',
        status: 413,
        reason: /^too_large$/,
        request: () => {
          const sealed = sealEnvelope(BANK, text(contactEvent('add_external_contact', 'wm-huge', { State: 'x'.repeat(70_000) })));
          return { corpId: BANK.corpId, query: sealed.query, body: sealed.body };
        },
      },
    ];

    for (const c of cases) {
      it(`refuses ${c.name} with ${c.status}, stores nothing and logs the reason`, async () => {
        const rowsBefore = await countRows();
        await inbox.drain();
        const jobsBefore = await countJobs();
        const linesBefore = logs.lines.length;
        const { corpId, query, body } = c.request();
        const answer = await send(corpId, query, body);
        expect(answer.status).to.equal(c.status);
        await inbox.drain();
        expect(await countRows()).to.equal(rowsBefore);
        expect(await countJobs()).to.equal(jobsBefore);
        const warning = logs.lines.slice(linesBefore).find((l) => l.msg === 'wecom callback rejected');
        expect(warning, 'a warning').to.include({ level: 'warn', corpId });
        expect(String(warning!.reason)).to.match(c.reason);
      });
    }

    it('refuses a chunked body that grows past the limit without waiting for its end', async () => {
      const rowsBefore = await countRows();
      const sealed = sealEnvelope(BANK, buildXml(contactEvent('add_external_contact', 'wm-chunked')));
      const status = await new Promise<number>((resolve, reject) => {
        const request = http.request(url(BANK.corpId, sealed.query), { method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        });
        request.on('error', reject);
        for (let i = 0; i < 5; i++) request.write('x'.repeat(16 * 1024));
        // The request is never ended: the answer must come from the limit, not from the end of the body.
      });
      expect(status).to.equal(413);
      expect(await countRows()).to.equal(rowsBefore);
    });

    it('never writes a callback token, an AES key or a ciphertext to the log', async () => {
      const log = logs.text();
      expect(log).to.include('wecom callback rejected');
      for (const secret of [BANK.token, BANK.aesKey, SAMPLE.aesKey]) expect(log).not.to.include(secret);
      expect(log).not.to.match(/"QDG6eK"|token":"QDG6eK/);
      for (const ciphertext of sentCiphertexts) expect(log).not.to.include(ciphertext.slice(0, 40));
    });
  });

  describe('recording', () => {
    it('records WeCom’s sample message, answers 200 with an empty body and processes it as a message', async () => {
      const encrypted =
        'RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==';
      sentCiphertexts.push(encrypted);
      const body = `<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><AgentID><![CDATA[218]]></AgentID><Encrypt><![CDATA[${encrypted}]]></Encrypt></xml>`;
      const answer = await send(SAMPLE.corpId, { msg_signature: '477715d11cdb4164915debcba66cb864d751f3e6', timestamp: '1409659813', nonce: '1372623149' }, body);
      expect(answer.status).to.equal(200);
      expect(answer.text).to.equal('');
      const stored = await db().selectFrom('wecom_events').selectAll().where('corp_id', '=', SAMPLE.corpId).executeTakeFirstOrThrow();
      expect(stored).to.include({ dedupe_key: 'msg:218:4561255354251345929', event: 'text', change_type: null, seen_count: 1 });
      await until('the sample is processed', async () => (await statusOf(stored.id)) === 'processed');
      expect(handlers.callsFor(stored.id)).to.deep.equal([
        { kind: 'message', msgType: 'text', fromUserid: 'mycreate', content: 'hello', msgId: '4561255354251345929', agentId: '218', corpId: SAMPLE.corpId, createTime: 1409659813, inboxId: stored.id },
      ]);
    });

    it('counts a replay on the first row and enqueues no second job', async () => {
      const fields = contactEvent('add_external_contact', 'wm-replayed', { State: 'branch-chengdu-01', WelcomeCode: 'WELCOME1' });
      const first = await push(fields, BANK, { timestamp: '1716201000', nonce: '11' });
      expect(first.status).to.equal(200);
      await inbox.drain();
      const jobsAfterFirst = await countJobs();
      // WeCom's retry: the same plaintext, sealed again with a new nonce and time; then the very same request again.
      const retried = await push(fields, BANK, { timestamp: '1716201005', nonce: '12' });
      const repeated = await send(BANK.corpId, first.sealed.query, first.sealed.body);
      expect([retried.status, repeated.status]).to.deep.equal([200, 200]);
      await inbox.drain();
      const stored = await row(first.row!.id);
      expect(stored.seen_count).to.equal(3);
      expect(stored.last_seen_at.getTime()).to.be.at.least(stored.received_at.getTime());
      expect(await countJobs()).to.equal(jobsAfterFirst);
      const keyed = await sql<{ n: string }>`SELECT count(*) AS n FROM agenda_jobs WHERE data->>'jobKey' = ${jobKeyOf(stored.id)}`.execute(db());
      expect(keyed.rows[0]!.n).to.equal('1');
      await until('the replayed event is processed', async () => (await statusOf(stored.id)) === 'processed');
      expect(handlers.callsFor(stored.id)).to.have.length(1);
    });

    it('keeps apart customers added by the same member in the same second', async () => {
      const at = clock++;
      const a = await push({ ...contactEvent('add_external_contact', 'wm-same-second-a'), CreateTime: at });
      const b = await push({ ...contactEvent('add_external_contact', 'wm-same-second-b'), CreateTime: at });
      expect([a.status, b.status]).to.deep.equal([200, 200]);
      expect(a.row!.id).not.to.equal(b.row!.id);
      expect([a.row!.seen_count, b.row!.seen_count]).to.deep.equal([1, 1]);
    });

    it('records concurrent deliveries in shared statements, one row per event, a bad record failing alone', async () => {
      const shared = new Inbox({ db: database.db, jobs, logger, writeConcurrency: 1 });
      const event = (n: number) => parseXml(buildXml(contactEvent('add_external_contact', `wm-batch-${n}`)));
      const repeated = event(100);
      const poison = { ...event(101), State: 'bad\u0000state' }; // jsonb refuses NUL: the statement fails
      const results = await Promise.allSettled([
        shared.record(BANK.corpId, event(0)), // goes out alone; everything below waits and shares the next statement
        ...Array.from({ length: 10 }, (_, i) => shared.record(BANK.corpId, event(i + 1))),
        ...Array.from({ length: 5 }, () => shared.record(BANK.corpId, repeated)),
        shared.record(BANK.corpId, poison),
      ]);
      await shared.drain();
      const fulfilled = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      expect(results.filter((r) => r.status === 'rejected')).to.have.length(1);
      expect(results.at(-1)!.status).to.equal('rejected');
      expect(new Set(fulfilled.slice(0, 11).map((r) => r.id)).size).to.equal(11);
      expect(fulfilled.slice(0, 11).every((r) => !r.duplicate)).to.equal(true);
      const copies = fulfilled.slice(11);
      expect(new Set(copies.map((r) => r.id)).size).to.equal(1);
      expect(copies.filter((r) => !r.duplicate)).to.have.length(1);
      expect((await row(copies[0]!.id)).seen_count).to.equal(5);
      // 17 records: the first alone, 16 in one shared statement that failed, then 16 alone.
      expect(shared.stats).to.deep.equal({ statements: 18, records: 33, splits: 1 });
      const keyed = await sql<{ n: string }>`SELECT count(*) AS n FROM agenda_jobs WHERE data->>'jobKey' = ${jobKeyOf(copies[0]!.id)}`.execute(db());
      expect(keyed.rows[0]!.n).to.equal('1');
    });

    it('runs a second recording statement only for a full batch, and enqueues the jobs in one insert once the recording is done', async () => {
      // A long enqueue delay: the jobs go when the recording is done, not when a timer fires.
      const shared = new Inbox({ db: database.db, jobs, logger, enqueueMaxDelayMs: 60_000 });
      const event = (n: number) => parseXml(buildXml(contactEvent('add_external_contact', `wm-coalesced-${n}`)));
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => shared.record(BANK.corpId, event(i))));
      await shared.drain();
      expect(results.every((r) => !r.duplicate)).to.equal(true);
      // The first record went out alone; the 11 that found it in flight (writeConcurrency 4, but not a full batch) shared the next.
      expect(shared.stats).to.deep.equal({ statements: 2, records: 12, splits: 0 });
      // The first row's job waited for the second statement, and all 12 went together.
      expect(shared.enqueueStats).to.deep.equal({ calls: 1, ids: 12 });
      const keyed = await sql<{ n: string }>`SELECT count(*) AS n FROM agenda_jobs WHERE data->>'jobKey' = ANY(${results.map((r) => jobKeyOf(r.id))}::text[])`.execute(db());
      expect(keyed.rows[0]!.n).to.equal('12');
    });

    it('gives different keys to events that differ in any identifying field, and the same key to a replay', () => {
      const key = (fields: Fields) => dedupeKeyOf(parseXml(buildXml(fields)));
      const base: Fields = { ToUserName: BANK.corpId, FromUserName: 'sys', CreateTime: 1716201000, MsgType: 'event', Event: 'change_external_contact', ChangeType: 'add_external_contact', UserID: 'zhangwei', ExternalUserID: 'wm1' };
      const chat: Fields = { ...base, Event: 'change_external_chat', ChangeType: 'update', UserID: undefined, ExternalUserID: undefined, ChatId: 'wr1', UpdateDetail: 'add_member', MemChangeList: ['wm1'] };
      const tag: Fields = { ...base, Event: 'change_external_tag', ChangeType: 'create', UserID: undefined, ExternalUserID: undefined, Id: 'et1', TagType: 'tag' };
      const kf: Fields = { ToUserName: BANK.corpId, CreateTime: 1716201000, MsgType: 'event', Event: 'kf_msg_or_event', Token: 'T1', OpenKfId: 'wk1' };
      const variants: Fields[] = [
        base,
        { ...base, ChangeType: 'del_follow_user' },
        { ...base, UserID: 'lina' },
        { ...base, ExternalUserID: 'wm2' },
        { ...base, State: 'branch-01' },
        { ...base, State: 'branch-02' },
        { ...base, CreateTime: 1716201001 },
        chat,
        { ...chat, ChatId: 'wr2' },
        { ...chat, UpdateDetail: 'del_member' },
        { ...chat, MemChangeList: ['wm2'] },
        { ...chat, MemChangeList: ['wm1', 'wm2'] },
        tag,
        { ...tag, Id: 'et2' },
        { ...tag, TagType: 'tag_group' },
        { ...tag, ChangeType: 'delete' },
        kf,
        { ...kf, Token: 'T2' },
        { ...base, FromUserName: 'zhangwei', MsgType: 'text', Event: undefined, ChangeType: undefined, MsgId: '7365012345678901234', AgentID: '1000002' },
        { ...base, FromUserName: 'zhangwei', MsgType: 'text', Event: undefined, ChangeType: undefined, MsgId: '7365012345678901235', AgentID: '1000002' },
      ];
      const keys = variants.map(key);
      expect(new Set(keys).size).to.equal(variants.length);
      expect(keys.map((k) => k.length).every((n) => n < 300)).to.equal(true);
      for (const fields of variants) expect(key({ ...fields })).to.equal(key(fields));
      expect(key({ ...chat, MemChangeList: Array.from({ length: 2000 }, (_, i) => `wm${i}`) }).length).to.be.below(300);
    });
  });

  describe('processing', () => {
    it('hands every change type to its handler with the parsed fields', async () => {
      const sent: { fields: Fields; expected: Record<string, unknown> }[] = [
        {
          fields: contactEvent('add_external_contact', 'wm-add', { State: 'branch-chengdu-01', WelcomeCode: 'WELCOMECODE' }),
          expected: { kind: 'contact', changeType: 'add_external_contact', userid: 'zhangwei', externalUserid: 'wm-add', state: 'branch-chengdu-01', welcomeCode: 'WELCOMECODE' },
        },
        {
          fields: contactEvent('add_half_external_contact', 'wm-half', { State: 'card-1' }),
          expected: { kind: 'contact', changeType: 'add_half_external_contact', userid: 'zhangwei', externalUserid: 'wm-half', state: 'card-1' },
        },
        { fields: contactEvent('edit_external_contact', 'wm-edit'), expected: { kind: 'contact', changeType: 'edit_external_contact', userid: 'zhangwei', externalUserid: 'wm-edit' } },
        {
          fields: contactEvent('del_external_contact', 'wm-del', { Source: 'DELETE_BY_TRANSFER' }),
          expected: { kind: 'contact', changeType: 'del_external_contact', userid: 'zhangwei', externalUserid: 'wm-del', source: 'DELETE_BY_TRANSFER' },
        },
        { fields: contactEvent('del_follow_user', 'wm-left'), expected: { kind: 'contact', changeType: 'del_follow_user', userid: 'zhangwei', externalUserid: 'wm-left' } },
        {
          fields: contactEvent('transfer_fail', 'wm-refused', { FailReason: 'customer_refused' }),
          expected: { kind: 'contact', changeType: 'transfer_fail', userid: 'zhangwei', externalUserid: 'wm-refused', failReason: 'customer_refused' },
        },
        { fields: { ...header('change_external_chat'), ChatId: 'wr-created', ChangeType: 'create' }, expected: { kind: 'chat', changeType: 'create', chatId: 'wr-created', memberIds: [] } },
        {
          fields: {
            ...header('change_external_chat'),
            ChatId: 'wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA',
            ChangeType: 'update',
            UpdateDetail: 'add_member',
            JoinScene: 3,
            QuitScene: 0,
            MemChangeCnt: 2,
            MemChangeList: ['wmA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv', 'lina'],
            LastMemVer: '9c3f97c2ada667dfb5f6d03308d963e1',
            CurMemVer: '71217227bbd112ecfe3a49c482195cb4',
          },
          expected: {
            kind: 'chat',
            changeType: 'update',
            chatId: 'wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA',
            updateDetail: 'add_member',
            joinScene: 3,
            quitScene: 0,
            memberIds: ['wmA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv', 'lina'],
            lastMemVer: '9c3f97c2ada667dfb5f6d03308d963e1',
            curMemVer: '71217227bbd112ecfe3a49c482195cb4',
          },
        },
        { fields: { ...header('change_external_chat'), ChatId: 'wr-gone', ChangeType: 'dismiss' }, expected: { kind: 'chat', changeType: 'dismiss', chatId: 'wr-gone', memberIds: [] } },
        {
          fields: { ...header('change_external_tag'), Id: 'etTagDddd0001', TagType: 'tag', ChangeType: 'create', StrategyId: 1 },
          expected: { kind: 'tag', changeType: 'create', id: 'etTagDddd0001', tagType: 'tag', strategyId: '1' },
        },
        { fields: { ...header('change_external_tag'), Id: 'etGrp0001', TagType: 'tag_group', ChangeType: 'update' }, expected: { kind: 'tag', changeType: 'update', id: 'etGrp0001', tagType: 'tag_group' } },
        { fields: { ...header('change_external_tag'), Id: 'etTag0002', TagType: 'tag', ChangeType: 'delete' }, expected: { kind: 'tag', changeType: 'delete', id: 'etTag0002', tagType: 'tag' } },
        { fields: { ...header('change_external_tag'), Id: 'etGrpAaaa0001', StrategyId: 'STRATEGY_ID', ChangeType: 'shuffle' }, expected: { kind: 'tag', changeType: 'shuffle', id: 'etGrpAaaa0001', strategyId: 'STRATEGY_ID' } },
        { fields: { ...header('change_external_tag'), Id: '', ChangeType: 'shuffle' }, expected: { kind: 'tag', changeType: 'shuffle', id: '' } },
        {
          fields: { ToUserName: BANK.corpId, CreateTime: clock++, MsgType: 'event', Event: 'kf_msg_or_event', Token: 'ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR', OpenKfId: 'wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q' },
          expected: { kind: 'kf', token: 'ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR', openKfId: 'wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q' },
        },
        {
          fields: { ToUserName: BANK.corpId, FromUserName: 'zhangwei', CreateTime: clock++, MsgType: 'text', Content: '查询今日待办', MsgId: '7365012345678901234', AgentID: 1000002 },
          expected: { kind: 'message', msgType: 'text', fromUserid: 'zhangwei', content: '查询今日待办', msgId: '7365012345678901234', agentId: '1000002' },
        },
      ];
      const recorded: { id: string; createTime: number; expected: Record<string, unknown> }[] = [];
      for (const { fields, expected } of sent) {
        const answer = await push(fields);
        expect(answer.status, JSON.stringify(fields)).to.equal(200);
        recorded.push({ id: answer.row!.id, createTime: Number(fields.CreateTime), expected });
      }
      await until('every event is processed', async () => {
        const statuses = await db().selectFrom('wecom_events').select('status').where('id', 'in', recorded.map((r) => r.id)).execute();
        return statuses.every((s) => s.status === 'processed');
      });
      for (const { id, createTime, expected } of recorded) {
        expect(handlers.callsFor(id)).to.deep.equal([{ ...expected, corpId: BANK.corpId, createTime, inboxId: id }]);
        const stored = await row(id);
        expect(stored.processed_at).to.be.instanceOf(Date);
        expect(stored.error).to.equal(null);
      }
    });

    it('marks an event the product does not act on as ignored, calling no handler', async () => {
      const answer = await push({ ...header('change_contact'), ChangeType: 'create_user', UserID: 'newbie' });
      expect(answer.status).to.equal(200);
      const id = answer.row!.id;
      await until('the event is ignored', async () => (await statusOf(id)) === 'ignored');
      expect((await row(id)).error).to.equal('not handled: change_contact/create_user');
      expect(handlers.callsFor(id)).to.deep.equal([]);
    });

    it('retries a failing handler with backoff and marks the event processed once it succeeds', async () => {
      const answer = await push(contactEvent('add_external_contact', 'wm-flaky'));
      const id = answer.row!.id;
      await until('the flaky event is processed', async () => (await statusOf(id)) === 'processed');
      expect(handlers.callsFor(id)).to.have.length(3);
      expect((await row(id)).error).to.equal(null);
      const failures = logs.lines.filter((l) => l.msg === 'job failed' && l.jobKey === jobKeyOf(id));
      expect(failures).to.have.length(2);
    });

    it('marks an event failed, with its masked error, when the last of five retries fails', async () => {
      const answer = await push(contactEvent('del_follow_user', 'wm-broken'));
      const id = answer.row!.id;
      await until('the broken event is failed', async () => (await statusOf(id)) === 'failed');
      expect(handlers.callsFor(id)).to.have.length(6);
      const stored = await row(id);
      expect(stored.error).to.equal('CRM rejected the contact of 138****5678');
      expect(stored.processed_at).to.equal(null);
    });

    it('has the sweeper enqueue an event whose job was never enqueued, once it is 30 seconds old', async () => {
      // An inbox whose job store is down: the rows are recorded, their jobs are not.
      const down = async () => Promise.reject(new AppError('unavailable', 'job store unavailable'));
      const brokenJobs: JobRunner = { ...jobs, enqueue: down, enqueueMany: down };
      const orphans = new Inbox({ db: database.db, jobs: brokenJobs, logger });
      const old = await orphans.record(BANK.corpId, parseXml(buildXml(contactEvent('edit_external_contact', 'wm-orphan-old'))));
      const fresh = await orphans.record(BANK.corpId, parseXml(buildXml(contactEvent('edit_external_contact', 'wm-orphan-fresh'))));
      await orphans.drain();
      expect(logs.lines.some((l) => String(l.msg).includes('could not be enqueued') && l.firstInboxId === old.id)).to.equal(true);
      const keyed = async (id: string) =>
        Number((await sql<{ n: string }>`SELECT count(*) AS n FROM agenda_jobs WHERE data->>'jobKey' = ${jobKeyOf(id)}`.execute(db())).rows[0]!.n);
      expect([await keyed(old.id), await keyed(fresh.id)]).to.deep.equal([0, 0]);

      await db().updateTable('wecom_events').set({ received_at: sql<Date>`now() - interval '2 minutes'` }).where('id', '=', old.id).execute();
      await jobs.enqueue(INBOX_SWEEP_JOB, {}, { key: 'test-sweep', cause: { type: 'system', id: 'test' } });
      await until('the orphan is processed', async () => (await statusOf(old.id)) === 'processed');
      await until('the sweep has finished', async () => {
        const r = await sql<{ done: boolean }>`SELECT last_finished_at IS NOT NULL AS done FROM agenda_jobs WHERE data->>'jobKey' = 'test-sweep'`.execute(db());
        return r.rows[0]?.done === true;
      });
      expect(handlers.callsFor(old.id)).to.have.length(1);
      expect(await statusOf(fresh.id)).to.equal('received');
      expect(await keyed(fresh.id)).to.equal(0);

      await scheduleCallbackJobs(jobs);
      const schedule = await sql<{ repeat_interval: string }>`SELECT repeat_interval FROM agenda_jobs WHERE name = ${INBOX_SWEEP_JOB} AND repeat_interval IS NOT NULL`.execute(db());
      expect(schedule.rows.map((r) => r.repeat_interval)).to.deep.equal(['1 minute']);
    });
  });

  describe('the inbox list', () => {
    const staff: Record<string, string> = {};
    before(async () => {
      await db().insertInto('branches').values({ id: 'br-test', name: '测试支行', city: '成都' }).execute();
      for (const role of ['admin', 'ops', 'compliance', 'account_manager'] as const) {
        const member = await db()
          .insertInto('staff')
          .values({ username: `inbox-${role}`, display_name: role, role, branch_id: role === 'account_manager' ? 'br-test' : null, corp_id: null, wecom_userid: null, title: null, password_hash: null })
          .returning('id')
          .executeTakeFirstOrThrow();
        staff[role] = (await createSession(db(), member.id, 1, { ip: '127.0.0.1' })).token;
      }
    });

    const list = async (query: string, role?: string) => {
      const response = await fetch(`${base}/api/v1/wecom/events${query}`, { headers: role ? { cookie: `scrm_session=${staff[role]}` } : {} });
      return { status: response.status, body: (await response.json()) as { items: Record<string, unknown>[] } };
    };

    it('shows received events newest first with their type, change type, key, times, status, times seen and failed attempts', async () => {
      const fields = contactEvent('add_external_contact', 'wm-listed', { State: 'branch-01' });
      const answer = await push(fields);
      expect((await push(fields)).status).to.equal(200); // a replay
      await until('the listed event is processed', async () => (await statusOf(answer.row!.id)) === 'processed');
      const { status, body } = await list(`?corpId=${BANK.corpId}&limit=5`, 'admin');
      expect(status).to.equal(200);
      const newest = body.items[0]!;
      expect(newest).to.deep.equal({
        id: answer.row!.id,
        corpId: BANK.corpId,
        event: 'change_external_contact',
        changeType: 'add_external_contact',
        dedupeKey: answer.row!.dedupe_key,
        receivedAt: answer.row!.received_at.toISOString(),
        processedAt: (await row(answer.row!.id)).processed_at!.toISOString(),
        status: 'processed',
        error: null,
        seenCount: 2,
        failedAttempts: 0,
      });
      expect(body.items.map((i) => Number(i.id))).to.deep.equal([...body.items.map((i) => Number(i.id))].sort((a, b) => b - a));
      expect(newest).not.to.have.property('payload');
    });

    it('filters by corp and status and pages with beforeId', async () => {
      const failed = await list('?status=failed', 'compliance');
      expect(failed.status).to.equal(200);
      expect(failed.body.items.length).to.be.at.least(1);
      expect(failed.body.items.every((i) => i.status === 'failed')).to.equal(true);
      const sample = await list(`?corpId=${SAMPLE.corpId}`, 'ops');
      expect(sample.body.items.map((i) => i.event)).to.deep.equal(['text']);
      const first = await list(`?corpId=${BANK.corpId}&limit=2`, 'ops');
      const next = await list(`?corpId=${BANK.corpId}&limit=2&beforeId=${first.body.items[1]!.id}`, 'ops');
      expect(next.body.items).to.have.length(2);
      expect(Number(next.body.items[0]!.id)).to.be.below(Number(first.body.items[1]!.id));
    });

    it('is refused to other roles, to anonymous callers and for an unknown status', async () => {
      expect((await list('', 'account_manager')).status).to.equal(403);
      expect((await list('')).status).to.equal(401);
      expect((await list('?status=lost', 'admin')).status).to.equal(400);
    });
  });

  describe('the callback XML reader', () => {
    /** mulberry32: a seeded generator, so the documents are the same on every run. */
    const seeded = (seed: number) => () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };

    it('reads every document it accepts exactly as parseXml does, and leaves the rest to it', () => {
      const random = seeded(20240520);
      const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
      const names = ['ToUserName', 'CreateTime', 'Event', 'A', 'b_1', 'MemChangeList', 'Item', 'constructor', 'toString', 'x-y', 'ns:a', '中文', '__proto__', '1a'] as const;
      const texts = ['', ' ', 'abc', ' pad ', '\t\n', '中文', '\u3000全角\u3000', '\u00a0nb\u00a0', 'a>b', 'a&amp;b', 'a & b', '1716201000', '<', ']]>', 'x]]y', '\r\n x'] as const;
      // Half the documents are plausible (WeCom's names and shapes), half may hold anything odd.
      let odd = false;
      const used = new Set<string>();
      const plainNames = ['ToUserName', 'CreateTime', 'Event', 'A', 'b_1', 'MemChangeList', 'Content', 'UserID'] as const;
      const space = () => pick(['', '', '', ' ', '\n  ', '\t']);
      const value = (): string => {
        const t = pick(texts);
        switch (odd ? pick(['text', 'text', 'cdata', 'cdata', 'spaced-cdata', 'two-cdata', 'mixed'] as const) : pick(['text', 'cdata'] as const)) {
          case 'text':
            return t;
          case 'cdata':
            return `<![CDATA[${t}]]>`;
          case 'spaced-cdata':
            return ` <![CDATA[${t}]]> `;
          case 'two-cdata':
            return `<![CDATA[${t}]]><![CDATA[${pick(texts)}]]>`;
          case 'mixed':
            return `${t}<![CDATA[${pick(texts)}]]>`;
        }
      };
      const element = (): string => {
        const name = odd ? pick(names) : pick(plainNames.filter((n) => !used.has(n)));
        used.add(name);
        switch (odd ? pick(['leaf', 'leaf', 'leaf', 'list', 'empty-list', 'self-closing', 'nested'] as const) : pick(['leaf', 'leaf', 'leaf', 'list'] as const)) {
          case 'leaf':
            return `<${name}>${value()}</${name}>`;
          case 'list':
            return `<${name}>${space()}${Array.from({ length: 1 + Math.floor(random() * 3) }, () => `<Item>${value()}</Item>${space()}`).join('')}</${name}>`;
          case 'empty-list':
            return `<${name}></${name}>`;
          case 'self-closing':
            return `<${name}/>`;
          case 'nested':
            return `<${name}><Inner>${value()}</Inner></${name}>`;
        }
      };
      const document = (): string => {
        odd = random() < 0.5;
        used.clear();
        const head = odd ? pick(['', '', '', '<?xml version="1.0"?>', '\n', '\ufeff']) : '';
        const tail = odd ? pick(['', '', '', '\n', ' trailing', '<more/>']) : pick(['', '\n']);
        const body = Array.from({ length: Math.floor(random() * 6) }, () => space() + element()).join('') + space();
        return `${head}<xml>${body}</xml>${tail}`;
      };

      let accepted = 0;
      for (let n = 0; n < 4000; n++) {
        const text = document();
        const fast = readFlat(text);
        let general: unknown;
        try {
          general = parseXml(text);
        } catch (error) {
          general = error;
        }
        if (fast !== undefined) {
          accepted++;
          expect(general, text).not.to.be.instanceOf(Error);
          expect(fast, text).to.deep.equal(general);
        }
        // The public reader gives parseXml's answer whichever path it takes.
        if (general instanceof Error) expect(() => readCallbackXml(text), text).to.throw(CallbackRejected, 'malformed');
        else expect(readCallbackXml(text), text).to.deep.equal(general);
      }
      expect(accepted, 'documents taken by the fast path').to.be.above(800);
    });

    it('takes every callback shape WeCom sends through the fast path', () => {
      const shapes: Fields[] = [
        contactEvent('add_external_contact', 'wm1', { State: 'branch-01', WelcomeCode: 'CODE' }),
        { ...header('change_external_chat'), ChatId: 'wr1', ChangeType: 'update', UpdateDetail: 'add_member', JoinScene: 3, MemChangeCnt: 2, MemChangeList: ['wm1', 'lina'] },
        { ...header('change_external_tag'), Id: 'et1', TagType: 'tag', ChangeType: 'create', StrategyId: 1 },
        { ToUserName: BANK.corpId, CreateTime: 1716201000, MsgType: 'event', Event: 'kf_msg_or_event', Token: 'T', OpenKfId: 'wk1' },
        { ToUserName: BANK.corpId, FromUserName: 'zhangwei', CreateTime: 1716201000, MsgType: 'text', Content: '<b>查询</b> & 待办', MsgId: '7365012345678901234', AgentID: 1000002 },
      ];
      for (const fields of shapes) {
        const xml = buildXml(fields);
        expect(readFlat(xml), xml).to.deep.equal(parseXml(xml));
        const sealed = sealEnvelope(BANK, xml);
        expect(readFlat(sealed.body), sealed.body).to.deep.equal(parseXml(sealed.body));
      }
    });
  });
});
