import { DEMO_CORP_ID as CORP } from '../demo/seed.js';
import type { Db } from '../platform/db/database.js';
import { addDays } from './range.js';

/**
 * Planted rows for the dashboard's tests, over the seven China days from `firstDay` (day(0) … day(6)), with a
 * few just outside them; dashboard.test.ts works out every number the dashboard shows for them. Members: LiNa and
 * LiuQiang work in 西湖支行 (bm.liuyang's branch), ZhangWei at head office, SunHao in 鄞州支行.
 */
const at = (local: string) => new Date(`${local}+08:00`);

async function customer(db: Db, cif: string, products: string[]): Promise<string> {
  const row = await db.insertInto('customers').values({ cif_no: cif, name: `客户${cif}`, branch_id: 'br-hz-xihu', products, aum: 10_000, attrs: '{}' })
    .returning('id').executeTakeFirstOrThrow();
  return row.id;
}

async function contact(db: Db, externalUserid: string, customerId: string | null): Promise<void> {
  await db.insertInto('external_contacts').values({ corp_id: CORP, external_userid: externalUserid, name: externalUserid, customer_id: customerId }).execute();
}

async function relation(db: Db, externalUserid: string, userid: string, addedAt: string, over: { state?: string | null; deletedAt?: string; by?: 'member' | 'customer' | 'transfer' } = {}) {
  await db.insertInto('follow_relations').values({
    corp_id: CORP, userid, external_userid: externalUserid, remark: null, description: null, remark_mobiles: [], add_way: 1,
    state: over.state ?? null, added_at: at(addedAt), deleted_at: over.deletedAt ? at(over.deletedAt) : null, deleted_by: over.by ?? null,
  }).execute();
}

async function messageIn(db: Db, externalUserid: string, local: string): Promise<void> {
  await db.insertInto('timeline_events').values({
    corp_id: CORP, external_userid: externalUserid, at: at(local), kind: 'message_in', summary: '发来消息', detail: '{}', cause_type: 'customer', cause_id: externalUserid,
  }).execute();
}

async function plantContacts(db: Db, day: (offset: number) => string): Promise<void> {
  await db.insertInto('wecom_contact_ways').values({ corp_id: CORP, type: 2, scene: 2, state: 'qr-br-hz-xihu', name: '西湖支行大堂二维码', members: ['LiNa'] }).execute();
  const withProduct = await customer(db, 'DB-1', ['p-dep-fix-1y']);
  const without = await customer(db, 'DB-2', []);
  const alsoProduct = await customer(db, 'DB-4', ['p-dep-fix-1y']);
  await contact(db, 'wmC1', withProduct);
  await contact(db, 'wmC2', without);
  await contact(db, 'wmC3', null);
  await contact(db, 'wmC4', alsoProduct);
  for (const id of ['wmC5', 'wmC6', 'wmC7', 'wmC8']) await contact(db, id, null);
  // c1: added, replied, bound, bought; added again (to ZhangWei) on day 3: two relations, one contact.
  await relation(db, 'wmC1', 'LiNa', `${day(0)}T10:00:00`, { state: 'qr-br-hz-xihu' });
  await relation(db, 'wmC1', 'ZhangWei', `${day(3)}T09:00:00`, { state: 'card-ZhangWei' });
  await messageIn(db, 'wmC1', `${day(1)}T08:00:00`);
  // c2: late on day 0 (15:30 UTC), replied, bound, holds nothing.
  await relation(db, 'wmC2', 'LiNa', `${day(0)}T23:30:00`);
  await messageIn(db, 'wmC2', `${day(2)}T12:00:00`);
  // c3: just after midnight on day 1 (still day 0 in UTC), replied, not bound.
  await relation(db, 'wmC3', 'ZhangWei', `${day(1)}T00:10:00`, { state: 'card-ZhangWei' });
  await messageIn(db, 'wmC3', `${day(4)}T18:00:00`);
  // c4: bound with a product, but its only message came before it added the member.
  await relation(db, 'wmC4', 'ZhangWei', `${day(2)}T11:00:00`, { state: 'card-ZhangWei' });
  await messageIn(db, 'wmC4', `${day(1)}T11:00:00`);
  // c5: added before the week, deleted the member on day 3.
  await relation(db, 'wmC5', 'LiuQiang', `${day(-1)}T23:59:00`, { deletedAt: `${day(3)}T10:00:00`, by: 'customer' });
  // c6: added on day 4, deleted by the member on day 5, wrote only after the week.
  await relation(db, 'wmC6', 'SunHao', `${day(4)}T10:00:00`, { state: 'qr-br-nb-yinzhou', deletedAt: `${day(5)}T10:00:00`, by: 'member' });
  await messageIn(db, 'wmC6', `${day(8)}T10:00:00`);
  // c7: handed over to a colleague inside the week: not lost.
  await relation(db, 'wmC7', 'ZhangWei', `${day(-31)}T10:00:00`, { state: 'card-ZhangWei', deletedAt: `${day(5)}T10:00:00`, by: 'transfer' });
  // c8: added after the week.
  await relation(db, 'wmC8', 'LiNa', `${day(7)}T00:00:00`);
}

async function plantSop(db: Db, day: (offset: number) => string): Promise<void> {
  const template = async (key: string, name: string) => {
    const t = await db.insertInto('sop_templates').values({ key, name, draft: '{}' }).returning('id').executeTakeFirstOrThrow();
    const v = await db.insertInto('sop_template_versions').values({ template_id: t.id, version: 1, definition: '{}' }).returning('id').executeTakeFirstOrThrow();
    return { id: t.id, version: v.id };
  };
  const welcome = await template('dash-welcome', '新客欢迎');
  const birthday = await template('dash-birthday', '生日关怀');
  let n = 0;
  const enroll = async (t: { id: string; version: string }, member: string, local: string) => {
    await db.insertInto('sop_enrollments').values({
      template_id: t.id, version_id: t.version, corp_id: CORP, member_userid: member, external_userid: `wmE${++n}`, run_key: `dash:${n}`,
      cause_type: 'sop', cause_id: t.id, started_at: at(local),
    }).execute();
  };
  await enroll(welcome, 'LiNa', `${day(0)}T09:00:00`);
  await enroll(welcome, 'LiNa', `${day(0)}T21:00:00`);
  await enroll(welcome, 'ZhangWei', `${day(2)}T09:00:00`);
  await enroll(welcome, 'LiNa', `${day(-1)}T09:00:00`);
  await enroll(birthday, 'LiNa', `${day(6)}T23:59:00`);
  // Never pending: the running dispatcher would send a pending row and change its status under the test.
  const message = async (over: { cause?: string; template?: string; channel?: string; sender: string; status: string; local: string }) => {
    await db.insertInto('outbox').values({
      idempotency_key: `dash:${++n}`, corp_id: CORP, channel: over.channel ?? 'mass_single', recipient: `wmR${n}`, sender: over.sender,
      payload: JSON.stringify({ text: '您好' }), status: over.status as 'sent', cause_type: over.cause ?? 'sop', cause_id: over.template ?? welcome.id,
      created_at: at(over.local),
    }).execute();
  };
  await message({ sender: 'LiNa', status: 'sent', local: `${day(0)}T10:00:00` });
  await message({ sender: 'LiNa', status: 'failed', local: `${day(0)}T11:00:00` });
  await message({ sender: 'ZhangWei', status: 'cancelled', local: `${day(1)}T10:00:00` });
  await message({ sender: 'LiNa', status: 'sent', channel: 'app_message', local: `${day(1)}T10:00:00` });
  await message({ sender: 'LiNa', status: 'sent', cause: 'member', local: `${day(1)}T10:00:00` });
  await message({ sender: 'LiNa', status: 'blocked', template: birthday.id, local: `${day(6)}T10:00:00` });
}

async function plantReplies(db: Db, day: (offset: number) => string): Promise<void> {
  let n = 0;
  const log = async (decision: string, member: string | null, local: string, reason: string | null = null) => {
    await db.insertInto('reply_log').values({
      channel: 'kf', message_id: `dash-${++n}`, corp_id: CORP, conversation: `wmK${n}`, sender: `wmK${n}`, member_userid: member,
      text: '你好', decision: decision as 'kb', reason, received_at: at(local),
    }).execute();
  };
  await log('kb', 'LiNa', `${day(1)}T09:00:00`);
  await log('ai', 'LiNa', `${day(1)}T10:00:00`);
  await log('handoff', 'ZhangWei', `${day(1)}T11:00:00`, '投诉');
  await log('none', null, `${day(1)}T12:00:00`);
  await log('rule', 'ZhangWei', `${day(2)}T09:00:00`);
  await log('handoff', 'LiNa', `${day(2)}T10:00:00`, '转人工');
  await log('ignored', 'LiNa', `${day(2)}T11:00:00`, '人工接待中');
  await log('handoff', 'LiNa', `${day(7)}T10:00:00`, '投诉');
}

/** Everything above, on the week from `firstDay` (YYYY-MM-DD). */
export async function plantDashboard(db: Db, firstDay: string): Promise<void> {
  const day = (offset: number) => addDays(firstDay, offset);
  await plantContacts(db, day);
  await plantSop(db, day);
  await plantReplies(db, day);
}
