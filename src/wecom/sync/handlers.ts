import type { Db } from '../../platform/db/database.js';
import { EVENTS, type EventBus } from '../../platform/events.js';
import type { Logger } from '../../platform/logger.js';
import { wecomApi } from '../api.js';
import { ERRCODES, WeComApiError, type WeComGateway } from '../client/index.js';
import type { CallbackEvent, CallbackHandlers } from '../events.js';
import { sendWelcome } from '../welcome.js';
import { contactWayIdForState, markRelationDeleted, replaceRelationTags, storeCorpTags, storeGroupChat, upsertContact, upsertRelation } from './store.js';

/**
 * Incremental sync: each callback event applied to the local tables, then published as a domain
 * event carrying what caused it. Callbacks only say what changed; details are fetched from the API.
 */
export interface HandlerDeps {
  db: Db;
  gateway: WeComGateway;
  events: EventBus;
  logger: Logger;
}

type Contact = Extract<CallbackEvent, { kind: 'contact' }>;

export function createCallbackHandlers(deps: HandlerDeps): CallbackHandlers {
  const { db, events } = deps;
  const customerCause = (e: { externalUserid: string }) => ({ type: 'customer' as const, id: e.externalUserid });
  const memberCause = (e: { userid: string }) => ({ type: 'member' as const, id: e.userid });

  async function refreshRelation(e: Contact): Promise<void> {
    const api = wecomApi(deps.gateway.client(e.corpId, 'contact'));
    let detail;
    try {
      detail = await api.contact(e.externalUserid);
    } catch (error) {
      // Right after an add WeCom may still answer 84061 for a moment: let the job retry.
      if (error instanceof WeComApiError && error.errcode === ERRCODES.noRelationship) throw new Error(`relation ${e.userid}→${e.externalUserid} not visible yet (84061)`);
      throw error;
    }
    await upsertContact(db, e.corpId, detail.external_contact);
    const follow = detail.follow_user.find((f) => f.userid === e.userid);
    if (!follow) return;
    const state = 'state' in e && e.state ? e.state : follow.state;
    await upsertRelation(db, e.corpId, e.externalUserid, { ...follow, state }, await contactWayIdForState(db, e.corpId, state));
    const tagIds = (follow.tags ?? []).filter((t) => t.type === 1 && t.tag_id).map((t) => t.tag_id!);
    const changed = await replaceRelationTags(db, e.corpId, e.userid, e.externalUserid, tagIds);
    if (changed.added.length || changed.removed.length) {
      events.publish(EVENTS.tagsChanged, { corpId: e.corpId, externalUserid: e.externalUserid, ...changed }, memberCause(e));
    }
  }

  return {
    async contact(e) {
      switch (e.changeType) {
        case 'add_external_contact':
        case 'add_half_external_contact': {
          // The welcome code expires 20 s after the event: send before anything slower.
          if (e.welcomeCode) {
            await sendWelcome(deps, { corpId: e.corpId, userid: e.userid, externalUserid: e.externalUserid, welcomeCode: e.welcomeCode, state: e.state, eventAt: new Date(e.createTime * 1000), inboxId: e.inboxId });
          }
          await refreshRelation(e);
          events.publish(EVENTS.contactAdded, { corpId: e.corpId, userid: e.userid, externalUserid: e.externalUserid, state: e.state, welcomeCode: e.welcomeCode }, customerCause(e));
          return;
        }
        case 'edit_external_contact':
          await refreshRelation(e);
          events.publish(EVENTS.contactEdited, { corpId: e.corpId, userid: e.userid, externalUserid: e.externalUserid }, memberCause(e));
          return;
        case 'del_external_contact':
          await markRelationDeleted(db, e.corpId, e.userid, e.externalUserid, e.source === 'DELETE_BY_TRANSFER' ? 'transfer' : 'member');
          events.publish(EVENTS.contactDeletedByMember, { corpId: e.corpId, userid: e.userid, externalUserid: e.externalUserid, source: e.source }, memberCause(e));
          return;
        case 'del_follow_user':
          await markRelationDeleted(db, e.corpId, e.userid, e.externalUserid, 'customer');
          events.publish(EVENTS.contactDeletedByCustomer, { corpId: e.corpId, userid: e.userid, externalUserid: e.externalUserid }, customerCause(e));
          return;
        case 'transfer_fail':
          events.publish(EVENTS.contactTransferFailed, { corpId: e.corpId, userid: e.userid, externalUserid: e.externalUserid, reason: e.failReason }, { type: 'system', id: 'wecom' });
          return;
      }
    },

    async chat(e) {
      if (e.changeType === 'dismiss') {
        await db.updateTable('wecom_groups').set({ dismissed_at: new Date() }).where('corp_id', '=', e.corpId).where('chat_id', '=', e.chatId).execute();
      } else {
        const api = wecomApi(deps.gateway.client(e.corpId, 'contact'));
        await storeGroupChat(db, e.corpId, await api.groupChat(e.chatId));
      }
      events.publish(EVENTS.groupChanged, { corpId: e.corpId, chatId: e.chatId, change: e.updateDetail ?? e.changeType }, { type: 'system', id: 'wecom' });
    },

    async tag(e) {
      const api = wecomApi(deps.gateway.client(e.corpId, 'contact'));
      const report = await storeCorpTags(db, e.corpId, await api.corpTags());
      deps.logger.info({ corpId: e.corpId, change: e.changeType, id: e.id, report }, 'corp tags refreshed from a callback');
      events.publish(EVENTS.tagsChanged, { corpId: e.corpId, added: e.changeType === 'create' ? [e.id] : [], removed: e.changeType === 'delete' ? [e.id] : [] }, { type: 'system', id: 'wecom-admin' });
    },

    async kf(e) {
      const api = wecomApi(deps.gateway.client(e.corpId, 'agent'));
      const saved = await db.selectFrom('wecom_kf_cursors').select('cursor').where('corp_id', '=', e.corpId).where('open_kfid', '=', e.openKfId).executeTakeFirst();
      let cursor = saved?.cursor;
      for (;;) {
        const page = await api.kfSync({ cursor, token: e.token, limit: 1000, open_kfid: e.openKfId });
        for (const m of page.msg_list) {
          if (m.origin === 3 && m.msgtype === 'text' && m.external_userid && m.text) {
            events.publish(EVENTS.messageReceived, { channel: `kf:${e.openKfId}`, from: m.external_userid, text: m.text.content, corpId: e.corpId, messageId: m.msgid }, { type: 'customer', id: m.external_userid });
          }
        }
        cursor = page.next_cursor;
        // The cursor is saved after each page: a crash re-reads at most one page.
        await db
          .insertInto('wecom_kf_cursors')
          .values({ corp_id: e.corpId, open_kfid: e.openKfId, cursor })
          .onConflict((oc) => oc.columns(['corp_id', 'open_kfid']).doUpdateSet({ cursor, updated_at: new Date() }))
          .execute();
        if (!page.has_more) break;
      }
    },

    async message(e) {
      if (e.content) events.publish(EVENTS.messageReceived, { channel: 'app', from: e.fromUserid, text: e.content }, { type: 'member', id: e.fromUserid });
    },
  };
}
