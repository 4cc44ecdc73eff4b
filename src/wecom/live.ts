import type { Db } from '../platform/db/database.js';
import { EVENTS, type EventBus } from '../platform/events.js';

/**
 * Live updates from the WeCom link (src/realtime/README.md, "Rooms"):
 *
 * - `customer.new` to the member a contact added (`member:<staffId>`), with the contact's name, the
 *   channel code that brought them and the bank customer they are linked to, if any;
 * - `contact.added` to the console room: the same fact without the contact's name (branch managers
 *   share the room and see only their branch's customers), so pages can fetch what they may see.
 *
 * Both follow `contact.added`, published once the relation is stored, so a page that reacts by
 * reading the API finds the contact there.
 */
export interface LiveSink {
  toMember(staffId: string, event: string, data: unknown): void;
  toConsole(event: string, data: unknown): void;
}

export interface NewCustomerAlert {
  corpId: string;
  externalUserid: string;
  name: string | null;
  userid: string;
  state: string | null;
  contactWay: { id: string; name: string } | null;
  customerId: string | null;
  addedAt: string;
}

export interface ContactAddedNotice {
  corpId: string;
  externalUserid: string;
  userid: string;
  memberName: string | null;
  staffId: string | null;
  branchId: string | null;
  state: string | null;
  contactWay: { id: string; name: string } | null;
  linked: boolean;
  addedAt: string;
}

export function subscribeLiveContacts(events: EventBus, deps: { db: Db; live: LiveSink }): () => void {
  const { db } = deps;
  return events.on(EVENTS.contactAdded, async ({ payload, at }) => {
    const [staff, contact, relation] = await Promise.all([
      db
        .selectFrom('staff')
        .select(['id', 'display_name', 'branch_id'])
        .where('corp_id', '=', payload.corpId)
        .where('wecom_userid', '=', payload.userid)
        .where('active', '=', true)
        .executeTakeFirst(),
      db.selectFrom('external_contacts').select(['name', 'customer_id']).where('corp_id', '=', payload.corpId).where('external_userid', '=', payload.externalUserid).executeTakeFirst(),
      db
        .selectFrom('follow_relations as fr')
        .leftJoin('wecom_contact_ways as w', 'w.id', 'fr.contact_way_id')
        .select(['fr.state', 'w.id as way_id', 'w.name as way_name'])
        .where('fr.corp_id', '=', payload.corpId)
        .where('fr.userid', '=', payload.userid)
        .where('fr.external_userid', '=', payload.externalUserid)
        .executeTakeFirst(),
    ]);
    const member = staff
      ? undefined
      : await db.selectFrom('wecom_members').select('name').where('corp_id', '=', payload.corpId).where('userid', '=', payload.userid).executeTakeFirst();
    const contactWay = relation?.way_id && relation.way_name ? { id: relation.way_id, name: relation.way_name } : null;
    const state = payload.state ?? relation?.state ?? null;
    const addedAt = at.toISOString();
    if (staff) {
      const alert: NewCustomerAlert = {
        corpId: payload.corpId, externalUserid: payload.externalUserid, name: contact?.name ?? null, userid: payload.userid, state, contactWay,
        customerId: contact?.customer_id ?? null, addedAt,
      };
      deps.live.toMember(staff.id, 'customer.new', alert);
    }
    const notice: ContactAddedNotice = {
      corpId: payload.corpId, externalUserid: payload.externalUserid, userid: payload.userid, memberName: staff?.display_name ?? member?.name ?? null,
      staffId: staff?.id ?? null, branchId: staff?.branch_id ?? null, state, contactWay, linked: Boolean(contact?.customer_id), addedAt,
    };
    deps.live.toConsole('contact.added', notice);
  });
}
