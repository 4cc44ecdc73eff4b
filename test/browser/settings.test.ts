import { expect } from 'chai';
import { getSetting } from '../../src/settings/index.js';
import { assertNoBrowserErrors, loginConsole, newPage, openMenu, screenshot, useBrowserApp } from '../browser.js';

describe('console runtime settings (browser)', function () {
  this.timeout(180_000);

  const web = useBrowserApp();

  it('edits settings with each problem shown in Chinese at its field, then keeps every version with who changed what, and restores the default', async () => {
    const page = await newPage(web.context);
    /** The screenshots without the notices of the steps before (they close after three seconds). */
    const noToasts = () => page.waitForFunction(`!document.querySelector('.el-message')`, undefined, { timeout: 10_000 });
    await loginConsole(page, 'admin');
    await openMenu(page, '系统', '运行参数');
    await page.waitForURL(/\/console\/settings$/);
    const quiet = page.locator('[data-setting="outbound.quietHours"]');
    await quiet.getByText('免打扰时段', { exact: true }).waitFor();
    expect(await page.locator('[data-setting]').count()).to.equal(6);
    expect(await quiet.locator('[data-test="setting-summary"]').innerText()).to.equal('每天 21:00 至 次日 08:00（Asia/Shanghai）不发送自动消息');
    expect(await quiet.locator('[data-test="setting-version"]').innerText()).to.equal('默认值（从未修改）');

    // A time that does not exist and a made-up time zone: each refused at its field.
    await quiet.locator('[data-test="setting-edit"]').click();
    await quiet.locator('[data-field="start"] input').fill('25:00');
    await quiet.locator('[data-field="timezone"] .el-select').click();
    await page.keyboard.type('Mars/Olympus');
    await page.keyboard.press('Enter');
    await quiet.locator('[data-test="setting-save"]').click();
    await quiet.locator('[data-field="start"] .el-form-item__error', { hasText: '须为 24 小时制时间 HH:MM（00:00–23:59），如 21:00' }).waitFor();
    await quiet.locator('[data-field="timezone"] .el-form-item__error', { hasText: '不是有效的时区，请从列表中选择，如 Asia/Shanghai' }).waitFor();
    expect(await quiet.locator('[data-field="end"] .el-form-item__error').count()).to.equal(0);

    // AUM thresholds out of order: named at the threshold that is too low.
    const tiers = page.locator('[data-setting="customers.aumTiers"]');
    expect(await tiers.locator('[data-test="setting-summary"]').innerText()).to.equal('潜力 ≥ 5 万元，财富 ≥ 50 万元，私行 ≥ 600 万元');
    await tiers.locator('[data-test="setting-edit"]').click();
    await tiers.locator('[data-field="wealth"] input').fill('40000');
    await tiers.locator('[data-field="wealth"] input').press('Tab');
    await tiers.locator('[data-test="setting-save"]').click();
    await tiers.locator('[data-field="wealth"] .el-form-item__error', { hasText: '须高于潜力客户下限' }).waitFor();

    // A workday that is also a holiday: the line at fault is named.
    const calendar = page.locator('[data-setting="sop.workingCalendar"]');
    await calendar.locator('[data-test="setting-edit"]').click();
    const workdays = calendar.locator('[data-field="workdays"] textarea');
    await workdays.fill(`${await workdays.inputValue()}\n2026-10-01`);
    await calendar.locator('[data-test="setting-save"]').click();
    await calendar.locator('[data-field="workdays"] .el-form-item__error', { hasText: '第 7 个日期「2026-10-01」同一天不能既是节假日又是调休上班日，请删去其一' }).waitFor();
    await quiet.scrollIntoViewIfNeeded();
    await noToasts();
    await screenshot(page, 'console-settings-errors');
    await calendar.getByRole('button', { name: '取消' }).click();

    // Fixed and saved: version 1, by the administrator.
    await quiet.locator('[data-field="start"] input').fill('22:00');
    await quiet.locator('[data-field="timezone"] .el-select').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: 'Asia/Shanghai' }).click();
    await quiet.locator('[data-test="setting-save"]').click();
    await page.getByText('「免打扰时段」已保存为版本 v1，立即生效。').waitFor();
    await quiet.locator('[data-test="setting-summary"]', { hasText: '每天 22:00 至 次日 08:00（Asia/Shanghai）不发送自动消息' }).waitFor();
    expect(await quiet.locator('[data-test="setting-version"]').innerText()).to.match(/^版本 v1 · .+ 由 系统管理员 修改$/);
    await tiers.locator('[data-field="wealth"] input').fill('800000');
    await tiers.locator('[data-field="wealth"] input').press('Tab');
    await tiers.locator('[data-test="setting-save"]').click();
    await tiers.locator('[data-test="setting-summary"]', { hasText: '财富 ≥ 80 万元' }).waitFor();
    expect(await getSetting(web.app.database.db, 'customers.aumTiers')).to.deep.equal({ potential: 50_000, wealth: 800_000, private: 6_000_000 });

    // The history: who changed what, and back to the default as a new version.
    await quiet.locator('[data-test="setting-history"]').click();
    const drawer = page.locator('[data-test="setting-history-drawer"]');
    const v1 = drawer.locator('.el-table__row', { hasText: 'v1' });
    await v1.waitFor();
    expect(await v1.innerText()).to.contain('系统管理员').and.contain('开始时间：21:00 → 22:00');
    await noToasts();
    await screenshot(page, 'console-settings-history');
    await drawer.getByRole('button', { name: '恢复默认值' }).click();
    expect(await quiet.locator('[data-field="start"] input').inputValue()).to.equal('21:00');
    await quiet.locator('[data-test="setting-save"]').click();
    await page.getByText('「免打扰时段」已保存为版本 v2，立即生效。').waitFor();
    await quiet.locator('[data-test="setting-summary"]', { hasText: '每天 21:00 至 次日 08:00' }).waitFor();
    expect(await getSetting(web.app.database.db, 'outbound.quietHours')).to.deep.equal({ start: '21:00', end: '08:00', timezone: 'Asia/Shanghai' });
    const audited = await web.app.database.db.selectFrom('audit_log').select('detail').where('action', '=', 'settings.update').where('target_id', '=', 'outbound.quietHours').orderBy('id').execute();
    expect(audited.map((a) => (a.detail as { version: number }).version)).to.deep.equal([1, 2]);
    await quiet.locator('[data-test="setting-history"]').click();
    await drawer.locator('.el-table__row', { hasText: 'v2' }).getByText('开始时间：22:00 → 21:00').waitFor();
    assertNoBrowserErrors(page);
  });

  it('shows the menu entry to administrators only', async () => {
    const page = await newPage(web.context);
    await loginConsole(page, 'ops');
    await page.locator('.el-sub-menu__title', { hasText: '系统' }).click();
    await page.getByRole('menuitem', { name: '沙箱模拟器', exact: true }).waitFor();
    expect(await page.getByRole('menuitem', { name: '运行参数', exact: true }).count()).to.equal(0);
    assertNoBrowserErrors(page);
  });
});
