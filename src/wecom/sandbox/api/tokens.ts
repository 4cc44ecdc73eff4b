import type { ApiCall, ApiRoute } from '../core.js';
import { WeComError } from '../errors.js';
import { HOUR } from '../limits.js';
import type { SecretKind } from '../tokens.js';

/** Tokens, JS-SDK tickets and OAuth identity (SHAPES §1). */

// Hourly ticket budgets (REFERENCE §2); overridable through control setQuota(api, n, 'hour').
export const TICKET_LIMITS = { corpPerHour: 400, appPerHour: 100 };

function gettoken({ core, query, now }: ApiCall) {
  const { corpid, corpsecret } = query;
  if (!corpid) throw new WeComError(41002);
  if (!corpsecret) throw new WeComError(41004);
  if (corpid !== core.options.corpId) throw new WeComError(40013);
  let kind: SecretKind;
  if (corpsecret === core.options.agentSecret) kind = 'agent';
  else if (corpsecret === core.options.contactSecret) kind = 'contact';
  else throw new WeComError(40001);
  if (!core.quotas.allow(corpid, 'gettoken', now)) throw new WeComError(45009);
  const token = core.credentials.issue(corpid, kind, now);
  return { access_token: token.token, expires_in: core.credentials.ttl };
}

function ticketAllowed(call: ApiCall, api: string, key: string, defaultPerHour: number): boolean {
  const limit = call.core.quotas.hourOverride(api) ?? defaultPerHour;
  return call.core.counters.hit(key, limit, HOUR, call.now);
}

function jsapiTicket(call: ApiCall) {
  if (!ticketAllowed(call, 'get_jsapi_ticket', `ticket|corp|${call.world.corpId}`, TICKET_LIMITS.corpPerHour)) throw new WeComError(45009);
  return call.core.credentials.issueTicket('jsapi', call.now);
}

function agentTicket(call: ApiCall) {
  if (call.query.type !== 'agent_config') throw new WeComError(91040);
  if (!ticketAllowed(call, 'ticket/get', `ticket|app|${call.world.agentId}`, TICKET_LIMITS.appPerHour)) throw new WeComError(45009);
  return call.core.credentials.issueTicket('agent_config', call.now);
}

function getUserInfo({ core, world, query, now }: ApiCall) {
  if (!query.code) throw new WeComError(41008);
  const code = core.credentials.redeemCode(query.code, now);
  if (!world.member(code.userid)) throw new WeComError(40029);
  // user_ticket only comes with the private-info scope (SHAPES §1.4).
  return code.scope === 'snsapi_privateinfo' ? { userid: code.userid, user_ticket: `UT${code.userid}${now.toString(36)}` } : { userid: code.userid };
}

export const tokenRoutes: ApiRoute[] = [
  { path: 'gettoken', method: 'GET', handler: gettoken, public: true },
  { path: 'get_jsapi_ticket', method: 'GET', handler: jsapiTicket, secrets: ['agent'] },
  { path: 'ticket/get', method: 'GET', handler: agentTicket, secrets: ['agent'] },
  { path: 'auth/getuserinfo', method: 'GET', handler: getUserInfo, secrets: ['agent'] },
];
