import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { testCipher } from '../harness.js';
import { until } from '../wecom.js';
import { assertNoBrowserErrors, newPage, screenshot, useBrowserApp } from '../browser.js';

/**
 * The WeCom sidebar in the sandbox: the simulated context (pick a member, sign in through the sandbox's
 * OAuth page, pick one of their customers), then the tabs, against the real app and the sandbox world.
 */
describe('the WeCom sidebar (browser)', function () {
  this.timeout(180_000);

  const web = useBrowserApp({ DEMO_CUSTOMERS: '30', WECOM_SYNC_ON_START: 'true' }, 'sidebar');
  before(async () => {
    // The first sync brings the corp tags and the relations' tags from the sandbox.
    await until(async () => {
      const run = await web.app.database.db.selectFrom('wecom_sync_runs').select('status').executeTakeFirst();
      return run && run.status !== 'running';
    }, 60_000, 'the first WeCom sync');
  });

  /** A live, linked relation of the member, skipping the contacts other tests took. */
  async function linkedContact(userid: string, skip: string[] = []) {
    const rows = await web.app.database.db
      .selectFrom('follow_relations as fr')
      .innerJoin('external_contacts as ec', (j) => j.onRef('ec.corp_id', '=', 'fr.corp_id').onRef('ec.external_userid', '=', 'fr.external_userid'))
      .innerJoin('customers as c', 'c.id', 'ec.customer_id')
      .select(['ec.external_userid', 'ec.name', 'c.id as customer_id', 'c.cif_no', 'c.mobile_enc', 'c.products'])
      .where('fr.userid', '=', userid)
      .where('fr.deleted_at', 'is', null)
      .where('c.mobile_enc', 'is not', null)
      .orderBy('ec.external_userid')
      .execute();
    const row = rows.find((r) => !skip.includes(r.external_userid));
    if (!row) throw new Error(`no linked contact of ${userid} left`);
    return row;
  }

  /** The simulated WeCom context: sign in as the member through the sandbox OAuth page, open the chat with the contact. */
  async function openSidebar(page: Page, userid: string, externalUserid: string) {
    await page.goto('/sidebar/');
    await page.locator(`[data-test="member-${userid}"]`).click();
    await page.getByText('第二步：选择').waitFor();
    await page.locator(`[data-test="contact-${externalUserid}"]`).click();
    await page.locator('[data-test="context"]').waitFor();
    await page.waitForURL((url) => url.searchParams.get('contact') === externalUserid);
  }

  it('open the sidebar for a sandbox customer and tag them (the sandbox sees the tag)', async () => {
    const contact = await linkedContact('LiNa');
    const held = await web.app.database.db.selectFrom('wecom_contact_tags').select('tag_id').where('userid', '=', 'LiNa').where('external_userid', '=', contact.external_userid).execute();
    const tag = await web.app.database.db
      .selectFrom('wecom_tags')
      .select(['tag_id', 'name'])
      .where('deleted_at', 'is', null)
      .where('tag_id', 'not in', [...held.map((h) => h.tag_id), ''])
      .orderBy('tag_id')
      .executeTakeFirstOrThrow();
    expect(web.app.wecom.sandbox!.world.follow('LiNa', contact.external_userid)!.tagIds).to.not.include(tag.tag_id);

    const page = await newPage(web.context);
    await page.goto('/sidebar/');
    await page.getByText('第一步：选择以哪位成员身份登录').waitFor();
    await screenshot(page, 'sidebar-sandbox-members');
    await page.locator('[data-test="member-LiNa"]').click();
    await page.getByText('第二步：选择李娜的一位客户').waitFor();
    await screenshot(page, 'sidebar-sandbox-contacts');
    await page.locator(`[data-test="contact-${contact.external_userid}"]`).click();

    // The profile of the linked customer, masked: the mobile shows as 138****1234 until revealed.
    const tab = page.locator('[data-test="tab-customer"]');
    await tab.getByText(contact.cif_no, { exact: true }).waitFor();
    expect(await tab.locator('[data-test="mobile"]').innerText()).to.match(/\d{3}\*{4}\d{4}/);
    expect(await page.locator('[data-test="context"]').innerText()).to.contain('李娜（客户经理）');
    // Held products by the names and type labels of the server's catalogue.
    const catalogue = (await (await web.app.client().login('am.lina')).get('/api/v1/products')).body.items as { id: string; name: string; typeLabel: string; riskLevel: string | null }[];
    const holdings = contact.products.map((id) => catalogue.find((p) => p.id === id)!).map((p) => `${p.name} · ${p.typeLabel}${p.riskLevel ? ` · ${p.riskLevel}` : ''}`);
    expect(await tab.locator('[data-test="products"] .van-tag').allInnerTexts()).to.deep.equal(holdings);
    await screenshot(page, 'sidebar-customer');

    await tab.locator('[data-test="edit-tags"]').click();
    const editor = page.locator('[data-test="tag-editor"]');
    await editor.locator(`[data-test="tag-${tag.name}"]`).first().click();
    await editor.locator('[data-test="save-tags"]').click();
    await page.getByText('标签已同步到企业微信').waitFor();
    await tab.locator('[data-test="wecom-tags"]').getByText(tag.name).waitFor();
    await screenshot(page, 'sidebar-tagged');

    // The sandbox world's follow relation carries the tag, and the product recorded the member's change.
    expect(web.app.wecom.sandbox!.world.follow('LiNa', contact.external_userid)!.tagIds).to.include(tag.tag_id);
    const stored = await web.app.database.db.selectFrom('wecom_contact_tags').selectAll().where('userid', '=', 'LiNa').where('external_userid', '=', contact.external_userid).where('tag_id', '=', tag.tag_id).executeTakeFirstOrThrow();
    expect(stored.source).to.equal('member');
    assertNoBrowserErrors(page);
  });

  it('unlinks a contact and binds it again after checking the customer’s identity', async () => {
    const contact = await linkedContact('LiuQiang');
    const mobile = testCipher().decrypt(contact.mobile_enc!);
    const page = await newPage(web.context);
    await openSidebar(page, 'LiuQiang', contact.external_userid);
    const tab = page.locator('[data-test="tab-customer"]');
    await tab.getByText('已关联客户档案').waitFor();

    await tab.locator('[data-test="unlink"]').click();
    await page.locator('[data-test="unlink-reason"] textarea').fill('测试：先解除再核验绑定');
    await page.getByRole('button', { name: '解除', exact: true }).click();
    await page.getByText('该企业微信客户尚未关联银行客户档案').waitFor();
    expect((await web.app.database.db.selectFrom('external_contacts').select('customer_id').where('external_userid', '=', contact.external_userid).executeTakeFirstOrThrow()).customer_id).to.equal(null);

    await tab.locator('[data-test="bind-cif"] input').fill(contact.cif_no);
    await tab.locator('[data-test="bind-mobile"] input').fill(mobile);
    await tab.locator('[data-test="bind-reason"] textarea').fill('客户在会话中提供手机号，与档案一致');
    await screenshot(page, 'sidebar-bind-form');
    await tab.locator('[data-test="bind-submit"]').click();
    await page.getByText('身份核验通过，已绑定客户档案').waitFor();
    await tab.getByText(contact.cif_no, { exact: true }).waitFor();
    await screenshot(page, 'sidebar-bound');

    const link = await web.app.database.db.selectFrom('customer_links').selectAll().where('external_userid', '=', contact.external_userid).orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(link).to.include({ action: 'link', method: 'manual', customer_id: contact.customer_id, reason: '客户在会话中提供手机号，与档案一致' });
    assertNoBrowserErrors(page);
  });

  it('shows a new SOP task as it arrives, puts its prepared text in the chat and marks the other done', async () => {
    const ops = await web.app.client().login('ops');
    const source = `key: sidebar-welcome
name: 侧边栏测试旅程
trigger:
  type: event
  event: contact_added
  channel: sidebar-*
steps:
  - id: hello
    type: send
    via: sidebar_task
    purpose: service
    text: "{称呼}您好，我是您的客户经理{客户经理}，有问题随时找我。"
  - id: todo
    type: task
    title: 了解客户需求
    dueIn: 2d
`;
    const created = await ops.post('/api/v1/sop/templates', { source });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    expect((await ops.post(`/api/v1/sop/templates/${created.body.id}/publish`)).status).to.equal(200);

    const contact = await linkedContact('ZhouJie');
    const page = await newPage(web.context);
    await openSidebar(page, 'ZhouJie', contact.external_userid);
    await page.getByRole('tab', { name: '任务' }).click();
    await page.locator('[data-test="tab-tasks"]').getByText('没有待办任务').waitFor();

    // A customer scans the member's channel code: the journey starts and gives the member two tasks, live.
    const scan = web.app.wecom.sandbox!.control.scanQr({ userid: 'ZhouJie', state: 'sidebar-1', customer: { name: '郑一', gender: 1 } });
    await page.getByText('新任务：').first().waitFor({ timeout: 30_000 });
    await screenshot(page, 'sidebar-task-alert');

    await page.locator('[data-test="switch-contact"]').click();
    await page.locator(`[data-test="contact-${scan.externalUserid}"]`).click();
    await page.getByRole('tab', { name: '任务' }).click();
    const tasks = page.locator('[data-test="tab-tasks"]');
    await tasks.getByText('了解客户需求').waitFor();
    await screenshot(page, 'sidebar-tasks');

    const rows = await web.app.database.db.selectFrom('sop_tasks').selectAll().where('external_userid', '=', scan.externalUserid).orderBy('kind').execute();
    const send = rows.find((r) => r.kind === 'send')!;
    const todo = rows.find((r) => r.kind === 'todo')!;
    await tasks.locator(`[data-test="task-${todo.id}"] [data-test="task-done"]`).click();
    await page.getByText('任务已完成').waitFor();
    await until(async () => (await web.app.database.db.selectFrom('sop_tasks').select('status').where('id', '=', todo.id).executeTakeFirstOrThrow()).status === 'done', 10_000, 'the task to be done');

    await tasks.locator(`[data-test="task-${send.id}"]`).getByRole('button', { name: '放入聊天并完成' }).click();
    const chat = page.locator('[data-test="sandbox-chat"]');
    await chat.getByText(send.body).waitFor();
    await screenshot(page, 'sidebar-task-sent');
    await until(async () => (await web.app.database.db.selectFrom('outbox').select('status').where('id', '=', send.outbox_id!).executeTakeFirstOrThrow()).status === 'sent', 10_000, 'the prepared message to be sent');
    assertNoBrowserErrors(page);
  });

  it('suggests replies to the customer’s question and puts one in the chat (the sandbox shows it)', async () => {
    const contact = await linkedContact('WangFang');
    const page = await newPage(web.context);
    await openSidebar(page, 'WangFang', contact.external_userid);
    await page.getByRole('tab', { name: '助手' }).click();
    const tab = page.locator('[data-test="tab-assistant"]');
    await tab.locator('[data-test="question"] textarea').fill('大额存单现在的利率是多少？');
    await tab.locator('[data-test="suggest-button"]').click();
    const first = tab.locator('[data-test="suggestion"]').first();
    await first.waitFor();
    const text = (await first.locator('.text').innerText()).trim();
    expect(text.length).to.be.greaterThan(5);
    await screenshot(page, 'sidebar-suggestions');

    await first.locator('[data-test="put-in-chat"]').click();
    const chat = page.locator('[data-test="sandbox-chat"]');
    await chat.getByText(text.slice(0, 20)).waitFor();
    await screenshot(page, 'sidebar-sandbox-chat');

    const row = await until(
      () => web.app.database.db.selectFrom('outbox').selectAll().where('channel', '=', 'sidebar').where('recipient', '=', contact.external_userid).where('status', '=', 'sent').executeTakeFirst(),
      10_000,
      'the reply recorded as sent',
    );
    expect(row).to.include({ sender: 'WangFang', customer_id: contact.customer_id, purpose: 'service', ref_type: 'sidebar_suggestion' });
    expect((row.payload as { text: string }).text.startsWith(text.slice(0, 20))).to.equal(true);
    const timeline = await web.app.database.db.selectFrom('timeline_events').select('summary').where('kind', '=', 'message_out').where('external_userid', '=', contact.external_userid).execute();
    expect(timeline.map((t) => t.summary).join()).to.contain('王芳在会话中发送');
    assertNoBrowserErrors(page);
  });

  it('shows scores and suitable products, checks a draft against the gate, and sends an approved material', async () => {
    const ops = await web.app.client().login('ops');
    expect((await ops.post('/api/v1/scoring/run')).status).to.equal(202);
    const contact = await linkedContact('WangFang');
    await until(() => web.app.database.db.selectFrom('customer_scores').select('customer_id').where('customer_id', '=', contact.customer_id).executeTakeFirst(), 60_000, 'the scores');

    const page = await newPage(web.context);
    await openSidebar(page, 'WangFang', contact.external_userid);
    const scores = page.locator('[data-test="scores"]');
    await scores.getByText('RFM 分类').waitFor();
    expect(await scores.innerText()).to.contain('流失风险');
    await screenshot(page, 'sidebar-scores');

    await page.getByRole('tab', { name: '助手' }).click();
    const tab = page.locator('[data-test="tab-assistant"]');
    await tab.getByText('产品推荐').click();
    await tab.locator('[data-test="recommend"]').getByText('资产分层：').waitFor();
    await page.waitForTimeout(400); // the section's opening animation, for the screenshot only
    await screenshot(page, 'sidebar-recommendations');

    await tab.getByText('草稿合规检查').click();
    await tab.locator('[data-test="draft-text"] textarea').fill('这款理财保本保息，稳赚不赔。');
    await tab.locator('[data-test="draft-check"]').click();
    const result = tab.locator('[data-test="draft-result"]');
    await result.getByText('不可发送').waitFor();
    expect(await result.innerText()).to.contain('保本');
    expect(await result.getByRole('button', { name: '放入聊天' }).count(), 'a blocked draft cannot be put in the chat').to.equal(0);
    await screenshot(page, 'sidebar-draft-check');

    await tab.getByText('素材库').click();
    const materials = tab.locator('[data-test="materials"]');
    const send = materials.getByRole('button', { name: '发送' }).first();
    await send.waitFor();
    const title = (await materials.locator('.card .title').first().innerText()).trim();
    await send.click();
    await page.locator('[data-test="sandbox-chat"] .bubble').first().waitFor();
    const row = await until(
      () => web.app.database.db.selectFrom('outbox').selectAll().where('channel', '=', 'sidebar').where('ref_type', '=', 'material').where('recipient', '=', contact.external_userid).where('status', '=', 'sent').executeTakeFirst(),
      10_000,
      'the material recorded as sent',
    );
    const material = await web.app.database.db.selectFrom('materials').select(['title', 'status']).where('id', '=', row.ref_id!).executeTakeFirstOrThrow();
    expect(material).to.deep.equal({ title, status: 'approved' });
    assertNoBrowserErrors(page);
  });
});
