import { expect } from 'chai';
import { sql } from 'kysely';
import { bootApp, type TestApp, type TestClient } from '../../test/harness.js';
import { DEMO_CORP_ID } from '../demo/seed.js';
import { createLogger } from '../platform/logger.js';
import { fanOutMassSend } from './fanout.js';
import type { PreflightResult } from './preflight.js';
import type { MassSendDeps } from './types.js';

describe('mass send preflight', function () {
  this.timeout(120_000);
  let app: TestApp;
  let ops: TestClient;
  let deps: MassSendDeps;
  const db = () => app.database.db;

  /** The demo's approved product card for an R2 wealth product: marketing, with suitability to check. */
  const wealthCard = async () =>
    (await db().selectFrom('materials').select('id').where('status', '=', 'approved').where(sql<boolean>`product_ids @> ARRAY['p-wm-fi-r2-180']::text[]`).executeTakeFirstOrThrow()).id;

  before(async () => {
    app = await bootApp({ DEMO_CUSTOMERS: '60' });
    await app.outbox?.stop();
    ops = await app.client().login('ops');
    deps = { db: app.database.db, gate: app.gate, gateway: app.wecom.gateway, jobs: app.jobs, realtime: app.realtime!, logger: createLogger({ level: 'silent' }) };
  });
  after(() => app.close());

  it('predicts exactly the rows, skips and blocked customers the fan-out then writes, and writes nothing itself', async () => {
    const linked = (
      await sql<{ customer_id: string; cif_no: string }>`
        SELECT DISTINCT ec.customer_id, c.cif_no FROM external_contacts ec JOIN customers c ON c.id = ec.customer_id
          JOIN follow_relations fr ON fr.corp_id = ec.corp_id AND fr.external_userid = ec.external_userid AND fr.deleted_at IS NULL
         WHERE ec.corp_id = ${DEMO_CORP_ID} ORDER BY c.cif_no LIMIT 8`.execute(db())
    ).rows;
    const strangers = (
      await sql<{ id: string; cif_no: string }>`
        SELECT c.id, c.cif_no FROM customers c WHERE NOT EXISTS (SELECT 1 FROM external_contacts ec WHERE ec.customer_id = c.id) ORDER BY c.cif_no LIMIT 3`.execute(db())
    ).rows;
    expect(linked).to.have.length(8);
    expect(strangers).to.have.length(3);
    // Give the reachable customers a mix of facts: two declined marketing, two never assessed, the rest suitable.
    const ids = linked.map((l) => l.customer_id);
    await db().updateTable('customers').set({ marketing_consent: true, risk_level: 'R3', risk_assessed_at: new Date().toISOString().slice(0, 10) }).where('id', 'in', ids).execute();
    await db().updateTable('customers').set({ marketing_consent: false }).where('id', 'in', ids.slice(0, 2)).execute();
    await db().updateTable('customers').set({ risk_level: null, risk_assessed_at: null }).where('id', 'in', ids.slice(2, 4)).execute();

    const seg = await ops.post('/api/v1/segments', { name: '预检客群', definition: { method: 'fixed' }, members: { add: [...linked, ...strangers].map((c) => c.cif_no) } });
    expect(seg.status, JSON.stringify(seg.body)).to.equal(201);
    const segmentId = seg.body.segment?.id ?? seg.body.id;
    const materialId = await wealthCard();
    const before = {
      sends: (await db().selectFrom('mass_sends').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n,
      snapshots: (await db().selectFrom('segment_snapshots').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n,
      outbox: (await db().selectFrom('outbox').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n,
    };

    const r = await ops.post('/api/v1/mass-sends/preflight', { audience: { segmentId }, materialId, purpose: 'marketing' });
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    const p = r.body as PreflightResult;
    expect(p).to.include({ audience: 11, reachable: 8, skipped: 3 });
    expect(p.content.productIds).to.deep.equal(['p-wm-fi-r2-180']);
    expect(p.content.text).to.contain('理财非存款');
    expect(p.content.appended).to.deep.equal([]);
    expect(p.gate).to.deep.include({ block: 4 });
    expect(p.gate.pass + p.gate.warn).to.equal(4);
    expect(p.gate.reasons).to.have.deep.members([
      { reason: '客户未授权营销信息', count: 2 },
      { reason: '适当性：客户未完成风险测评，不得推介R2产品', count: 2 },
    ]);
    expect(p.members.reduce((s, m) => s + m.customers, 0)).to.equal(8);
    expect(p.memberCount).to.equal(p.members.length);
    expect(p.members.every((m) => m.name)).to.equal(true);

    const after = {
      sends: (await db().selectFrom('mass_sends').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n,
      snapshots: (await db().selectFrom('segment_snapshots').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n,
      outbox: (await db().selectFrom('outbox').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n,
    };
    expect(after).to.deep.equal(before);

    // The real send to the same audience writes what the preflight said.
    const created = await ops.post('/api/v1/mass-sends', { name: '恒享固收推荐', audience: { segmentId }, materialId, purpose: 'marketing', scheduledAt: new Date(Date.now() + 3_600_000).toISOString() });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const fanned = await fanOutMassSend(deps, created.body.id);
    expect(fanned).to.include({ queued: 8, skipped: 3, blocked: 4 });
    const rows = await db().selectFrom('outbox').select(['sender', 'status', 'last_error']).where('ref_type', '=', 'mass_send').where('ref_id', '=', created.body.id).execute();
    const bySender = new Map<string, number>();
    for (const row of rows) bySender.set(row.sender!, (bySender.get(row.sender!) ?? 0) + 1);
    expect(Object.fromEntries(bySender)).to.deep.equal(Object.fromEntries(p.members.map((m) => [m.userid, m.customers])));
    const blockedReasons = rows.filter((row) => row.status === 'blocked').map((row) => row.last_error).sort();
    expect(blockedReasons).to.deep.equal(['客户未授权营销信息', '客户未授权营销信息', '适当性：客户未完成风险测评，不得推介R2产品', '适当性：客户未完成风险测评，不得推介R2产品']);
    await ops.post(`/api/v1/mass-sends/${created.body.id}/cancel`);
  });

  it('says when a send time in the quiet hours would go out, and counts a snapshot as frozen', async () => {
    const seg = await ops.post('/api/v1/segments', { name: '快照客群', definition: { method: 'rule', filter: { field: 'is_wecom_contact', op: 'is_true' } } });
    expect(seg.status, JSON.stringify(seg.body)).to.equal(201);
    const segmentId = seg.body.segment?.id ?? seg.body.id;
    const snap = await ops.post(`/api/v1/segments/${segmentId}/snapshots`);
    expect(snap.status, JSON.stringify(snap.body)).to.equal(201);
    const service = (await db().selectFrom('materials').select('id').where('status', '=', 'approved').where('title', '=', '防诈骗提醒').executeTakeFirstOrThrow()).id;
    // 22:30 in Shanghai tomorrow is inside the default quiet hours (21:00–08:00): the tasks go at 08:00 the next morning.
    const day = new Date(Date.now() + 8 * 3_600_000 + 86_400_000).toISOString().slice(0, 10);
    const at = new Date(`${day}T22:30:00+08:00`);
    const r = await ops.post('/api/v1/mass-sends/preflight', { audience: { snapshotId: snap.body.snapshotId }, materialId: service, purpose: 'service', scheduledAt: at.toISOString() });
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    const p = r.body as PreflightResult;
    expect(p.audience).to.equal(snap.body.count);
    expect(p.skipped).to.equal(0);
    expect(p.gate).to.include({ block: 0 });
    expect(p.quietUntil).to.equal(new Date(at.getTime() + 9.5 * 3_600_000).toISOString());
    expect(p.scheduledAt).to.equal(at.toISOString());
  });

  it('names the field of a bad request and refuses roles that may not send', async () => {
    const draft = await db()
      .insertInto('materials')
      .values({ kind: 'text', title: '草稿', text: '草稿内容', status: 'draft', verdict: null, review_note: null, created_by: null, submitted_at: null, reviewed_by: null, reviewed_at: null, retired_at: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    const seg = await ops.post('/api/v1/segments', { name: '空客群', definition: { method: 'fixed' } });
    const segmentId = seg.body.segment?.id ?? seg.body.id;
    const r = await ops.post('/api/v1/mass-sends/preflight', { audience: { segmentId }, materialId: draft.id, purpose: 'service' });
    expect([r.status, r.body.error.issues[0].path]).to.deep.equal([400, 'body.materialId']);
    const missing = await ops.post('/api/v1/mass-sends/preflight', { audience: { segmentId: '00000000-0000-4000-8000-000000000000' }, materialId: await wealthCard(), purpose: 'service' });
    expect([missing.status, missing.body.error.issues[0].path]).to.deep.equal([400, 'body.audience.segmentId']);
    const bm = await app.client().login('bm.liuyang');
    expect((await bm.post('/api/v1/mass-sends/preflight', { audience: { segmentId }, materialId: await wealthCard(), purpose: 'service' })).status).to.equal(403);
  });
});
