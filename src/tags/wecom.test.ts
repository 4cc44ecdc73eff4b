import { expect } from 'chai';
import { sql } from 'kysely';
import type { TestApp, TestClient } from '../../test/harness.js';
import { finishedRun, metric, settled, until } from '../../test/wecom.js';
import { DEMO_CORP_ID } from '../demo/seed.js';
import { bootWithTags } from './testing.js';
import { EVENTS } from '../platform/events.js';
import { mirrorWecomTags, ownCause, WECOM_GROUP_PREFIX } from './wecom.js';

describe('tags linked to WeCom corp tags', function () {
  this.timeout(120_000);
  let app: TestApp;
  let ops: TestClient;
  const markCalls = () => metric(app, 'wecom_api_calls_total', { api: 'externalcontact/mark_tag' });
  const world = () => app.wecom.sandbox!.world;
  const staffId = async (username: string) => (await app.database.db.selectFrom('staff').select('id').where('username', '=', username).executeTakeFirstOrThrow()).id;

  /** A linked customer with exactly one live relation, to `userid`. */
  async function customerOf(userid: string, skip: string[] = []) {
    const rows = await sql<{ customer_id: string; external_userid: string }>`
      SELECT ec.customer_id, ec.external_userid FROM external_contacts ec
      JOIN follow_relations fr ON fr.corp_id = ec.corp_id AND fr.external_userid = ec.external_userid AND fr.deleted_at IS NULL
      WHERE ec.customer_id IS NOT NULL AND fr.userid = ${userid}
        AND (SELECT count(*) FROM follow_relations x WHERE x.corp_id = ec.corp_id AND x.external_userid = ec.external_userid AND x.deleted_at IS NULL) = 1
      ORDER BY ec.external_userid`.execute(app.database.db);
    const row = rows.rows.find((r) => !skip.includes(r.customer_id))!;
    return { customerId: row.customer_id, externalUserid: row.external_userid };
  }
  const localTags = async (customerId: string) =>
    (await sql<{ name: string; source: string; cause: string; wecom_tag_id: string | null }>`SELECT t.name, ct.source, ct.cause, t.wecom_tag_id FROM customer_tags ct
      JOIN tags t ON t.id = ct.tag_id WHERE ct.customer_id = ${customerId} AND t.wecom_tag_id IS NOT NULL ORDER BY t.name`.execute(app.database.db)).rows;
  /** A manual local tag linked to a corp tag the app creates in WeCom (only app-made corp tags may be marked). */
  async function linkedTag(name: string) {
    const group = await ops.post('/api/v1/tag-groups', { name: `偏好·${name}`, layer: 'manual' });
    expect(group.status, JSON.stringify(group.body)).to.equal(201);
    const tag = await ops.post('/api/v1/tags', { groupId: group.body.id, name, wecom: { groupName: '客户偏好' } });
    expect(tag.status, JSON.stringify(tag.body)).to.equal(201);
    return { id: tag.body.id as string, wecomTagId: tag.body.wecom.tagId as string };
  }
  const follow = (userid: string, externalUserid: string) => world().follow(userid, externalUserid)!;

  before(async () => {
    ({ app } = await bootWithTags());
    ops = await app.client().login('ops');
    const started = await ops.post('/api/v1/wecom/sync', {});
    expect((await finishedRun(app, started.body.runId)).status).to.equal('done');
  });
  after(() => app.close());

  it('mirrors every linked customer’s corp tags after a sync, creating local tags in 企业标签 groups on first sight', async () => {
    const result = await mirrorWecomTags(app.database.db, { corpId: DEMO_CORP_ID, cause: 'wecom:sync' });
    const expected = new Set<string>();
    const links = await app.database.db.selectFrom('external_contacts').select(['external_userid', 'customer_id']).where('customer_id', 'is not', null).execute();
    const customerOfContact = new Map(links.map((l) => [l.external_userid, l.customer_id!]));
    for (const f of world().follows.values()) {
      const customer = customerOfContact.get(f.external_userid);
      for (const tagId of f.tagIds) if (customer) expected.add(`${customer}/${tagId}`);
    }
    expect(expected.size).to.be.greaterThan(10);
    expect(result.added).to.equal(expected.size);
    expect(result.tagsCreated).to.be.greaterThan(0);
    const rows = await sql<{ customer_id: string; wecom_tag_id: string; group: string; source: string }>`SELECT ct.customer_id, t.wecom_tag_id, g.name AS group, ct.source
      FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id JOIN tag_groups g ON g.id = t.group_id WHERE t.wecom_tag_id IS NOT NULL`.execute(app.database.db);
    expect(new Set(rows.rows.map((r) => `${r.customer_id}/${r.wecom_tag_id}`))).to.deep.equal(expected);
    expect(rows.rows.every((r) => r.group.startsWith(WECOM_GROUP_PREFIX) && r.source === 'wecom')).to.equal(true);
    expect(await mirrorWecomTags(app.database.db, { corpId: DEMO_CORP_ID, cause: 'wecom:sync' })).to.deep.equal({ tagsCreated: 0, added: 0, removed: 0 });
  });

  it('shows a tag a member adds in WeCom as a wecom customer tag, drops it when removed there, and calls WeCom for neither', async () => {
    const { customerId, externalUserid } = await customerOf('LiNa');
    const tag = world().tagGroups.flatMap((g) => g.tag).find((t) => !t.deleted && !follow('LiNa', externalUserid).tagIds.includes(t.id))!;
    const calls = await markCalls();
    app.wecom.sandbox!.control.memberEditsContact({ userid: 'LiNa', externalUserid, addTags: [tag.id] });
    await settled(app);
    const added = (await localTags(customerId)).find((t) => t.wecom_tag_id === tag.id);
    expect(added).to.deep.include({ name: tag.name, source: 'wecom', cause: 'wecom:member:LiNa' });

    // CreateTime has one-second resolution and the inbox takes two identical events of one second for a
    // replay: the member's second edit comes a (sandbox) second later, as a person's would.
    app.wecom.sandbox!.control.advanceClock(1_000);
    app.wecom.sandbox!.control.memberEditsContact({ userid: 'LiNa', externalUserid, removeTags: [tag.id] });
    await settled(app);
    expect((await localTags(customerId)).map((t) => t.wecom_tag_id)).to.not.include(tag.id);
    expect(await markCalls()).to.equal(calls);
  });

  it('sends a linked tag assigned in the sidebar to WeCom with one call, records it as the member’s, and does not bounce back', async () => {
    const tag = await linkedTag('稳健理财');
    const { customerId, externalUserid } = await customerOf('ZhangWei');
    const am = await app.client().login('am.zhangwei');
    const calls = await markCalls();
    const r = await am.post(`/api/v1/customers/${customerId}/tags`, { add: [tag.id] });
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect(r.body.wecom).to.deep.equal([{ corpId: DEMO_CORP_ID, userid: 'ZhangWei', externalUserid }]);
    expect(follow('ZhangWei', externalUserid).tagIds).to.include(tag.wecomTagId);
    await settled(app);
    expect(await markCalls()).to.equal(calls + 1);
    const row = await app.database.db.selectFrom('customer_tags').selectAll().where('customer_id', '=', customerId).where('tag_id', '=', tag.id).executeTakeFirstOrThrow();
    expect(row).to.deep.include({ source: 'member', cause: `member:${await staffId('am.zhangwei')}` });
    const stored = await app.database.db.selectFrom('wecom_contact_tags').select(['source']).where('external_userid', '=', externalUserid).where('tag_id', '=', tag.wecomTagId).executeTakeFirstOrThrow();
    expect(stored.source).to.equal('member');

    const removed = await am.post(`/api/v1/customers/${customerId}/tags`, { remove: [tag.id] });
    expect(removed.status).to.equal(200);
    expect(follow('ZhangWei', externalUserid).tagIds).to.not.include(tag.wecomTagId);
    await settled(app);
    expect(await markCalls()).to.equal(calls + 2);
    expect((await localTags(customerId)).map((t) => t.name)).to.not.include('稳健理财');
    const again = await am.post(`/api/v1/customers/${customerId}/tags`, { remove: [tag.id] });
    expect(again.body).to.deep.include({ added: [], removed: [] });
    expect(await markCalls()).to.equal(calls + 2);
  });

  it('marks the tag on every live relation of a customer who follows two members', async () => {
    const tag = await linkedTag('基金定投');
    const { customerId, externalUserid } = await customerOf('WangFang');
    app.wecom.sandbox!.control.scanQr({ userid: 'ZhouJie', customer: { externalUserid } });
    await settled(app);
    const calls = await markCalls();
    const r = await ops.post(`/api/v1/customers/${customerId}/tags`, { add: [tag.id] });
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect(r.body.wecom.map((x: { userid: string }) => x.userid)).to.deep.equal(['WangFang', 'ZhouJie']);
    expect(await markCalls()).to.equal(calls + 2);
    expect(follow('WangFang', externalUserid).tagIds).to.include(tag.wecomTagId);
    expect(follow('ZhouJie', externalUserid).tagIds).to.include(tag.wecomTagId);
  });

  it('leaves the customer’s tags unchanged when WeCom refuses, and says why', async () => {
    const tag = await linkedTag('大额存单');
    const { customerId, externalUserid } = await customerOf('LiuQiang');
    app.wecom.sandbox!.control.addFault({ api: 'externalcontact/mark_tag', errcode: 60011, count: 1 });
    const r = await ops.post(`/api/v1/customers/${customerId}/tags`, { add: [tag.id] });
    expect(r.status).to.equal(409);
    expect(r.body.error.message).to.match(/WeCom refused the change for LiuQiang→.*60011.*unchanged/);
    expect(await app.database.db.selectFrom('customer_tags').select('tag_id').where('customer_id', '=', customerId).where('tag_id', '=', tag.id).execute()).to.deep.equal([]);
    expect(follow('LiuQiang', externalUserid).tagIds).to.not.include(tag.wecomTagId);
    const audit = await app.database.db.selectFrom('audit_log').select(['outcome']).where('action', '=', 'tags.assign').where('target_id', '=', customerId).execute();
    expect(audit).to.deep.equal([{ outcome: 'failure' }]);
  });

  it('reports which relations WeCom accepted when it refuses another, and records nothing locally', async () => {
    const tag = await linkedTag('养老规划');
    const { customerId, externalUserid } = await customerOf('SunHao');
    app.wecom.sandbox!.control.scanQr({ userid: 'ZhouJie', customer: { externalUserid } });
    await settled(app);
    // WeCom loses the second relation without telling anyone: the app still thinks it is live.
    app.wecom.sandbox!.control.driftDeleteFollow({ userid: 'ZhouJie', externalUserid });
    const r = await ops.post(`/api/v1/customers/${customerId}/tags`, { add: [tag.id] });
    expect(r.status).to.equal(409);
    expect(r.body.error.message).to.contain(`accepted the change for SunHao→${externalUserid} but refused it for ZhouJie→${externalUserid}`);
    expect(r.body.error.issues).to.deep.equal([
      { path: `wecom.${DEMO_CORP_ID}.SunHao→${externalUserid}`, message: 'applied in WeCom' },
      { path: `wecom.${DEMO_CORP_ID}.ZhouJie→${externalUserid}`, message: r.body.error.issues[1].message },
    ]);
    expect(r.body.error.issues[1].message).to.match(/84061/);
    expect(follow('SunHao', externalUserid).tagIds).to.include(tag.wecomTagId);
    expect(await app.database.db.selectFrom('customer_tags').select('tag_id').where('customer_id', '=', customerId).where('tag_id', '=', tag.id).execute()).to.deep.equal([]);
  });

  it('ignores tags.changed events caused by its own WeCom calls and mirrors all others', async () => {
    const { customerId, externalUserid } = await customerOf('ZhaoMin');
    const tag = world().tagGroups.flatMap((g) => g.tag).find((t) => !t.deleted && !follow('ZhaoMin', externalUserid).tagIds.includes(t.id))!;
    // What markContactTags records after WeCom accepted a change, without the event yet.
    await app.database.db.insertInto('wecom_contact_tags').values({ corp_id: DEMO_CORP_ID, userid: 'ZhaoMin', external_userid: externalUserid, tag_id: tag.id, source: 'member', cause: 'test' }).execute();
    const payload = { corpId: DEMO_CORP_ID, externalUserid, added: [tag.id], removed: [] };
    app.events.publish(EVENTS.tagsChanged, payload, ownCause({ type: 'member', id: 'someone' }));
    await app.events.settled();
    expect((await localTags(customerId)).map((t) => t.wecom_tag_id)).to.not.include(tag.id);
    app.events.publish(EVENTS.tagsChanged, payload, { type: 'member', id: 'someone' });
    await app.events.settled();
    expect(await localTags(customerId)).to.deep.include({ name: tag.name, source: 'wecom', cause: 'wecom:member:someone', wecom_tag_id: tag.id });
  });

  it('keeps a linked rule tag in WeCom: matches are marked on their relations, customers without one are tagged locally', async () => {
    const db = app.database.db;
    const outsider = await sql<{ id: string; cif_no: string }>`SELECT c.id, c.cif_no FROM customers c
      WHERE NOT EXISTS (SELECT 1 FROM external_contacts ec WHERE ec.customer_id = c.id) ORDER BY c.cif_no LIMIT 1`.execute(db);
    const { id: outsiderId, cif_no: outsiderCif } = outsider.rows[0]!;
    const followers = (await sql<{ customer_id: string; external_userid: string }>`SELECT DISTINCT ec.customer_id, ec.external_userid FROM external_contacts ec
      JOIN follow_relations fr ON fr.corp_id = ec.corp_id AND fr.external_userid = ec.external_userid AND fr.deleted_at IS NULL
      WHERE fr.userid = 'WuTing' AND ec.customer_id IS NOT NULL`.execute(db)).rows;
    const relations = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM external_contacts ec
      JOIN follow_relations fr ON fr.corp_id = ec.corp_id AND fr.external_userid = ec.external_userid AND fr.deleted_at IS NULL
      WHERE ec.customer_id = ANY(${followers.map((f) => f.customer_id)}::uuid[])`.execute(db)).rows[0]!.n;
    expect(followers.length).to.be.greaterThan(0);
    const group = await ops.post('/api/v1/tag-groups', { name: '自动营销·企微', layer: 'rule' });
    const calls = await markCalls();
    const rule = { any: [{ field: 'follow_member', op: 'eq', value: 'WuTing' }, { field: 'cif_no', op: 'eq', value: outsiderCif }] };
    const created = await ops.post('/api/v1/tags', { groupId: group.body.id, name: '浦东跟进', rule, wecom: { groupName: '规则标签' } });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const { id, wecom } = created.body as { id: string; wecom: { tagId: string } };
    const holders = async () => (await db.selectFrom('customer_tags').select(['customer_id', 'source']).where('tag_id', '=', id).execute());
    await until(async () => (await holders()).length === followers.length + 1, 30_000, 'the linked rule tag to be computed');
    expect((await holders()).every((h) => h.source === 'rule')).to.equal(true);
    expect((await holders()).map((h) => h.customer_id)).to.include(outsiderId);
    for (const f of followers) expect(follow('WuTing', f.external_userid).tagIds).to.include(wecom.tagId);
    expect(await markCalls()).to.equal(calls + relations);

    const narrowed = await ops.request('PATCH', `/api/v1/tags/${id}`, { rule: { field: 'cif_no', op: 'eq', value: outsiderCif } });
    expect(narrowed.status).to.equal(200);
    await until(async () => (await holders()).length === 1, 30_000, 'the narrowed rule to be recomputed');
    for (const f of followers) expect(follow('WuTing', f.external_userid).tagIds).to.not.include(wecom.tagId);
    expect(await markCalls()).to.equal(calls + 2 * relations);
  });
});
