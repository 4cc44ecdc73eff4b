import type { Db } from '../platform/db/database.js';
import type { FieldCipher } from '../platform/crypto.js';
import { EVENTS, type Cause, type EventBus } from '../platform/events.js';
import type { Actor } from '../platform/http/context.js';
import type { Logger } from '../platform/logger.js';
import { conflict, forbidden, invalid, notFound } from '../platform/errors.js';
import { recordAudit } from '../audit/index.js';
import { customerScope } from '../auth/index.js';
import { addTimeline, adoptContactTimeline } from './timeline.js';

/**
 * Links between WeCom contacts and bank customers. Automatic by unionid (the bank knows it from its
 * app) or by a remark mobile (through the keyed hash); manual by an account manager who checked the
 * customer's identity. Every change writes the link history, the audit log and the timeline.
 */
type Method = 'mobile' | 'unionid' | 'manual' | 'import';

async function writeLink(db: Db, input: { corpId: string; externalUserid: string; customerId: string | null; action: 'link' | 'unlink'; method: Method; reason?: string; cause: Cause; ip?: string }) {
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('external_contacts').set({ customer_id: input.action === 'link' ? input.customerId : null, updated_at: new Date() }).where('corp_id', '=', input.corpId).where('external_userid', '=', input.externalUserid).execute();
    await trx
      .insertInto('customer_links')
      .values({ corp_id: input.corpId, external_userid: input.externalUserid, customer_id: input.customerId, action: input.action, method: input.method, reason: input.reason ?? null, actor_type: input.cause.type, actor_id: input.cause.id ?? null })
      .execute();
    await recordAudit(trx, {
      actorType: input.cause.type === 'member' ? 'staff' : input.cause.type,
      actorId: input.cause.id ?? null,
      action: input.action === 'link' ? 'customers.link' : 'customers.unlink',
      targetType: 'external_contact',
      targetId: `${input.corpId}/${input.externalUserid}`,
      ip: input.ip ?? null,
      outcome: 'success',
      detail: { customerId: input.customerId, method: input.method, reason: input.reason ?? null },
    });
  });
  if (input.action === 'link' && input.customerId) await adoptContactTimeline(db, input.corpId, input.externalUserid, input.customerId);
  await addTimeline(db, {
    customerId: input.customerId,
    corpId: input.corpId,
    externalUserid: input.externalUserid,
    kind: input.action === 'link' ? 'linked' : 'unlinked',
    summary: input.action === 'link' ? `企业微信客户与客户档案关联（${{ mobile: '备注手机号匹配', unionid: 'unionid 匹配', manual: '客户经理核验身份后绑定', import: '导入' }[input.method]}）` : `解除企业微信客户与客户档案的关联${input.reason ? `：${input.reason}` : ''}`,
    detail: { method: input.method },
    cause: input.cause,
  });
}

/**
 * Links a contact that is not linked yet, when exactly one customer matches. Two customers sharing
 * a remark mobile is ambiguous and links nothing: a person must decide.
 */
export async function autoLinkContact(db: Db, cipher: FieldCipher, corpId: string, externalUserid: string, cause: Cause): Promise<{ linked: boolean; method?: Method; customerId?: string; reason?: string }> {
  const contact = await db.selectFrom('external_contacts').select(['customer_id', 'unionid']).where('corp_id', '=', corpId).where('external_userid', '=', externalUserid).executeTakeFirst();
  if (!contact) return { linked: false, reason: 'unknown contact' };
  if (contact.customer_id) return { linked: false, reason: 'already linked' };
  // A contact unlinked by a person is not relinked automatically.
  const manualUnlink = await db.selectFrom('customer_links').select('id').where('corp_id', '=', corpId).where('external_userid', '=', externalUserid).where('action', '=', 'unlink').executeTakeFirst();
  if (manualUnlink) return { linked: false, reason: 'unlinked by a person before' };
  if (contact.unionid) {
    const byUnionid = await db.selectFrom('customers').select('id').where('unionid', '=', contact.unionid).limit(2).execute();
    if (byUnionid.length === 1) {
      await writeLink(db, { corpId, externalUserid, customerId: byUnionid[0]!.id, action: 'link', method: 'unionid', cause });
      return { linked: true, method: 'unionid', customerId: byUnionid[0]!.id };
    }
  }
  const relations = await db.selectFrom('follow_relations').select('remark_mobiles').where('corp_id', '=', corpId).where('external_userid', '=', externalUserid).where('deleted_at', 'is', null).execute();
  const hashes = [...new Set(relations.flatMap((r) => r.remark_mobiles).filter((m) => /^(\+?86)?1[3-9]\d{9}$/.test(m.replace(/[\s-]/g, ''))).map((m) => cipher.lookupHash('mobile', m)))];
  if (!hashes.length) return { linked: false, reason: 'no remark mobile' };
  const byMobile = await db.selectFrom('customers').select('id').where('mobile_hash', 'in', hashes).limit(2).execute();
  if (byMobile.length !== 1) return { linked: false, reason: byMobile.length ? 'ambiguous mobile' : 'no customer with that mobile' };
  await writeLink(db, { corpId, externalUserid, customerId: byMobile[0]!.id, action: 'link', method: 'mobile', cause });
  return { linked: true, method: 'mobile', customerId: byMobile[0]!.id };
}

/** Tries every unlinked contact of a corp (after a sync or an import). */
export async function autoLinkAll(db: Db, cipher: FieldCipher, corpId: string, cause: Cause): Promise<{ linked: number; tried: number }> {
  const unlinked = await db.selectFrom('external_contacts').select('external_userid').where('corp_id', '=', corpId).where('customer_id', 'is', null).execute();
  let linked = 0;
  for (const c of unlinked) if ((await autoLinkContact(db, cipher, corpId, c.external_userid, cause)).linked) linked++;
  return { linked, tried: unlinked.length };
}

export interface BindInput {
  corpId: string;
  externalUserid: string;
  /** The customer, by CIF number. */
  cifNo: string;
  /** Identity checks the manager performed; at least one is required and all given must match. */
  mobile?: string;
  idNumberLast4?: string;
  reason: string;
  replace?: boolean;
}

/** An account manager binds a contact they follow to a customer after checking identity. */
export async function bindContact(db: Db, cipher: FieldCipher, actor: Actor, input: BindInput, ip?: string) {
  const denied = async (reason: string) => {
    await recordAudit(db, { actorType: 'staff', actorId: actor.id, action: 'customers.link', targetType: 'external_contact', targetId: `${input.corpId}/${input.externalUserid}`, ip, outcome: 'denied', detail: { cifNo: input.cifNo, reason } });
  };
  if (actor.role === 'account_manager') {
    const follows = await db
      .selectFrom('follow_relations')
      .select('userid')
      .where('corp_id', '=', input.corpId)
      .where('external_userid', '=', input.externalUserid)
      .where('userid', '=', actor.wecomUserid ?? '')
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (!follows || actor.corpId !== input.corpId) throw forbidden('you can bind only customers who added you in WeCom');
  }
  const contact = await db.selectFrom('external_contacts').select('customer_id').where('corp_id', '=', input.corpId).where('external_userid', '=', input.externalUserid).executeTakeFirst();
  if (!contact) throw notFound('WeCom contact');
  const customer = await db.selectFrom('customers').select(['id', 'mobile_hash', 'id_number_enc']).where('cif_no', '=', input.cifNo).executeTakeFirst();
  if (!customer) throw invalid('invalid body', [{ path: 'body.cifNo', message: 'no customer with this CIF number' }]);
  if (!input.mobile && !input.idNumberLast4) throw invalid('invalid body', [{ path: 'body.mobile', message: 'give the mobile or the last 4 characters of the ID number you checked' }]);
  if (input.mobile && cipher.lookupHash('mobile', input.mobile) !== customer.mobile_hash) {
    await denied('mobile mismatch');
    throw invalid('identity check failed', [{ path: 'body.mobile', message: 'does not match the customer record' }]);
  }
  if (input.idNumberLast4) {
    const id = customer.id_number_enc ? cipher.decrypt(customer.id_number_enc) : '';
    if (id.slice(-4).toUpperCase() !== input.idNumberLast4.toUpperCase()) {
      await denied('id number mismatch');
      throw invalid('identity check failed', [{ path: 'body.idNumberLast4', message: 'does not match the customer record' }]);
    }
  }
  if (contact.customer_id === customer.id) return { customerId: customer.id, changed: false };
  if (contact.customer_id && !input.replace) throw conflict('this contact is linked to another customer; unlink first or pass replace: true');
  if (contact.customer_id) await writeLink(db, { corpId: input.corpId, externalUserid: input.externalUserid, customerId: contact.customer_id, action: 'unlink', method: 'manual', reason: `replaced: ${input.reason}`, cause: { type: 'member', id: actor.id }, ip });
  await writeLink(db, { corpId: input.corpId, externalUserid: input.externalUserid, customerId: customer.id, action: 'link', method: 'manual', reason: input.reason, cause: { type: 'member', id: actor.id }, ip });
  return { customerId: customer.id, changed: true };
}

export async function unlinkContact(db: Db, actor: Actor, input: { corpId: string; externalUserid: string; reason: string }, ip?: string) {
  const contact = await db.selectFrom('external_contacts').select('customer_id').where('corp_id', '=', input.corpId).where('external_userid', '=', input.externalUserid).executeTakeFirst();
  if (!contact?.customer_id) throw notFound('link');
  const visible = await db.selectFrom('customers').select('id').where('id', '=', contact.customer_id).where(customerScope(actor)).executeTakeFirst();
  if (!visible) throw notFound('link');
  await writeLink(db, { corpId: input.corpId, externalUserid: input.externalUserid, customerId: contact.customer_id, action: 'unlink', method: 'manual', reason: input.reason, cause: { type: 'member', id: actor.id }, ip });
}

export async function linkHistory(db: Db, customerId: string) {
  return db.selectFrom('customer_links').selectAll().where('customer_id', '=', customerId).orderBy('at', 'desc').limit(50).execute();
}

/** New and edited contacts are linked as soon as WeCom tells us about them. */
export function subscribeLinking(events: EventBus, deps: { db: Db; cipher: FieldCipher; logger: Logger }): void {
  const handler = async ({ payload }: { payload: { corpId: string; externalUserid: string } }) => {
    const result = await autoLinkContact(deps.db, deps.cipher, payload.corpId, payload.externalUserid, { type: 'system', id: 'autolink' });
    if (result.linked) deps.logger.info({ corpId: payload.corpId, externalUserid: payload.externalUserid, method: result.method }, 'contact linked to customer');
  };
  events.on(EVENTS.contactAdded, handler);
  events.on(EVENTS.contactEdited, handler);
  events.on(EVENTS.wecomSynced, async ({ payload }) => {
    const result = await autoLinkAll(deps.db, deps.cipher, payload.corpId, { type: 'system', id: 'autolink' });
    deps.logger.info({ corpId: payload.corpId, ...result }, 'contacts linked after sync');
  });
}

