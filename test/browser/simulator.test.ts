import { expect } from 'chai';
import { assertNoBrowserErrors, choose, loginConsole, newPage, screenshot, useBrowserApp } from '../browser.js';

describe('console sandbox simulator and callback inbox (browser)', function () {
  this.timeout(180_000);
  const web = useBrowserApp();
  before(async () => {
    const ops = await web.app.client().login('ops');
    const code = await ops.post('/api/v1/wecom/contact-ways', { name: '西湖大堂立牌', members: ['ZhangWei'], welcomeText: '您好，我是{客户经理}，欢迎来到星河银行西湖支行。' });
    expect(code.status).to.equal(201);
  });

  it('makes a customer scan a code and shows the callback, the new customer and the welcome as they happen', async () => {
    const page = await newPage(web.context);
    await loginConsole(page, 'ops');
    await page.locator('.el-sub-menu__title', { hasText: '系统' }).click();
    await page.getByRole('menuitem', { name: '沙箱模拟器', exact: true }).click();
    await page.waitForURL(/\/console\/simulator$/);

    const form = page.locator('[data-test="scan-form"]');
    await choose(page, form.locator('[data-test="scan-code"]'), '西湖大堂立牌');
    await form.locator('[data-test="scan-name"]').fill('林晓雨');
    await form.locator('[data-test="scan-mobile"]').fill('13800001234');
    await form.getByRole('button', { name: '模拟扫码' }).click();

    // The product records the callback, processes it, stores the customer and welcomes them.
    const inbox = page.locator('[data-test="inbox-stream"]');
    await inbox.locator('tr', { hasText: '添加客户' }).filter({ hasText: '已处理' }).first().waitFor();
    const customers = page.locator('[data-test="new-customers"]');
    const row = customers.locator('tr', { hasText: '林晓雨' });
    await row.waitFor();
    expect(await row.innerText()).to.contain('张伟').and.contain('西湖大堂立牌');
    await page.locator('[data-test="received"]').getByText('您好，我是张伟，欢迎来到星河银行西湖支行。').waitFor();
    await page.locator('[data-test="deliveries"] tr', { hasText: '添加客户' }).filter({ hasText: '已送达' }).first().waitFor();
    await screenshot(page, 'console-simulator-scan');
    assertNoBrowserErrors(page);
  });

  it('makes that customer write to customer service and shows the message handled', async () => {
    const page = await newPage(web.context);
    await loginConsole(page, 'ops');
    await page.goto('/console/simulator');
    await page.getByRole('tab', { name: '发消息' }).click();
    const picker = page.locator('[data-test="picker"]');
    await choose(page, picker.locator('[data-test="pick-member"]'), '张伟');
    await choose(page, picker.locator('[data-test="pick-contact"]'), '林晓雨');
    await page.locator('[data-test="kf-text"]').fill('我的银行卡被冻结了，怎么办？');
    await page.getByRole('button', { name: '以客户身份发给客服' }).click();
    await page.locator('[data-test="inbox-stream"] tr', { hasText: '微信客服消息' }).filter({ hasText: '已处理' }).first().waitFor();
    // Frozen accounts are never answered by a machine: the customer is told a person is coming.
    await page.locator('[data-test="received"]').getByText('已通知您的客户经理', { exact: false }).waitFor({ timeout: 30_000 });
    await screenshot(page, 'console-simulator-kf');
    assertNoBrowserErrors(page);
  });

  it('makes the member tag that customer, then the customer delete the member, and the product follows both', async () => {
    const page = await newPage(web.context);
    await loginConsole(page, 'admin');
    await page.goto('/console/simulator');
    await page.getByRole('tab', { name: '成员打标签' }).click();
    const picker = page.locator('[data-test="picker"]');
    await choose(page, picker.locator('[data-test="pick-member"]'), '张伟');
    await choose(page, picker.locator('[data-test="pick-contact"]'), '林晓雨');
    await choose(page, page.locator('[data-test="tags-add"]'), '养老规划');
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: '提交修改' }).click();
    await page.locator('[data-test="inbox-stream"] tr', { hasText: '编辑客户' }).filter({ hasText: '已处理' }).first().waitFor();
    await page.locator('[data-test="current-tags"]', { hasText: '意向：养老规划' }).waitFor();

    await page.getByRole('tab', { name: '删除好友' }).click();
    await page.getByRole('button', { name: '客户删除成员' }).click();
    await page.getByText('已模拟「林晓雨」删除张伟。').waitFor();
    await page.locator('[data-test="inbox-stream"] tr', { hasText: '客户删除成员' }).filter({ hasText: '已处理' }).first().waitFor();
    await screenshot(page, 'console-simulator-delete');
    const relation = await web.app.database.db
      .selectFrom('follow_relations as fr')
      .innerJoin('external_contacts as ec', (j) => j.onRef('ec.corp_id', '=', 'fr.corp_id').onRef('ec.external_userid', '=', 'fr.external_userid'))
      .select(['fr.deleted_by', 'fr.external_userid'])
      .where('ec.name', '=', '林晓雨')
      .executeTakeFirstOrThrow();
    expect(relation.deleted_by).to.equal('customer');
    const tagId = web.app.wecom.sandbox!.world.tagGroups.find((g) => g.group_name === '意向')!.tag.find((t) => t.name === '养老规划')!.id;
    const tags = await web.app.database.db.selectFrom('wecom_contact_tags').select('tag_id').where('external_userid', '=', relation.external_userid).execute();
    expect(tags.map((t) => t.tag_id)).to.include(tagId);
    assertNoBrowserErrors(page);
  });

  it('shows the callback inbox to the administrator, with new records arriving live', async () => {
    const page = await newPage(web.context);
    await loginConsole(page, 'admin');
    await page.goto('/console/inbox');
    const table = page.locator('[data-test="inbox-table"]');
    await table.waitFor();
    await page.waitForLoadState('networkidle');
    const before = await table.locator('tbody tr').count();

    web.app.wecom.sandbox!.control.scanQr({ userid: 'LiNa', customer: { name: '直接添加' } });
    await page.locator('[data-test="inbox-live-count"]').waitFor();
    await page.waitForFunction(`document.querySelectorAll('[data-test="inbox-table"] tbody tr').length > ${before}`);
    await table.locator('tr', { hasText: '添加客户' }).filter({ hasText: '已处理' }).first().waitFor();
    expect(await table.locator('tbody tr').count()).to.be.greaterThan(before);
    await screenshot(page, 'console-inbox');
    assertNoBrowserErrors(page);
  });

  it('hides the simulator from compliance staff', async () => {
    const page = await newPage(web.context);
    await loginConsole(page, 'compliance');
    await page.locator('.el-sub-menu__title', { hasText: '系统' }).click();
    await page.getByRole('menuitem', { name: '审计日志', exact: true }).waitFor();
    expect(await page.getByRole('menuitem', { name: '沙箱模拟器' }).count()).to.equal(0);
    expect(await page.getByRole('menuitem', { name: '企业微信回调' }).count()).to.equal(0);
    assertNoBrowserErrors(page);
  });
});
