import { expect } from 'chai';
import { assertNoBrowserErrors, loginConsole, newPage, openMenu, screenshot, useBrowserApp } from '../browser.js';

describe('console material library (browser)', function () {
  this.timeout(120_000);
  const web = useBrowserApp();

  it('lets operations write a link material and submit it, and compliance approve it', async () => {
    const ops = await newPage(web.context);
    await loginConsole(ops, 'ops');
    await openMenu(ops, '内容', '素材库');
    await ops.waitForURL(/\/console\/materials$/);
    await ops.getByRole('button', { name: '新建素材' }).click();
    const form = ops.locator('[data-test="material-form"]');
    await form.getByText('链接', { exact: true }).click();
    await form.getByPlaceholder('素材库中显示的名称，客户看不到').fill('六月网点开放日');
    await form.getByPlaceholder('客户看到的卡片标题（不超过128字节）').fill('星河银行六月网点开放日');
    await form.getByPlaceholder('可选，不超过512字节').fill('到网点了解存款与反诈知识');
    await form.getByPlaceholder('https 开头的网址').fill('https://xinghe-bank.example/h5/open-day');
    await form.getByPlaceholder('客户收到的文字。提交审核时，合规要求的风险提示会自动附在末尾。').fill('您好，六月每周六网点开放日，欢迎到店。');
    await ops.getByRole('button', { name: '保存草稿' }).click();

    const detail = ops.locator('[data-test="material-detail"]');
    await detail.locator('[data-test="material-status"]', { hasText: '草稿' }).waitFor();
    await detail.getByText('星河银行六月网点开放日').waitFor();
    await detail.getByRole('button', { name: '提交审核' }).click();
    await detail.locator('[data-test="material-status"]', { hasText: '待审核' }).waitFor();
    expect(await detail.locator('[data-test="material-verdict"]').innerText()).to.equal('通过');
    assertNoBrowserErrors(ops);

    const reviewer = await newPage(await web.newContext());
    await loginConsole(reviewer, 'compliance');
    await reviewer.goto('/console/materials');
    // Compliance starts on the materials waiting for review.
    await reviewer.getByRole('radio', { name: '待审核' }).and(reviewer.locator(':checked')).waitFor({ state: 'attached' });
    await reviewer.getByRole('cell', { name: '六月网点开放日' }).click();
    const review = reviewer.locator('[data-test="review-box"]');
    await review.getByPlaceholder('审核意见（驳回时必填，运营据此修改）').fill('内容合规，可以使用');
    await review.getByRole('button', { name: '通过' }).click();
    const approved = reviewer.locator('[data-test="material-detail"]');
    await approved.locator('[data-test="material-status"]', { hasText: '已通过' }).waitFor();
    await approved.getByText('审核意见：内容合规，可以使用').waitFor();
    await reviewer.waitForTimeout(500); // tags zoom in when they appear
    await screenshot(reviewer, 'console-material-approved');

    const row = await web.app.database.db.selectFrom('materials').selectAll().where('title', '=', '六月网点开放日').executeTakeFirstOrThrow();
    expect([row.status, row.review_note]).to.deep.equal(['approved', '内容合规，可以使用']);
    assertNoBrowserErrors(reviewer);
  });

  it('shows the compliance gate’s findings on a draft, in Chinese, marked in the text', async () => {
    const ops = await newPage(web.context);
    await loginConsole(ops, 'ops');
    await ops.goto('/console/materials');
    await ops.getByRole('button', { name: '新建素材' }).click();
    const form = ops.locator('[data-test="material-form"]');
    await form.getByPlaceholder('素材库中显示的名称，客户看不到').fill('理财推荐话术');
    await form.getByPlaceholder('客户收到的文字。提交审核时，合规要求的风险提示会自动附在末尾。').fill('这款理财保本保息，年化4%，错过再无。');
    // The product picker lists the server's catalogue, grouped by its type labels.
    await form.locator('.el-form-item', { hasText: '涉及产品' }).locator('.el-select').click();
    // The dropdown opens before the catalogue may have arrived: wait for its groups.
    await ops.locator('.el-select-dropdown:visible .el-select-group__title', { hasText: '个人养老金' }).waitFor();
    const groups = await ops.locator('.el-select-dropdown:visible .el-select-group__title').allInnerTexts();
    expect(groups).to.include.members(['存款', '理财', '基金', '保险（代销）', '个人养老金']);
    await ops.locator('.el-select-dropdown__item:visible', { hasText: '星河恒享固收增强180天持有期理财（R2）' }).click();
    await ops.keyboard.press('Escape');
    await ops.getByRole('button', { name: '保存草稿' }).click();
    const detail = ops.locator('[data-test="material-detail"]');
    await detail.locator('.product', { hasText: '星河恒享固收增强180天持有期理财' }).waitFor();
    await detail.getByRole('button', { name: '合规预检' }).click();
    await detail.locator('[data-test="material-verdict"]', { hasText: '拦截' }).waitFor();
    const findings = detail.locator('[data-test="findings"]');
    await findings.getByText('禁止使用「保本保息」').waitFor();
    await findings.getByText('慎用「错过再无」').waitFor();
    expect(await detail.locator('mark.block').innerText()).to.equal('保本保息');
    await detail.getByText('提交审核时将在正文末尾附上：理财非存款、产品有风险、投资须谨慎').waitFor();
    await ops.waitForTimeout(500); // tags zoom in when they appear
    await screenshot(ops, 'console-material-findings');
    // Still a draft: the check submits nothing.
    expect(await detail.locator('[data-test="material-status"]').innerText()).to.equal('草稿');
    assertNoBrowserErrors(ops);
  });
});
