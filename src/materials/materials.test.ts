import { expect } from 'chai';
import { bootApp, type TestApp, type TestClient } from '../../test/harness.js';
import { AppError } from '../platform/errors.js';
import { getApprovedMaterial, materialContent, searchMaterials, seedDemoMaterials } from './index.js';

const DISCLOSURE = '理财非存款、产品有风险、投资须谨慎';

describe('material library', () => {
  let app: TestApp;
  let ops: TestClient;
  let compliance: TestClient;
  let admin: TestClient;
  let am: TestClient;

  const staffId = async (username: string) =>
    (await app.database.db.selectFrom('staff').select('id').where('username', '=', username).executeTakeFirstOrThrow()).id;
  const displayName = async (username: string) =>
    (await app.database.db.selectFrom('staff').select('display_name').where('username', '=', username).executeTakeFirstOrThrow()).display_name;
  const auditOf = (id: string) =>
    app.database.db.selectFrom('audit_log').selectAll().where('target_type', '=', 'material').where('target_id', '=', id).orderBy('id').execute();
  const refusal = async (work: Promise<unknown>): Promise<AppError> => {
    try {
      await work;
    } catch (error) {
      if (error instanceof AppError) return error;
      throw error;
    }
    throw new Error('expected an AppError');
  };
  const create = async (body: Record<string, unknown>) => {
    const r = await ops.post('/api/v1/materials', body);
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    return r.body as { id: string; status: string; version: number; text: string };
  };
  const approved = async (body: Record<string, unknown>) => {
    const draft = await create(body);
    expect((await ops.post(`/api/v1/materials/${draft.id}/submit`)).status).to.equal(200);
    const r = await compliance.post(`/api/v1/materials/${draft.id}/approve`);
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    return r.body as { id: string; status: string; version: number; text: string };
  };
  const link = { title: '五月网点活动', url: 'https://xinghe-bank.example/h5/may', desc: '到店办理业务即可参与' };

  before(async () => {
    app = await bootApp();
    ops = await app.client().login('ops');
    compliance = await app.client().login('compliance');
    admin = await app.client().login('admin');
    am = await app.client().login('am.zhangwei');
  });
  after(() => app.close());

  it('takes a material from draft through submission and approval to retirement', async () => {
    const draft = await create({ kind: 'link', title: '网点活动', text: '您好，本月网点活动详见链接。', attachment: link });
    expect([draft.status, draft.version]).to.deep.equal(['draft', 1]);

    const submitted = await ops.post(`/api/v1/materials/${draft.id}/submit`);
    expect(submitted.status).to.equal(200);
    expect(submitted.body).to.include({ status: 'pending', verdict: 'pass' });
    expect(submitted.body.submittedAt).to.be.a('string');

    const decided = await compliance.post(`/api/v1/materials/${draft.id}/approve`, { note: '可以使用' });
    expect(decided.status).to.equal(200);
    expect(decided.body).to.include({ status: 'approved', reviewNote: '可以使用', reviewedBy: await staffId('compliance') });
    expect((await getApprovedMaterial(app.database.db, draft.id)).attachment).to.deep.equal({ msgtype: 'link', link });

    const retired = await ops.post(`/api/v1/materials/${draft.id}/retire`, { reason: '活动结束' });
    expect(retired.status).to.equal(200);
    expect(retired.body.status).to.equal('retired');
    expect(retired.body.retiredAt).to.be.a('string');
  });

  it('returns a rejected material to draft when it is edited, keeping the reviewer’s note', async () => {
    const draft = await create({ kind: 'text', title: '节日问候', text: '端午安康！' });
    await ops.post(`/api/v1/materials/${draft.id}/submit`);
    const noNote = await compliance.post(`/api/v1/materials/${draft.id}/reject`, {});
    expect(noNote.status).to.equal(400);
    expect(noNote.body.error.issues.map((i: { path: string }) => i.path)).to.deep.equal(['body.note']);

    const rejected = await compliance.post(`/api/v1/materials/${draft.id}/reject`, { note: '请补充落款' });
    expect(rejected.body).to.include({ status: 'rejected', reviewNote: '请补充落款' });
    expect((await ops.post(`/api/v1/materials/${draft.id}/submit`)).status).to.equal(409);

    const edited = await ops.request('PATCH', `/api/v1/materials/${draft.id}`, { text: '端午安康！——星河银行' });
    expect(edited.status).to.equal(200);
    expect(edited.body).to.include({ status: 'draft', text: '端午安康！——星河银行', reviewNote: '请补充落款', verdict: null });
    expect((await ops.post(`/api/v1/materials/${draft.id}/submit`)).body.status).to.equal('pending');
  });

  it('refuses to submit a text the compliance gate blocks and names the findings', async () => {
    const draft = await create({ kind: 'text', title: '理财推荐', text: '保本保息，稳赚不赔' });
    const r = await ops.post(`/api/v1/materials/${draft.id}/submit`);
    expect(r.status).to.equal(400);
    expect(r.body.error.message).to.contain('不能提交审核').and.contain('「保本保息」').and.contain('「稳赚不赔」');
    expect(r.body.error.issues).to.have.length(2);
    expect(r.body.error.issues.map((i: { path: string }) => i.path)).to.deep.equal(['material.text', 'material.text']);
    expect(r.body.error.issues[0].message).to.contain('禁止使用「保本保息」');

    const kept = await ops.get(`/api/v1/materials/${draft.id}`);
    expect(kept.body).to.include({ status: 'draft', verdict: 'block' });
    expect(kept.body.findings.map((f: { rule: string; field: string }) => [f.rule, f.field])).to.deep.equal([
      ['block:保本保息', 'text'],
      ['block:稳赚不赔', 'text'],
    ]);
    const [, submitRow] = await auditOf(draft.id).then((rows) => rows.filter((row) => row.action.startsWith('material.')));
    expect([submitRow!.action, submitRow!.outcome]).to.deep.equal(['material.submit', 'denied']);
  });

  it('checks a draft without submitting it, keeps the findings on the draft and records the check', async () => {
    const draft = await create({ kind: 'text', title: '理财预检', text: '这款理财保本保息，年化4%。' });
    const r = await ops.post(`/api/v1/materials/${draft.id}/check`);
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect(r.body.check.verdict).to.equal('block');
    expect(r.body.check.findings[0]).to.include({ field: 'text', match: '保本保息', kind: 'block' });
    expect(r.body.check.findings[0].message).to.contain('禁止使用「保本保息」');
    expect(r.body.check.appended).to.deep.equal([DISCLOSURE]);
    expect(r.body.material).to.include({ status: 'draft', verdict: 'block', text: '这款理财保本保息，年化4%。' });
    const kept = (await ops.get(`/api/v1/materials/${draft.id}`)).body;
    expect([kept.status, kept.verdict, kept.findings.length, kept.text]).to.deep.equal(['draft', 'block', 1, '这款理财保本保息，年化4%。']);
    const recorded = await app.database.db.selectFrom('audit_log').selectAll().where('action', '=', 'compliance.check').where('target_id', '=', draft.id).execute();
    expect(recorded).to.have.length(1);
    expect(recorded[0]!.actor_id).to.equal(await staffId('ops'));

    // A clean edit clears the verdict; a check then passes and shows the disclosure a submission appends.
    await ops.request('PATCH', `/api/v1/materials/${draft.id}`, { text: '这款理财产品业绩比较基准年化4%。' });
    const clean = (await ops.post(`/api/v1/materials/${draft.id}/check`)).body;
    expect(clean.check.verdict).to.equal('pass');
    expect(clean.check.text).to.equal(`这款理财产品业绩比较基准年化4%。\n${DISCLOSURE}。`);
    expect(clean.material.text).to.equal('这款理财产品业绩比较基准年化4%。');

    // Only drafts and rejected materials are checked this way; compliance does not run it.
    expect((await compliance.post(`/api/v1/materials/${draft.id}/check`)).status).to.equal(403);
    await ops.post(`/api/v1/materials/${draft.id}/submit`);
    const pending = await ops.post(`/api/v1/materials/${draft.id}/check`);
    expect(pending.status).to.equal(409);
    expect(pending.body.error.message).to.contain('待审核');
  });

  it('names the author and the reviewer of a material', async () => {
    const done = await approved({ kind: 'text', title: '署名', text: '您好，网点营业时间为9:00-17:00。' });
    const r = (await compliance.get(`/api/v1/materials/${done.id}`)).body;
    expect([r.createdByName, r.reviewedByName]).to.deep.equal([await displayName('ops'), await displayName('compliance')]);
    const listed = (await ops.get('/api/v1/materials?q=署名')).body.items[0];
    expect(listed.createdByName).to.equal(await displayName('ops'));
  });

  it('finds a forbidden phrase on a link card, not only in the text', async () => {
    const draft = await create({ kind: 'link', title: '理财早报', text: '本周早报请查收。', attachment: { ...link, desc: '这款产品稳赚不赔' } });
    const r = await ops.post(`/api/v1/materials/${draft.id}/submit`);
    expect(r.status).to.equal(400);
    expect(r.body.error.issues).to.deep.include({ path: 'material.attachment', message: r.body.error.issues[0].message });
    const finding = (await ops.get(`/api/v1/materials/${draft.id}`)).body.findings[0];
    expect(finding).to.include({ field: 'attachment', match: '稳赚不赔' });
    expect(`${link.title}\n这款产品稳赚不赔`.slice(finding.start, finding.end)).to.equal('稳赚不赔');
  });

  it('lets compliance approve and reject, and refuses operations and account managers with 403', async () => {
    const draft = await create({ kind: 'text', title: '营业时间', text: '节假日网点营业时间以网点公告为准。' });
    await ops.post(`/api/v1/materials/${draft.id}/submit`);
    expect((await ops.post(`/api/v1/materials/${draft.id}/approve`)).status).to.equal(403);
    expect((await am.post(`/api/v1/materials/${draft.id}/approve`)).status).to.equal(403);
    expect((await ops.post(`/api/v1/materials/${draft.id}/reject`, { note: '不行' })).status).to.equal(403);
    expect((await am.post('/api/v1/materials', { kind: 'text', title: 'x', text: 'y' })).status).to.equal(403);
    expect((await compliance.post(`/api/v1/materials/${draft.id}/approve`)).body.status).to.equal('approved');
  });

  it('does not let the author of a material approve it', async () => {
    const r = await admin.post('/api/v1/materials', { kind: 'text', title: '管理员素材', text: '您好，欢迎关注星河银行。' });
    await admin.post(`/api/v1/materials/${r.body.id}/submit`);
    const own = await admin.post(`/api/v1/materials/${r.body.id}/approve`);
    expect(own.status).to.equal(403);
    expect(own.body.error.message).to.equal('不能审核自己创建的素材');
    expect((await compliance.post(`/api/v1/materials/${r.body.id}/approve`)).status).to.equal(200);
  });

  it('keeps an approved material immutable and revises it into a version 2 draft', async () => {
    const original = await approved({ kind: 'link', title: '开户指南', text: '开户步骤见链接。', attachment: link, labels: ['指南'] });
    const edit = await ops.request('PATCH', `/api/v1/materials/${original.id}`, { text: '改一下' });
    expect(edit.status).to.equal(409);
    expect(edit.body.error.message).to.contain('已通过').and.contain('修订');
    expect((await ops.post(`/api/v1/materials/${original.id}/submit`)).status).to.equal(409);
    expect((await ops.post(`/api/v1/materials/${(await create({ kind: 'text', title: 't', text: '您好' })).id}/revise`)).status).to.equal(409);

    const revised = await ops.post(`/api/v1/materials/${original.id}/revise`);
    expect(revised.status).to.equal(201);
    expect(revised.body).to.include({ status: 'draft', version: 2, title: '开户指南', text: '开户步骤见链接。', verdict: null, createdBy: await staffId('ops') });
    expect(revised.body.id).not.to.equal(original.id);
    expect(revised.body.labels).to.deep.equal(['指南']);
    expect(revised.body.attachment).to.deep.equal({ msgtype: 'link', link });
    expect((await ops.get(`/api/v1/materials/${original.id}`)).body).to.include({ status: 'approved', version: 1, text: '开户步骤见链接。' });
    const edited = await ops.request('PATCH', `/api/v1/materials/${revised.body.id}`, { text: '开户步骤见下方链接。' });
    expect(edited.body).to.include({ status: 'draft', version: 2, text: '开户步骤见下方链接。' });
  });

  it('edits a product card draft, rebuilding the card when the product changes', async () => {
    const draft = await create({ kind: 'product', productIds: ['p-dep-fix-1y'], text: '50元起存。' });
    const retitled = await ops.request('PATCH', `/api/v1/materials/${draft.id}`, { text: '定期存款50元起存。', labels: ['存款'] });
    expect(retitled.status, JSON.stringify(retitled.body)).to.equal(200);
    expect(retitled.body).to.include({ text: '定期存款50元起存。', title: '星河整存整取定期存款（1年期）' });
    const moved = await ops.request('PATCH', `/api/v1/materials/${draft.id}`, { productIds: ['p-dep-lcd-3y'], title: '大额存单卡片' });
    expect(moved.status, JSON.stringify(moved.body)).to.equal(200);
    expect(moved.body.title).to.equal('大额存单卡片');
    expect(moved.body.attachment.link.url).to.match(/\/p\/p-dep-lcd-3y$/);
    const attached = await ops.request('PATCH', `/api/v1/materials/${draft.id}`, { attachment: { title: 'x', url: 'https://example.com' } });
    expect(attached.status).to.equal(400);
    expect(attached.body.error.issues[0].path).to.equal('body.attachment');
  });

  it('getApprovedMaterial refuses drafts, pending and retired materials and unknown ids', async () => {
    const { db } = app.database;
    const draft = await create({ kind: 'text', title: '草稿', text: '您好' });
    const notApproved = await refusal(getApprovedMaterial(db, draft.id));
    expect([notApproved.kind, notApproved.details.code, notApproved.message]).to.deep.equal(['invalid', 'material_not_approved', '素材「草稿」当前为草稿，只有审核通过的素材可以发送']);

    await ops.post(`/api/v1/materials/${draft.id}/submit`);
    expect((await refusal(getApprovedMaterial(db, draft.id))).message).to.contain('待审核');

    const done = await approved({ kind: 'text', title: '已下架素材', text: '您好，欢迎咨询。' });
    expect((await getApprovedMaterial(db, done.id)).status).to.equal('approved');
    await ops.post(`/api/v1/materials/${done.id}/retire`);
    expect((await refusal(getApprovedMaterial(db, done.id))).message).to.contain('已下架');

    expect((await refusal(getApprovedMaterial(db, '00000000-0000-4000-8000-000000000000'))).kind).to.equal('not_found');
    expect((await refusal(getApprovedMaterial(db, 'not-a-uuid'))).kind).to.equal('not_found');
  });

  it('builds a wealth product card whose content ends with the disclosure the gate requires', async () => {
    const draft = await create({ kind: 'product', productIds: ['p-wm-cash-r1'], text: '您好，为您介绍天天利，工作日可申购赎回。' });
    const card = (await ops.get(`/api/v1/materials/${draft.id}`)).body;
    expect(card.title).to.equal('星河天天利现金管理类理财');
    expect(card.attachment.msgtype).to.equal('link');
    expect(card.attachment.link).to.include({ title: '星河天天利现金管理类理财', url: `http://localhost:${app.config.PORT}/p/p-wm-cash-r1` });
    expect(card.attachment.link.desc).to.contain('1元起购');

    const submitted = await ops.post(`/api/v1/materials/${draft.id}/submit`);
    expect(submitted.body.disclosures).to.deep.equal([DISCLOSURE]);
    expect(submitted.body.text).to.equal(`您好，为您介绍天天利，工作日可申购赎回。\n${DISCLOSURE}。`);
    await compliance.post(`/api/v1/materials/${draft.id}/approve`);

    const content = materialContent(await getApprovedMaterial(app.database.db, draft.id));
    expect(content.text.endsWith(`${DISCLOSURE}。`)).to.equal(true);
    expect(content.productIds).to.deep.equal(['p-wm-cash-r1']);
    expect(content.disclosures).to.deep.equal([DISCLOSURE]);
    expect(content.attachments).to.deep.equal([card.attachment]);

    const bare = await approved({ kind: 'product', productIds: ['p-fund-bond-r2'] });
    expect(bare.text).to.equal(`${DISCLOSURE}。`);
    const deposit = await approved({ kind: 'product', productIds: ['p-dep-fix-1y'], text: '50元起存。' });
    expect(materialContent(await getApprovedMaterial(app.database.db, deposit.id))).to.include({ text: '50元起存。' });
  });

  it('names the field of invalid material input', async () => {
    const paths = async (r: Promise<{ status: number; body: any }>) => {
      const answer = await r;
      expect(answer.status).to.equal(400);
      return answer.body.error.issues.map((i: { path: string }) => i.path);
    };
    expect(await paths(ops.post('/api/v1/materials', { kind: 'link', title: '链接', attachment: { ...link, url: 'ftp://x' } }))).to.deep.equal(['body.attachment.url']);
    expect(await paths(ops.post('/api/v1/materials', { kind: 'video', title: '视频' }))).to.deep.equal(['body.kind']);
    expect(await paths(ops.post('/api/v1/materials', { kind: 'product', productIds: [] }))).to.deep.equal(['body.productIds']);
    expect(await paths(ops.post('/api/v1/materials', { kind: 'product', productIds: ['p-nope'] }))).to.deep.equal(['body.productIds.0']);
    expect(await paths(ops.post('/api/v1/materials', { kind: 'text', title: '空', text: '  ' }))).to.deep.equal(['body.text']);
    expect(
      await paths(ops.post('/api/v1/materials', { kind: 'miniprogram', title: '小程序', attachment: { title: '预约开户'.repeat(6), pic_media_id: 'M1', appid: 'wx8bd80126147dfAAA', page: '/pages/book/index' } })),
    ).to.deep.equal(['body.attachment.title']);
    expect(await paths(ops.post('/api/v1/materials', { kind: 'image', title: '海报', attachment: {} }))).to.deep.equal(['body.attachment.media_id']);

    const draft = await create({ kind: 'link', title: '链接', attachment: link });
    expect(await paths(ops.request('PATCH', `/api/v1/materials/${draft.id}`, { attachment: { title: '新标题', url: 'not a url' } }))).to.deep.equal(['body.attachment.url']);
    const text = await create({ kind: 'text', title: '文本', text: '您好' });
    expect(await paths(ops.request('PATCH', `/api/v1/materials/${text.id}`, { attachment: { media_id: 'x' } }))).to.deep.equal(['body.attachment']);
  });

  it('writes an audit row, with who and from where, for every change', async () => {
    const draft = await create({ kind: 'text', title: '审计', text: '您好' });
    await ops.post(`/api/v1/materials/${draft.id}/submit`);
    await compliance.post(`/api/v1/materials/${draft.id}/reject`, { note: '措辞' });
    await ops.request('PATCH', `/api/v1/materials/${draft.id}`, { text: '您好，星河银行祝您生活愉快。' });
    await ops.post(`/api/v1/materials/${draft.id}/submit`);
    await compliance.post(`/api/v1/materials/${draft.id}/approve`);
    const revised = await ops.post(`/api/v1/materials/${draft.id}/revise`);
    await ops.post(`/api/v1/materials/${draft.id}/retire`);

    const rows = await auditOf(draft.id);
    const [opsId, complianceId] = [await staffId('ops'), await staffId('compliance')];
    expect(rows.map((r) => [r.action, r.actor_id, r.outcome])).to.deep.equal([
      ['material.create', opsId, 'success'],
      ['compliance.check', opsId, 'success'],
      ['material.submit', opsId, 'success'],
      ['material.reject', complianceId, 'success'],
      ['material.update', opsId, 'success'],
      ['compliance.check', opsId, 'success'],
      ['material.submit', opsId, 'success'],
      ['material.approve', complianceId, 'success'],
      ['material.retire', opsId, 'success'],
    ]);
    expect(rows.every((r) => r.request_id && r.actor_type === 'staff')).to.equal(true);
    expect(rows.find((r) => r.action === 'material.reject')!.detail).to.deep.include({ note: '措辞' });
    expect(rows.find((r) => r.action === 'material.update')!.detail).to.deep.include({ fields: ['text'], from: 'rejected', to: 'draft' });
    const [revise] = await auditOf(revised.body.id);
    expect(revise!.detail).to.deep.include({ revisedFrom: draft.id, version: 2 });
  });

  it('searches approved materials by title, text or label, and shows members only approved ones', async () => {
    const { db } = app.database;
    const hit = await approved({ kind: 'text', title: '信用卡还款提醒', text: '您的账单已出，请按时还款。', labels: ['信用卡'] });
    const draft = await create({ kind: 'text', title: '信用卡草稿', text: '草稿内容' });
    expect((await searchMaterials(db, { q: '还款提醒' })).map((m) => m.id)).to.include(hit.id);
    expect((await searchMaterials(db, { q: '按时还款' })).map((m) => m.id)).to.include(hit.id);
    expect((await searchMaterials(db, { q: '信用卡' })).map((m) => m.id)).to.include(hit.id).and.not.include(draft.id);
    expect((await searchMaterials(db, { q: '信用卡', status: 'draft' })).map((m) => m.id)).to.include(draft.id);
    expect((await searchMaterials(db, { q: '100%_' })).length).to.equal(0);
    expect((await searchMaterials(db, { kind: 'product' })).every((m) => m.kind === 'product' && m.status === 'approved')).to.equal(true);

    const sidebar = await am.get('/api/v1/materials?q=%E4%BF%A1%E7%94%A8%E5%8D%A1');
    expect(sidebar.status).to.equal(200);
    expect(sidebar.body.items.map((m: { id: string }) => m.id)).to.include(hit.id).and.not.include(draft.id);
    expect((await am.get('/api/v1/materials?status=draft')).status).to.equal(403);
    expect((await am.get(`/api/v1/materials/${draft.id}`)).status).to.equal(404);
    const console = await ops.get('/api/v1/materials?status=draft&kind=text');
    expect(console.body.items.every((m: { status: string; kind: string }) => m.status === 'draft' && m.kind === 'text')).to.equal(true);
  });

  it('seeds the demo bank with approved product cards, a text and a link, once', async () => {
    const { db } = app.database;
    const seeded = await db.selectFrom('materials').selectAll().where('created_by', 'is', null).execute();
    expect(seeded.map((m) => m.kind).sort()).to.deep.equal(['link', 'product', 'product', 'product', 'product', 'text']);
    expect(seeded.every((m) => m.status === 'approved' && m.verdict !== 'block')).to.equal(true);
    const wealth = seeded.find((m) => m.product_ids.includes('p-wm-fi-r2-180'))!;
    expect(wealth.text.endsWith(`${DISCLOSURE}。`)).to.equal(true);

    expect(await seedDemoMaterials(db, app.gate)).to.deep.equal({ seeded: false, count: 0 });
    expect((await db.selectFrom('materials').select('id').where('created_by', 'is', null).execute()).length).to.equal(6);
  });

  it('lists every material route in the OpenAPI document', async () => {
    const doc = (await ops.get('/api/v1/openapi.json')).body;
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/api/v1/materials')).sort()).to.deep.equal([
      '/api/v1/materials',
      '/api/v1/materials/{id}',
      '/api/v1/materials/{id}/approve',
      '/api/v1/materials/{id}/check',
      '/api/v1/materials/{id}/reject',
      '/api/v1/materials/{id}/retire',
      '/api/v1/materials/{id}/revise',
      '/api/v1/materials/{id}/submit',
    ]);
  });
});
