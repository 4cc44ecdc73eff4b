import { addTimeline } from '../customers/index.js';
import { EVENTS, type DomainEvent, type EventBus } from '../platform/events.js';
import type { CardDeps } from './service.js';
import { maskName } from './service.js';
import { cardOwner, cardOwnerByUserid, recordCardEvent, shareByToken, type CardOwner, type CardShare } from './store.js';
import { STATE_PATTERN } from './ways.js';

/**
 * A customer who adds a member through a card: the add event's State (`card-<userid>` or a share's
 * `cs-<token>`) names the card and, through the share, the referrer. Recorded on the follow
 * relation (card_staff_id, card_share_id, referrer_*, card_added_at), as card events (a scan
 * every time; `added` the first time the relation comes through a card), in the timelines of the
 * new customer and of the referring customer, and live to the member (`card.customer_added`).
 * A customer who adds through a link the member sent them is not their own referrer.
 */
export interface Attribution {
  owner: CardOwner;
  share: CardShare | null;
  referrerExternalUserid: string | null;
  referrerStaffId: string | null;
  first: boolean;
}

export async function attributeAdd(deps: CardDeps, p: { corpId: string; userid: string; externalUserid: string; state?: string }): Promise<Attribution | undefined> {
  const match = p.state ? STATE_PATTERN.exec(p.state) : null;
  if (!match) return undefined;
  const { db } = deps;
  let share: CardShare | null = null;
  let owner: CardOwner | undefined;
  if (match[2]) {
    share = (await shareByToken(db, match[2])) ?? null;
    if (!share) return undefined;
    owner = await cardOwner(db, share.staff_id);
  } else {
    owner = await cardOwnerByUserid(db, p.corpId, match[1]!);
  }
  if (!owner || owner.corpId !== p.corpId) return undefined;
  const referrerExternalUserid = share?.referrer_external_userid && share.referrer_external_userid !== p.externalUserid ? share.referrer_external_userid : null;
  const referrerStaffId = share?.referrer_staff_id && share.referrer_staff_id !== owner.id ? share.referrer_staff_id : null;

  const first = await db.transaction().execute(async (trx) => {
    const before = await trx
      .selectFrom('follow_relations')
      .select('card_added_at')
      .where('corp_id', '=', p.corpId)
      .where('userid', '=', p.userid)
      .where('external_userid', '=', p.externalUserid)
      .forUpdate()
      .executeTakeFirst();
    if (before) {
      await trx
        .updateTable('follow_relations')
        .set({
          card_staff_id: owner.id,
          card_share_id: share?.id ?? null,
          referrer_external_userid: referrerExternalUserid,
          referrer_staff_id: referrerStaffId,
          card_added_at: before.card_added_at ?? new Date(),
        })
        .where('corp_id', '=', p.corpId)
        .where('userid', '=', p.userid)
        .where('external_userid', '=', p.externalUserid)
        .execute();
    }
    return !before?.card_added_at;
  });

  const event = { staffId: owner.id, shareId: share?.id ?? null, corpId: p.corpId, externalUserid: p.externalUserid, referrerExternalUserid, referrerStaffId };
  await recordCardEvent(db, { ...event, kind: 'scan' });
  if (first) await recordCardEvent(db, { ...event, kind: 'added' });
  return { owner, share, referrerExternalUserid, referrerStaffId, first };
}

async function onContactAdded(deps: CardDeps, { payload: p }: DomainEvent<'contact.added'>): Promise<void> {
  const a = await attributeAdd(deps, p);
  if (!a) return;
  const { db } = deps;
  const contactName = (await db.selectFrom('external_contacts').select('name').where('corp_id', '=', p.corpId).where('external_userid', '=', p.externalUserid).executeTakeFirst())?.name ?? null;
  let referrer: { type: 'customer' | 'member'; name: string | null } | null = null;
  if (a.referrerExternalUserid) {
    const name = (await db.selectFrom('external_contacts').select('name').where('corp_id', '=', p.corpId).where('external_userid', '=', a.referrerExternalUserid).executeTakeFirst())?.name ?? null;
    referrer = { type: 'customer', name };
  } else if (a.referrerStaffId) {
    referrer = { type: 'member', name: (await db.selectFrom('staff').select('display_name').where('id', '=', a.referrerStaffId).executeTakeFirst())?.display_name ?? null };
  }
  const by = referrer ? `，推荐人：${referrer.type === 'member' ? '同事' : ''}${referrer.name ?? '（未知）'}` : '';
  await addTimeline(db, {
    corpId: p.corpId, externalUserid: p.externalUserid, kind: 'card_scanned',
    summary: `扫描客户经理${a.owner.name}的名片二维码${a.first ? '添加了客户经理' : '再次添加了客户经理'}${by}`,
    detail: { staffId: a.owner.id, token: a.share?.token ?? null, state: p.state ?? null, referrerExternalUserid: a.referrerExternalUserid, referrerStaffId: a.referrerStaffId, first: a.first },
    cause: { type: 'customer', id: p.externalUserid },
  });
  if (a.referrerExternalUserid) {
    await addTimeline(db, {
      corpId: p.corpId, externalUserid: a.referrerExternalUserid, kind: 'card_referral',
      summary: `推荐的新客户${maskName(contactName)}通过名片添加了客户经理${a.owner.name}`,
      detail: { staffId: a.owner.id, token: a.share?.token ?? null, referred: p.externalUserid },
      cause: { type: 'customer', id: p.externalUserid },
    });
  }
  deps.notifyMember(a.owner.id, 'card.customer_added', {
    staffId: a.owner.id, externalUserid: p.externalUserid, name: contactName, token: a.share?.token ?? null, first: a.first, referrer,
    text: `${contactName ?? '新客户'}扫描您的名片二维码添加了您${referrer ? `，推荐人：${referrer.name ?? '（未知）'}` : ''}`, at: new Date().toISOString(),
  });
}

export function subscribeCardAttribution(events: EventBus, deps: CardDeps): void {
  events.on(EVENTS.contactAdded, (e) => onContactAdded(deps, e));
}
