import { z } from 'zod';
import { auditBy, recordAudit } from '../audit/index.js';
import { rolesFor } from '../auth/index.js';
import { mask } from '../platform/crypto.js';
import type { Db } from '../platform/db/database.js';
import { AppError, conflict, invalid } from '../platform/errors.js';
import type { Api, HandlerInput } from '../platform/http/api.js';
import { SandboxControlError, type Sandbox } from './sandbox/index.js';
import type { CallbackDelivery } from './sandbox/callbacks.js';

/**
 * The console's sandbox simulator (`/api/v1/sandbox/...`): what customers and members do in their
 * WeCom clients, made to happen from the browser through the sandbox's control functions, in the
 * same process. Registered only in sandbox mode with the control on (never in production), for
 * admin and operations staff; every simulation is audited. The raw control port is never exposed:
 * these routes validate their input, call one control function each, and answer without the
 * callbacks' secrets (welcome codes, kf tokens, encrypted bodies).
 */
export interface SimulatorDeps {
  db: Db;
  sandbox: Sandbox;
}

const ID = z.string().trim().min(1).max(64);
const SIMULATE = rolesFor('wecom.manage');
const TAG = 'sandbox';

/** The control's refusals as the API's errors, naming the field when it is clear which. */
function asAppError(error: unknown, field?: string): unknown {
  if (!(error instanceof SandboxControlError)) return error;
  if (error.status === 404) return new AppError('not_found', error.message);
  if (error.status === 409) return conflict(error.message);
  return invalid(error.message, field ? [{ path: field, message: error.message }] : []);
}

function control<T>(run: () => T, field?: string): T {
  try {
    return run();
  } catch (error) {
    throw asAppError(error, field);
  }
}

/** A delivery as the console shows it: who and what, never the welcome code, token or ciphertext. */
function deliveryView(d: CallbackDelivery) {
  const f = d.fields;
  const text = (v: unknown) => (v === undefined || v === null ? null : String(v));
  const last = d.attempts.at(-1);
  return {
    id: d.id,
    event: d.event,
    changeType: d.changeType ?? null,
    userid: text(f.UserID ?? (f.MsgType !== 'event' ? f.FromUserName : undefined)),
    externalUserid: text(f.ExternalUserID),
    state: text(f.State),
    openKfid: text(f.OpenKfId),
    status: d.status,
    attempts: d.attempts.length,
    lastHttpStatus: last?.status ?? null,
    lastError: last?.error ?? null,
    createdAt: new Date(d.createdAt).toISOString(),
  };
}

function receivedText(content: Record<string, unknown>, msgtype: string): string {
  const body = content[msgtype] as { content?: unknown; title?: unknown } | undefined;
  if (typeof body?.content === 'string') return body.content;
  if (typeof body?.title === 'string') return body.title;
  const attachments = content.attachments as unknown[] | undefined;
  return `[${msgtype}]${attachments?.length ? ` +${attachments.length}` : ''}`;
}

export function registerSimulatorRoutes(api: Api, deps: SimulatorDeps): void {
  const { db, sandbox } = deps;
  const world = sandbox.world;
  const audit = async (input: HandlerInput<unknown, unknown, unknown>, action: string, detail: Record<string, unknown>, targetId?: string) =>
    recordAudit(db, auditBy(input.actor!, { ip: input.ctx.ip, requestId: input.ctx.state.requestId })(`sandbox.${action}`, {
      targetType: 'sandbox', targetId: targetId ?? world.corpId, outcome: 'success', detail,
    }));

  api.route({
    method: 'get',
    path: '/sandbox/world',
    summary: 'the sandbox corp as the simulator needs it: members, usable channel codes, customer-service accounts, corp tags',
    tag: TAG,
    auth: SIMULATE,
    handler: async () => {
      const corpId = world.corpId;
      const [staff, ways] = await Promise.all([
        db.selectFrom('staff').select(['id', 'display_name', 'wecom_userid']).where('corp_id', '=', corpId).where('active', '=', true).where('wecom_userid', 'is not', null).execute(),
        db.selectFrom('wecom_contact_ways').select(['id', 'name', 'state', 'config_id']).where('corp_id', '=', corpId).where('deleted_at', 'is', null).execute(),
      ]);
      const staffOf = new Map(staff.map((s) => [s.wecom_userid!, s]));
      const wayOf = new Map(ways.map((w) => [w.config_id ?? `state:${w.state}`, w]));
      const now = Date.now();
      return {
        corpId,
        members: [...world.members.values()].map((m) => ({
          userid: m.userid, name: m.name, branchId: m.branchId,
          staff: staffOf.has(m.userid) ? { id: staffOf.get(m.userid)!.id, displayName: staffOf.get(m.userid)!.display_name } : null,
          customers: world.followsOfUser(m.userid).length,
        })),
        contactWays: [...world.contactWays.values()]
          .filter((w) => !w.deleted && !(w.is_temp && now > w.createdAt + w.expires_in * 1000) && w.state)
          .map((w) => {
            const product = wayOf.get(w.config_id) ?? wayOf.get(`state:${w.state}`);
            return { configId: w.config_id, state: w.state, members: [...w.user], remark: w.remark, name: product?.name ?? null, contactWayId: product?.id ?? null };
          }),
        kfAccounts: world.kfAccounts.map((a) => ({ openKfid: a.open_kfid, name: a.name })),
        tagGroups: world.tagGroups.filter((g) => !g.deleted).map((g) => ({ groupId: g.group_id, name: g.group_name, tags: g.tag.filter((t) => !t.deleted).map((t) => ({ id: t.id, name: t.name })) })),
      };
    },
  });

  api.route({
    method: 'get',
    path: '/sandbox/contacts',
    summary: "a sandbox member's customers, newest first (names as WeCom shows them; mobiles masked)",
    tag: TAG,
    auth: SIMULATE,
    query: z.object({ userid: ID, limit: z.coerce.number().int().min(1).max(500).default(100) }),
    handler: async ({ query }) => {
      if (!world.member(query.userid)) throw invalid('invalid query', [{ path: 'query.userid', message: `no sandbox member ${query.userid}` }]);
      const follows = world.followsOfUser(query.userid).sort((a, b) => b.seq - a.seq).slice(0, query.limit);
      return {
        items: follows.map((f) => {
          const c = world.contacts.get(f.external_userid);
          return {
            externalUserid: f.external_userid, name: c?.name ?? '', mobile: c?.mobile ? mask.mobile(c.mobile) : null, state: f.state ?? null,
            tagIds: [...f.tagIds], addedAt: new Date(f.createtime * 1000).toISOString(),
          };
        }),
      };
    },
  });

  api.route({
    method: 'get',
    path: '/sandbox/callbacks',
    summary: 'the callbacks the sandbox sent to the product, newest first (no welcome codes, tokens or ciphertext)',
    tag: TAG,
    auth: SIMULATE,
    query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }),
    handler: async ({ query }) => ({ items: world.callbacks.slice(-query.limit).reverse().map(deliveryView) }),
  });

  api.route({
    method: 'get',
    path: '/sandbox/received',
    summary: 'what a sandbox customer or member received from the product (welcome messages, replies, app messages)',
    tag: TAG,
    auth: SIMULATE,
    query: z.object({ to: ID, limit: z.coerce.number().int().min(1).max(200).default(50) }),
    handler: async ({ query }) => ({
      items: world.received
        .filter((r) => r.to === query.to)
        .slice(-query.limit)
        .reverse()
        .map((r) => ({ seq: r.seq, kind: r.kind, from: r.from, msgtype: r.msgtype, text: receivedText(r.content, r.msgtype), at: new Date(r.at * 1000).toISOString() })),
    }),
  });

  const customer = z.object({
    name: z.string().trim().min(1).max(30).optional(),
    mobile: z.string().regex(/^1[3-9]\d{9}$/, 'a mainland mobile number: 11 digits starting 13–19').optional(),
    gender: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional(),
  });

  api.route({
    method: 'post',
    path: '/sandbox/scan',
    summary: 'a customer scans a channel QR code (by state or config id) and becomes a member’s customer; WeCom sends add_external_contact',
    tag: TAG,
    auth: SIMULATE,
    body: z
      .object({ state: z.string().max(30).optional(), configId: ID.optional(), userid: ID.optional(), customer: customer.default({}), chatStarted: z.boolean().optional() })
      .refine((b) => b.state || b.configId || b.userid, { message: 'pick a channel code (state or configId) or a member (userid)', path: ['state'] }),
    status: 201,
    handler: async (input) => {
      const { body } = input;
      const field = body.configId ? 'body.configId' : body.state ? 'body.state' : 'body.userid';
      const scan = control(
        () => sandbox.control.scanQr({
          ...(body.state ? { state: body.state } : {}), ...(body.configId ? { configId: body.configId } : {}), ...(body.userid ? { userid: body.userid } : {}),
          customer: body.customer, ...(body.chatStarted ? { chatStarted: true } : {}),
        }),
        field,
      );
      await audit(input, 'scan', { state: scan.state, userid: scan.userid, externalUserid: scan.externalUserid }, scan.externalUserid);
      return { externalUserid: scan.externalUserid, userid: scan.userid, state: scan.state, welcomeCode: scan.welcomeCode !== null, deliveryId: scan.deliveryId };
    },
  });

  api.route({
    method: 'post',
    path: '/sandbox/kf-message',
    summary: 'a customer writes to WeChat customer service; WeCom sends kf_msg_or_event and the product pulls the message',
    tag: TAG,
    auth: SIMULATE,
    body: z.object({ text: z.string().trim().min(1).max(2000), externalUserid: ID.optional(), openKfid: ID.optional() }),
    status: 201,
    handler: async (input) => {
      const { body } = input;
      const sent = control(() => sandbox.control.kfCustomerMessage({ text: body.text, ...(body.externalUserid ? { externalUserid: body.externalUserid } : {}), ...(body.openKfid ? { openKfid: body.openKfid } : {}) }), 'body.openKfid');
      await audit(input, 'kf_message', { openKfid: sent.openKfid, externalUserid: sent.externalUserid, msgid: sent.msgid }, sent.externalUserid);
      return { msgid: sent.msgid, externalUserid: sent.externalUserid, openKfid: sent.openKfid, deliveryId: sent.deliveryId };
    },
  });

  api.route({
    method: 'post',
    path: '/sandbox/member-message',
    summary: 'a member writes to the bank’s app in WeCom; WeCom sends the text message',
    tag: TAG,
    auth: SIMULATE,
    body: z.object({ userid: ID, content: z.string().trim().min(1).max(2000) }),
    status: 201,
    handler: async (input) => {
      const { body } = input;
      const sent = control(() => sandbox.control.memberMessage(body), 'body.userid');
      await audit(input, 'member_message', { userid: body.userid, msgId: sent.msgId }, body.userid);
      return sent;
    },
  });

  const relation = z.object({ userid: ID, externalUserid: ID });

  api.route({
    method: 'post',
    path: '/sandbox/customer-deletes-member',
    summary: 'a customer deletes their member; WeCom sends del_follow_user',
    tag: TAG,
    auth: SIMULATE,
    body: relation,
    handler: async (input) => {
      const done = control(() => sandbox.control.customerDeletesMember(input.body), 'body.externalUserid');
      await audit(input, 'customer_deletes_member', input.body, input.body.externalUserid);
      return done;
    },
  });

  api.route({
    method: 'post',
    path: '/sandbox/member-deletes-customer',
    summary: 'a member deletes a customer; WeCom sends del_external_contact',
    tag: TAG,
    auth: SIMULATE,
    body: relation,
    handler: async (input) => {
      const done = control(() => sandbox.control.memberDeletesCustomer(input.body), 'body.externalUserid');
      await audit(input, 'member_deletes_customer', input.body, input.body.externalUserid);
      return done;
    },
  });

  api.route({
    method: 'post',
    path: '/sandbox/member-edits-tags',
    summary: "a member changes a customer's corp tags (and remark) in WeCom; WeCom sends edit_external_contact",
    tag: TAG,
    auth: SIMULATE,
    body: relation
      .extend({
        addTags: z.array(ID).max(100).default([]),
        removeTags: z.array(ID).max(100).default([]),
        remark: z.string().max(20).optional(),
      })
      .refine((b) => b.addTags.length + b.removeTags.length > 0 || b.remark !== undefined, { message: 'nothing to change: add or remove a tag, or set the remark', path: ['addTags'] }),
    handler: async (input) => {
      const { body } = input;
      const done = control(
        () => sandbox.control.memberEditsContact({ userid: body.userid, externalUserid: body.externalUserid, addTags: body.addTags, removeTags: body.removeTags, ...(body.remark !== undefined ? { remark: body.remark } : {}) }),
        'body.addTags',
      );
      await audit(input, 'member_edits_tags', { ...body }, body.externalUserid);
      return done;
    },
  });
}
