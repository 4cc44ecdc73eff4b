import { expect } from 'chai';
import { assertNoBrowserErrors, choose, loginConsole, newPage, screenshot, useBrowserApp } from '../browser.js';

describe('console staff and roles (browser)', function () {
  this.timeout(180_000);
  const web = useBrowserApp();

  it('lets the administrator open an account manager bound to a WeCom member, who can then log in', async () => {
    const page = await newPage(web.context);
    await loginConsole(page, 'admin');
    await page.locator('.el-sub-menu__title', { hasText: '系统' }).click();
    await page.getByRole('menuitem', { name: '员工与角色', exact: true }).click();
    await page.waitForURL(/\/console\/staff$/);
    await page.locator('[data-test="staff-table"] tr', { hasText: 'am.zhangwei' }).waitFor();

    await page.locator('[data-test="staff-new"]').click();
    const editor = page.locator('[data-test="staff-editor"]');
    await editor.locator('[data-test="staff-username"]').fill('am.linxiao');
    await editor.locator('[data-test="staff-name"]').fill('林晓');
    await choose(page, editor.locator('[data-test="staff-branch"]'), '西湖支行');
    // A member not in the synced directory yet: typed in.
    await editor.locator('[data-test="staff-wecom"]').click();
    await page.keyboard.type('LinXiao');
    await page.keyboard.press('Enter');
    await editor.locator('[data-test="staff-password"]').fill('lin-xiao-password-1');
    await editor.locator('[data-test="staff-save"]').click();
    await page.getByText('已开通账号 am.linxiao。').waitFor();

    const row = page.locator('[data-test="staff-table"] tr', { hasText: 'am.linxiao' });
    await row.waitFor();
    const text = await row.innerText();
    expect(text).to.contain('林晓').and.contain('客户经理').and.contain('西湖支行').and.contain('LinXiao').and.contain('正常');
    await page.locator('[data-test="staff-table"] .el-loading-mask').waitFor({ state: 'hidden' });
    await screenshot(page, 'console-staff');
    const audit = await web.app.database.db.selectFrom('audit_log').select('detail').where('action', '=', 'staff.create').executeTakeFirstOrThrow();
    expect(audit.detail).to.deep.include({ username: 'am.linxiao', role: 'account_manager', branchId: 'br-hz-xihu' });
    assertNoBrowserErrors(page);

    const newcomer = await newPage(await web.newContext());
    await loginConsole(newcomer, 'am.linxiao', 'lin-xiao-password-1');
    expect(await newcomer.locator('[data-test="who"]').innerText()).to.contain('林晓').and.contain('客户经理');
    assertNoBrowserErrors(newcomer);
  });

  it('shows a branch manager the staff of their branch, read-only', async () => {
    const page = await newPage(web.context);
    await loginConsole(page, 'bm.liuyang');
    await page.goto('/console/staff');
    const table = page.locator('[data-test="staff-table"]');
    await table.locator('tr', { hasText: 'am.lina' }).waitFor();
    expect(await table.locator('tr', { hasText: 'am.zhangwei' }).count()).to.equal(0);
    expect(await page.locator('[data-test="staff-new"]').count()).to.equal(0);
    expect(await table.getByRole('button', { name: '修改' }).count()).to.equal(0);
    assertNoBrowserErrors(page);
  });
});
