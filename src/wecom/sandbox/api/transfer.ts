import type { ApiCall, ApiRoute, Core } from '../core.js';
import { WeComError } from '../errors.js';
import type { Transfer } from '../types.js';
import { chars, optionalString, page, requireString, stringList } from './params.js';

/**
 * 在职继承 (SHAPES §10): a transfer waits 24 h for the customer to object, then the takeover member
 * gets the customer. The sandbox settles due transfers before every API call, and the control API
 * can settle them early or make them fail.
 */
const TAKEOVER_DELAY_S = 24 * 3600;
const WINDOW_90_DAYS_MS = 90 * 86_400_000;

function transferCustomer({ world, body, now }: ApiCall) {
  const handover = requireString(body.handover_userid, 41009, 'handover_userid');
  const takeover = requireString(body.takeover_userid, 41009, 'takeover_userid');
  if (!world.member(handover) || !world.member(takeover)) throw new WeComError(60111);
  const ids = stringList(body.external_userid, 'external_userid', 100);
  if (!ids.length) throw new WeComError(41035);
  const message = optionalString(body.transfer_success_msg, 'transfer_success_msg');
  if (message !== undefined && chars(message) > 200) throw new WeComError(40058, 'transfer_success_msg exceeds 200 characters');
  const customer = ids.map((id) => {
    const errcode = check(handover, takeover, id);
    if (errcode === 0) {
      world.transfers.push({
        seq: world.nextSeq('transfer'), handover_userid: handover, takeover_userid: takeover, external_userid: id, status: 2,
        takeover_time: Math.floor(now / 1000) + TAKEOVER_DELAY_S, createdAt: now, ...(message ? { success_msg: message } : {}),
      });
    }
    return { external_userid: id, errcode };
  });
  return { customer };

  function check(from: string, to: string, id: string): number {
    if (from === to) return 40130;
    if (!world.follow(from, id)) return 40131;
    const mine = world.transfers.filter((t) => t.external_userid === id);
    if (mine.some((t) => t.status === 2)) return 40129;
    // At most two transfers per customer in 90 days.
    if (mine.filter((t) => now - t.createdAt < WINDOW_90_DAYS_MS && t.status !== 3).length >= 2) return 40128;
    return 0;
  }
}

function transferResult({ world, body }: ApiCall) {
  const handover = requireString(body.handover_userid, 41009, 'handover_userid');
  const takeover = requireString(body.takeover_userid, 41009, 'takeover_userid');
  const rows = world.transfers.filter((t) => t.handover_userid === handover && t.takeover_userid === takeover);
  const { items, next } = page(rows, (t) => t.seq, body.cursor, 1000, `transfer:${handover}:${takeover}`);
  return { customer: items.map((t) => ({ external_userid: t.external_userid, status: t.status, takeover_time: t.takeover_time })), next_cursor: next };
}

/**
 * Completes waiting transfers whose time has come (or all of them with `force`): the relation moves
 * to the takeover member and the handover member gets del_external_contact with Source
 * DELETE_BY_TRANSFER, the one callback WeCom documents for it.
 */
export function settleTransfers(core: Core, force = false): Transfer[] {
  const { world } = core;
  const nowMs = core.clock.now();
  const sec = Math.floor(nowMs / 1000);
  const due = world.transfers.filter((t) => t.status === 2 && (force || t.takeover_time <= sec));
  for (const t of due) {
    const old = world.follow(t.handover_userid, t.external_userid);
    t.status = 1;
    if (force) t.takeover_time = sec;
    if (!old) continue;
    world.endFollow(t.handover_userid, t.external_userid, 'transfer', nowMs);
    world.addFollow({
      ...old, userid: t.takeover_userid, createtime: sec, add_way: 202, oper_userid: t.handover_userid, chatStarted: true,
    });
    if (t.success_msg) world.record({ kind: 'transfer', to: t.external_userid, from: t.takeover_userid, at: sec, msgtype: 'text', content: { text: { content: t.success_msg } }, ref: `transfer:${t.seq}` });
    core.callbacks.push({
      ToUserName: world.corpId, FromUserName: 'sys', CreateTime: sec, MsgType: 'event', Event: 'change_external_contact',
      ChangeType: 'del_external_contact', UserID: t.handover_userid, ExternalUserID: t.external_userid, Source: 'DELETE_BY_TRANSFER',
    });
  }
  return due;
}

export const transferRoutes: ApiRoute[] = [
  { path: 'externalcontact/transfer_customer', method: 'POST', handler: transferCustomer, keepOnError: { customer: [] } },
  { path: 'externalcontact/transfer_result', method: 'POST', handler: transferResult, keepOnError: { customer: [] } },
];
