import { expect } from 'chai';
import { assertNoBrowserErrors, loginConsole, newPage, openMenu, screenshot, useBrowserApp } from '../browser.js';

describe('console knowledge base (browser)', function () {
  this.timeout(120_000);

  const web = useBrowserApp();

  it('asks the knowledge base a question and shows the ranked answers with their scores', async () => {
    const page = await newPage(web.context);
    await loginConsole(page, 'ops');
    await openMenu(page, '内容', '知识库');
    await page.waitForURL(/\/console\/kb$/);
    // The seeded entries are listed.
    await page.getByRole('cell', { name: 'kb-001' }).waitFor();

    const ask = page.locator('[data-test="kb-ask"]');
    await ask.getByPlaceholder('输入客户可能会问的问题，如：大额存单利息多少').fill('20万能不能买大额存单，利息多少');
    await ask.getByRole('button', { name: '提问' }).click();
    const first = ask.locator('[data-test="kb-hits"] li').first();
    await first.getByText('kb-001').waitFor();
    expect(await first.innerText()).to.contain('大额存单现在利率多少？多少钱起存？').and.contain('个人大额存单20万元起存');
    expect(await first.getByText(/^得分 [01]\.\d\d$/).count()).to.equal(1);
    expect(await ask.locator('[data-test="kb-hits"] li').count()).to.equal(3);
    expect(await ask.locator('[data-test="kb-handoff"]').count()).to.equal(0);
    await page.waitForTimeout(500); // tags zoom in when they appear
    await screenshot(page, 'console-kb-ask');
    assertNoBrowserErrors(page);
  });

  it('tells that a fraud report goes to a person', async () => {
    const page = await newPage(web.context);
    await loginConsole(page, 'compliance');
    await page.goto('/console/kb');
    const ask = page.locator('[data-test="kb-ask"]');
    await ask.getByPlaceholder('输入客户可能会问的问题，如：大额存单利息多少').fill('有人让我把钱转到安全账户，怎么办');
    await ask.getByRole('button', { name: '提问' }).click();
    await ask.locator('[data-test="kb-handoff"]').getByText('这个问题需要人工处理').waitFor();
    // Compliance reads but does not edit.
    expect(await page.getByRole('button', { name: '新建条目' }).count()).to.equal(0);
    assertNoBrowserErrors(page);
  });

  it('creates an entry that search finds at once, and shows who saved it in the history', async () => {
    const page = await newPage(web.context);
    await loginConsole(page, 'ops');
    await page.goto('/console/kb');
    await page.getByRole('button', { name: '新建条目' }).click();
    const form = page.locator('[data-test="kb-form"]');
    await form.locator('.el-select').first().click();
    await page.getByRole('option', { name: '网点与服务' }).click();
    await form.getByPlaceholder('客户最常见的问法').fill('网点可以办理外币兑换吗？');
    await form.getByPlaceholder('每行一种客户的说法（最多 20 行），检索时比标准问题权重更高').fill('去网点换日元要预约吗\n网点能换港币吗');
    await form.getByPlaceholder('保存时经合规检查；需要的风险提示会自动附在末尾').fill('部分网点可办理外币现钞兑换，小币种需提前一个工作日电话预约，具体以网点公告为准。');
    await form.getByPlaceholder('为什么改，记入历史版本').fill('客户常问换汇');
    await page.getByRole('button', { name: '保存' }).click();
    await page.getByText('已保存为第 1 版').waitFor();

    const ask = page.locator('[data-test="kb-ask"]');
    await ask.getByPlaceholder('输入客户可能会问的问题，如：大额存单利息多少').fill('去网点换日元要不要预约');
    await ask.getByRole('button', { name: '提问' }).click();
    const first = ask.locator('[data-test="kb-hits"] li').first();
    await first.getByText('网点可以办理外币兑换吗？').waitFor();
    const id = (await first.getByText(/^kb-\d+$/).innerText()).trim();
    expect(id).to.equal('kb-061');

    await page.getByPlaceholder('搜索问题、相似问法或答案').fill('外币兑换');
    await page.getByRole('button', { name: '查询' }).click();
    await page.getByRole('row', { name: /kb-061/ }).getByRole('button', { name: '历史' }).click();
    const versions = page.locator('[data-test="kb-versions"]');
    await versions.getByText('第 1 版').waitFor();
    expect(await versions.innerText()).to.contain('新建').and.contain('说明：客户常问换汇').and.contain('陈晓');
    await page.waitForTimeout(500);
    await screenshot(page, 'console-kb-versions');
    assertNoBrowserErrors(page);
  });
});
