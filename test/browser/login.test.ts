import { expect } from 'chai';
import { assertNoBrowserErrors, loginConsole, newPage, screenshot, useBrowserApp } from '../browser.js';

describe('console login (browser)', function () {
  this.timeout(90_000);

  const web = useBrowserApp();

  it('sends a visitor without a session to the login page, and a wrong password is explained in Chinese', async () => {
    const page = await newPage(web.context);
    await page.goto('/console/audit');
    await page.waitForURL(/\/console\/login\?next=(%2F|\/)audit/);
    await page.getByPlaceholder('请输入用户名').fill('admin');
    await page.getByPlaceholder('请输入密码').fill('not-the-password');
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByText('用户名或密码不正确，请重新输入。').waitFor();
    await screenshot(page, 'console-login-error');
    expect(page.url()).to.include('/console/login');
  });

  it('logs in, lands where it was going, shows the role in Chinese and the menu for that role', async () => {
    const page = await newPage(web.context);
    await page.goto('/console/audit');
    await page.getByPlaceholder('请输入用户名').fill('admin');
    await page.getByPlaceholder('请输入密码').fill('demo-password-123');
    await page.getByRole('button', { name: '登录' }).click();
    await page.waitForURL(/\/console\/audit$/);
    expect(await page.locator('[data-test="who"]').innerText()).to.include('系统管理员');
    // The login just made is in the audit log the page shows.
    const row = page.getByRole('row').filter({ has: page.getByRole('cell', { name: 'auth.login' }) }).first();
    await row.waitFor();
    // The newest entry is this login (success), the one before it the wrong password of the first test (failure).
    expect(await row.innerText()).to.contain('成功');
    expect(await page.getByRole('row').filter({ hasText: 'bad_password' }).first().innerText()).to.contain('失败');
    await screenshot(page, 'console-audit-log');
    assertNoBrowserErrors(page);
  });

  it('logs out and a reload asks for the login again', async () => {
    const page = await newPage(web.context);
    await loginConsole(page, 'ops');
    expect(await page.locator('[data-test="who"]').innerText()).to.include('运营');
    // The audit log is not for operations staff: no menu entry.
    expect(await page.getByRole('menuitem', { name: '审计日志' }).count()).to.equal(0);
    await page.getByRole('button', { name: '退出登录' }).click();
    await page.waitForURL(/\/console\/login/);
    await page.reload();
    await page.waitForURL(/\/console\/login/);
    assertNoBrowserErrors(page);
  });
});
