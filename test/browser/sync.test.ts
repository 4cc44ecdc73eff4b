import { expect } from 'chai';
import { finishedRun } from '../wecom.js';
import { assertNoBrowserErrors, loginConsole, newPage, openMenu, screenshot, useBrowserApp } from '../browser.js';

describe('console WeCom sync (browser)', function () {
  this.timeout(180_000);

  const web = useBrowserApp({ DEMO_CUSTOMERS: '1000' });
  afterEach(() => web.app.wecom.sandbox!.control.clearFaults());

  it('starts a full sync and watches it live, step by step, to its end with what it repaired', async () => {
    // Slow pages of contacts, so that the run lasts long enough to be watched.
    web.app.wecom.sandbox!.control.addFault({ api: 'externalcontact/batch/get_by_user', delayMs: 400 });
    const page = await newPage(web.context);
    await loginConsole(page, 'admin');
    await openMenu(page, '系统', '企业微信同步');
    await page.waitForURL(/\/console\/sync$/);
    await page.locator('[data-test="sync-history"]').getByText('还没有同步记录').waitFor();

    await page.locator('[data-test="sync-run"]').click();
    const current = page.locator('[data-test="sync-current"]');
    await current.getByText('本次同步').waitFor();
    await current.locator('[data-test="sync-status"]', { hasText: '同步中' }).waitFor();
    expect(await page.locator('[data-test="sync-run"]').isDisabled()).to.equal(true);
    // The contacts step as the socket reports it: relations read so far, before the end.
    const contacts = current.locator('[data-test="sync-contacts"]');
    await contacts.getByText(/已读取 [\d,]+ 个好友关系/).waitFor({ timeout: 30_000 });
    const midway = Number((await current.locator('[data-test="sync-progress"]').innerText()).replace(/[^\d.]/g, ''));
    expect(midway).to.be.greaterThan(0).and.lessThan(100);
    expect(await current.locator('.el-step__head.is-success').count()).to.be.greaterThan(0);
    expect(await current.locator('[data-test="sync-counts"]').innerText()).to.match(/成员：新增 8/);
    await screenshot(page, 'console-sync-running');

    await current.locator('[data-test="sync-status"]', { hasText: '已完成' }).waitFor({ timeout: 60_000 });
    expect(await current.locator('[data-test="sync-progress"]').innerText()).to.contain('100%');
    expect(await current.locator('.el-step__head.is-success').count()).to.equal(5);
    const counts = await current.locator('[data-test="sync-counts"]').innerText();
    expect(counts).to.match(/成员：新增 8/).and.match(/客户群：同步 10/);
    const row = page.locator('[data-test="sync-history"] .el-table__row', { hasText: '系统管理员（手动）' });
    await row.filter({ hasText: '已完成' }).waitFor();
    await screenshot(page, 'console-sync-done');

    const runs = await web.app.database.db.selectFrom('wecom_sync_runs').select(['id', 'status']).execute();
    expect(runs).to.have.length(1);
    expect(runs[0]!.status).to.equal('done');
    expect(await page.locator('[data-test="sync-run"]').isDisabled()).to.equal(false);
    assertNoBrowserErrors(page);
  });

  it('shows a failed attempt live in Chinese with what to do, then the automatic retry finishing the run', async () => {
    // WeCom refuses the contacts pages as if the members were outside the app's visible range.
    web.app.wecom.sandbox!.control.addFault({ api: 'externalcontact/batch/get_by_user', errcode: 60011 });
    const page = await newPage(web.context);
    await loginConsole(page, 'admin');
    await page.goto('/console/sync');
    await page.locator('[data-test="sync-history"] .el-table__row').first().waitFor();
    await page.locator('[data-test="sync-run"]').click();

    const current = page.locator('[data-test="sync-current"]');
    const alert = current.locator('[data-test="sync-error"]');
    await alert.getByText('第 1 次尝试失败：企业微信接口 externalcontact/batch/get_by_user 返回错误 60011', { exact: false }).waitFor({ timeout: 30_000 });
    expect(await alert.innerText()).to.contain('请在管理后台把相关成员加入应用的可见范围').and.contain('系统会从中断处自动重试');
    await current.locator('[data-test="sync-status"]', { hasText: '重试中' }).waitFor();
    const history = page.locator('[data-test="sync-history"] .el-table__row').first();
    await history.getByText('没有权限访问部分成员或部门').waitFor();
    await screenshot(page, 'console-sync-error');

    // The administrator fixes the range in WeCom: the next attempt carries on and finishes.
    web.app.wecom.sandbox!.control.clearFaults();
    await current.locator('[data-test="sync-status"]', { hasText: '已完成' }).waitFor({ timeout: 60_000 });
    expect(await alert.count()).to.equal(0);
    const latest = await web.app.database.db.selectFrom('wecom_sync_runs').select('id').orderBy('started_at', 'desc').executeTakeFirstOrThrow();
    expect(await finishedRun(web.app, latest.id)).to.include({ status: 'done', error: null });
    assertNoBrowserErrors(page);
  });
});
