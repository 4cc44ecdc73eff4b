import { expect } from 'chai';
import { settled } from '../wecom.js';
import { assertNoBrowserErrors, choose, loginConsole, newPage, screenshot, useBrowserApp } from '../browser.js';

describe('console channel QR codes (browser)', function () {
  this.timeout(180_000);

  const web = useBrowserApp();

  it('creates a channel QR code with its image, counts the customers it brings, and offers a simulated scan', async () => {
    const page = await newPage(web.context);
    await loginConsole(page, 'ops');
    await page.locator('.el-sub-menu__title', { hasText: '渠道' }).click();
    await page.getByRole('menuitem', { name: '渠道活码', exact: true }).click();
    await page.waitForURL(/\/console\/channels$/);

    await page.locator('[data-test="channel-new"]').click();
    const editor = page.locator('[data-test="channel-editor"]');
    await editor.locator('[data-test="channel-name"]').fill('西湖支行理财沙龙');
    await choose(page, editor.locator('[data-test="channel-members"]'), '张伟');
    await page.keyboard.press('Escape');
    await editor.locator('[data-test="channel-state"]').fill('salon-xihu-06');
    await editor.getByPlaceholder('不填则发送默认欢迎语；可用 {客户经理} 代表成员姓名').fill('您好，我是{客户经理}，欢迎参加理财沙龙。');
    await editor.locator('[data-test="channel-save"]').click();
    await page.getByText('已创建「西湖支行理财沙龙」，渠道标识 salon-xihu-06。').waitFor();

    const row = page.locator('[data-test="channels"] tr', { hasText: '西湖支行理财沙龙' });
    await row.waitFor();
    expect(await row.innerText()).to.contain('salon-xihu-06').and.contain('张伟').and.contain('您好，我是{客户经理}，欢迎参加理财沙龙。');
    // The QR image comes through the product and loads.
    const image = row.locator('img');
    await image.waitFor();
    await page.waitForFunction((el) => {
      const img = el as unknown as { complete: boolean; naturalWidth: number };
      return img.complete && img.naturalWidth > 0;
    }, await image.elementHandle());
    expect(await row.locator('[data-test="customers-total"]').innerText()).to.equal('0');

    // Two customers scan it; the list counts them.
    const sandbox = web.app.wecom.sandbox!;
    sandbox.control.scanQr({ state: 'salon-xihu-06', customer: { name: '沙龙来宾甲' } });
    sandbox.control.scanQr({ state: 'salon-xihu-06', customer: { name: '沙龙来宾乙' } });
    await settled(web.app);
    await page.getByRole('button', { name: '刷新' }).click();
    await row.locator('[data-test="customers-total"]', { hasText: '2' }).waitFor();
    await screenshot(page, 'console-channels');

    // From the list to the simulator, with the code chosen.
    await row.getByRole('button', { name: '模拟扫码' }).click();
    await page.waitForURL(/\/console\/simulator\?state=salon-xihu-06$/);
    await page.locator('[data-test="scan-code"]', { hasText: '西湖支行理财沙龙' }).waitFor();
    assertNoBrowserErrors(page);
  });

  it('explains a channel state that is already taken, in Chinese', async () => {
    const page = await newPage(web.context);
    await loginConsole(page, 'admin');
    await page.goto('/console/channels');
    await page.locator('[data-test="channels"] tr', { hasText: '西湖支行理财沙龙' }).waitFor();
    await page.locator('[data-test="channel-new"]').click();
    const editor = page.locator('[data-test="channel-editor"]');
    await editor.locator('[data-test="channel-name"]').fill('重复的码');
    await choose(page, editor.locator('[data-test="channel-members"]'), '李娜');
    await page.keyboard.press('Escape');
    await editor.locator('[data-test="channel-state"]').fill('salon-xihu-06');
    await editor.locator('[data-test="channel-save"]').click();
    await page.getByText('渠道标识「salon-xihu-06」已被其他活码使用，请换一个或留空自动生成。').waitFor();
    await editor.locator('[data-test="channel-state"]').fill('');
    await editor.locator('[data-test="channel-save"]').click();
    await page.locator('[data-test="channels"] tr', { hasText: '重复的码' }).waitFor();
    assertNoBrowserErrors(page);
  });
});
