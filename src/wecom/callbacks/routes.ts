import type { IncomingMessage } from 'node:http';
import Router from '@koa/router';
import type { Context } from 'koa';
import { HTTP_STATUS, type ErrorKind } from '../../platform/errors.js';
import type { AppState } from '../../platform/http/context.js';
import type { Logger } from '../../platform/logger.js';
import { CallbackRejected, openEnvelope, str } from '../crypto.js';
import type { CorpRegistry } from '../corps.js';
import type { Inbox } from './inbox.js';
import { readCallbackXml } from './xml.js';

/**
 * The WeCom callback gateway (REFERENCE §1): `GET` answers the URL check, `POST` verifies,
 * decrypts, de-duplicates and records an event, and answers 200 only once the row is durable.
 * Nothing is processed here: WeCom gives up after 5 s and retries, so the answer must never wait
 * for the work. Every rejection is a non-200 answer, stores nothing, and logs a warning with the
 * corp and the reason, never the token, the key, the signature or the ciphertext.
 *
 * Mounted before the JSON body parser and the session middleware: this path reads its own body
 * and has no session.
 */
export interface CallbackRouterDeps {
  registry: Pick<CorpRegistry, 'get'>;
  inbox: Pick<Inbox, 'record'>;
  logger: Logger;
  /** Largest POST body; default 64 KiB (WeCom's envelopes are a few KiB). */
  bodyLimitBytes?: number;
}

export const CALLBACK_PATH = '/wecom/callback/:corpId';
const DEFAULT_BODY_LIMIT = 64 * 1024;
const CORP_ID = /^[A-Za-z0-9_-]{1,64}$/;

type Reason = CallbackRejected['reason'] | 'unknown_corp' | 'missing_parameters' | 'too_large' | 'aborted';

const REJECTIONS: Record<Reason, ErrorKind> = {
  bad_signature: 'forbidden',
  bad_key: 'forbidden',
  wrong_receiver: 'forbidden',
  stale: 'forbidden',
  malformed: 'invalid',
  missing_parameters: 'invalid',
  aborted: 'invalid',
  unknown_corp: 'not_found',
  too_large: 'too_large',
};

class Rejection extends Error {
  constructor(readonly reason: Reason) {
    super(reason);
  }
}

/**
 * One query parameter as a single string; repeated or absent parameters do not count. Read from
 * one URLSearchParams, the parser behind `ctx.query`, so the values are the same; `ctx.query`
 * would also build an object of every key (a getAll and a defineProperty each), about three times
 * the cost for the three or four parameters a callback reads.
 */
function param(search: URLSearchParams, name: string): string | undefined {
  const values = search.getAll(name);
  return values.length === 1 && values[0] !== '' ? values[0] : undefined;
}

/**
 * Reads the raw body up to `limit` bytes. A declared length over the limit is refused before a
 * byte is read; a chunked body is refused as soon as it passes the limit, and what follows is
 * discarded rather than buffered.
 *
 * The listeners are not removed once the promise is settled: the request is this call's alone and
 * goes with them, and `settled` mutes them (a body over the limit keeps flowing, to be dropped).
 * Removing four listeners and naming four closures per request was a measurable part of the
 * gateway's own time.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new Rejection('too_large'));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    req.on('data', (chunk: Buffer) => {
      if (settled) return; // past the limit: dropped
      size += chunk.length;
      if (size > limit) {
        settled = true;
        reject(new Rejection('too_large')); // the answer closes the connection
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (settled) return;
      settled = true;
      // WeCom's envelope usually arrives in one chunk: no copy then.
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.on('error', () => {
      if (settled) return;
      settled = true;
      reject(new Rejection('aborted'));
    });
    req.on('close', () => {
      if (settled || req.complete) return;
      settled = true;
      reject(new Rejection('aborted'));
    });
  });
}

export function callbackRouter(deps: CallbackRouterDeps): Router<AppState> {
  const { registry, inbox } = deps;
  const bodyLimit = deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT;
  const router = new Router<AppState>();

  const logOf = (ctx: Context & { state: Partial<AppState> }) => ctx.state.log ?? deps.logger;

  /** The API's error shape (README "Errors are JSON"); WeCom only reads the status. */
  function fail(ctx: Context & { state: Partial<AppState> }, kind: ErrorKind, message: string): void {
    ctx.status = HTTP_STATUS[kind];
    ctx.body = { error: { kind, message, ...(ctx.state.requestId ? { requestId: ctx.state.requestId } : {}) } };
  }

  /** Runs one callback: a rejection becomes its 4xx answer and a warning, an outage a 503 WeCom will retry. */
  async function handle(ctx: Context & { state: Partial<AppState> }, work: (corpId: string) => Promise<void>): Promise<void> {
    ctx.state.routeName = CALLBACK_PATH;
    const corpId = String(ctx.params.corpId ?? '');
    try {
      if (!CORP_ID.test(corpId)) throw new Rejection('unknown_corp');
      await work(corpId);
    } catch (error) {
      if (error instanceof Rejection || error instanceof CallbackRejected) {
        logOf(ctx).warn({ corpId: corpId.slice(0, 64), reason: error.reason, method: ctx.method }, 'wecom callback rejected');
        if (error.reason === 'too_large') ctx.set('Connection', 'close');
        return fail(ctx, REJECTIONS[error.reason], `callback rejected: ${error.reason}`);
      }
      // The registry or the inbox could not be reached: not the sender's fault, and WeCom retries.
      logOf(ctx).error({ err: error, corpId }, 'wecom callback could not be recorded');
      ctx.set('Retry-After', '5');
      fail(ctx, 'unavailable', 'try again shortly');
    }
  }

  async function secretsFor(corpId: string) {
    const corp = await registry.get(corpId);
    if (!corp) throw new Rejection('unknown_corp');
    return { corpId: corp.corpId, token: corp.token, aesKey: corp.aesKey };
  }

  function signed(search: URLSearchParams) {
    const msg_signature = param(search, 'msg_signature');
    const timestamp = param(search, 'timestamp');
    const nonce = param(search, 'nonce');
    if (!msg_signature || !timestamp || !nonce) throw new Rejection('missing_parameters');
    return { msg_signature, timestamp, nonce };
  }

  // URL check: answer the decrypted echostr exactly, as text/plain without quotes, BOM or newline.
  router.get(CALLBACK_PATH, (ctx) =>
    handle(ctx, async (corpId) => {
      const search = new URLSearchParams(ctx.querystring);
      const query = signed(search);
      // base64 never holds a space: a '+' that was not percent-encoded arrives decoded as one.
      const echostr = param(search, 'echostr')?.replace(/ /g, '+');
      if (!echostr) throw new Rejection('missing_parameters');
      const plaintext = openEnvelope(await secretsFor(corpId), query, echostr);
      ctx.status = 200;
      ctx.type = 'text/plain';
      ctx.body = plaintext;
    }),
  );

  // Event push: verify, decrypt, record, then 200 with an empty body.
  router.post(CALLBACK_PATH, (ctx) =>
    handle(ctx, async (corpId) => {
      const query = signed(new URLSearchParams(ctx.querystring));
      const raw = (await readBody(ctx.req, bodyLimit)).toString('utf8');
      const secrets = await secretsFor(corpId);
      const encrypted = str(readCallbackXml(raw).Encrypt);
      if (!encrypted) throw new Rejection('malformed');
      const plaintext = openEnvelope(secrets, query, encrypted);
      // XML has no NUL, and jsonb cannot store one: refuse it here rather than fail at every retry.
      if (plaintext.includes('\u0000')) throw new Rejection('malformed');
      const event = readCallbackXml(plaintext);
      const { id, duplicate } = await inbox.record(corpId, event);
      logOf(ctx).debug({ corpId, inboxId: id, duplicate }, 'wecom callback recorded');
      ctx.status = 200;
      ctx.body = '';
    }),
  );

  return router;
}
