import { expect } from 'chai';
import { assertNoBrowserErrors, loginConsole, newPage, screenshot, useBrowserApp } from '../browser.js';
import { generateCustomers } from '../../src/demo/synthetic.js';
import { CSV_HEADER, csvLine, faultyCsvLine } from '../../src/customers/import/fixtures.js';

describe('console customer import (browser)', function () {
  this.timeout(180_000);

  const web = useBrowserApp();

  it('uploads a bank file with a bad row, follows the progress to the end and shows the rejected line in Chinese', async () => {
    // 40 customers; the one on line 12 of the file (the header is line 1) has an impossible mobile number.
    const customers = [...generateCustomers(40, { seed: 77 })];
    const lines = customers.map((c, i) => (i === 10 ? faultyCsvLine(c, 0).line : csvLine(c)));
    const file = Buffer.from([CSV_HEADER, ...lines].join('\n') + '\n', 'utf8');

    const page = await newPage(web.context);
    await loginConsole(page, 'ops');
    await page.locator('.el-sub-menu__title', { hasText: '客户' }).click();
    await page.getByRole('menuitem', { name: '客户导入', exact: true }).click();
    await page.waitForURL(/\/console\/imports$/);
    await page.locator('[data-test="import-file"]').setInputFiles({ name: '西湖支行客户.csv', mimeType: 'text/csv', buffer: file });

    const current = page.locator('[data-test="import-current"]');
    await current.getByText('西湖支行客户.csv').waitFor();
    await current.locator('[data-test="import-status"]', { hasText: '已完成' }).waitFor({ timeout: 60_000 });
    expect(await current.locator('[data-test="import-progress"]').innerText()).to.contain('100%');
    const counts = await current.locator('[data-test="import-counts"]').innerText();
    expect(counts).to.match(/已处理\s*40\s*行/).and.match(/新增\s*39/).and.match(/拒绝\s*1/);

    const rejected = page.locator('[data-test="import-rejections"]');
    const row = rejected.locator('tr', { hasText: '第 12 行' });
    await row.waitFor();
    expect(await row.innerText()).to.contain(customers[10]!.cifNo).and.contain('手机号').and.contain('须为大陆手机号：以 13–19 开头的 11 位数字');
    await page.locator('[data-test="import-history"] tr', { hasText: '西湖支行客户.csv' }).filter({ hasText: '已完成' }).waitFor();
    await screenshot(page, 'console-import-rejections');

    const stored = await web.app.database.db.selectFrom('customers').select('cif_no').where('cif_no', 'in', customers.map((c) => c.cifNo)).execute();
    expect(stored).to.have.length(39);
    assertNoBrowserErrors(page);
  });

  it('refuses a file that is not CSV or JSON Lines before uploading, in Chinese', async () => {
    const page = await newPage(web.context);
    await loginConsole(page, 'admin');
    await page.goto('/console/imports');
    await page.locator('[data-test="import-file"]').setInputFiles({ name: '客户.xlsx', mimeType: 'application/vnd.ms-excel', buffer: Buffer.from('not a csv') });
    await page.getByText('请选择 .csv 或 .jsonl 文件（UTF-8 编码）。').waitFor();
    assertNoBrowserErrors(page);
  });
});
