import { expect } from 'chai';
import { addDays, dayIn } from '../../src/dashboard/range.js';
import { plantDashboard } from '../../src/dashboard/testing.js';
import { assertNoBrowserErrors, loginConsole, newPage, screenshot, useBrowserApp } from '../browser.js';

/**
 * The dashboard page on the planted week of src/dashboard/testing.ts, placed 20 days ago so that the default
 * range (the last 30 days) holds the week and the rows planted just before and after it: 8 relations added
 * (the week's 6, one the day before, one the day after), 2 lost, 5 enrollments, 4 SOP messages, 8 customer
 * messages of which 3 answered automatically and 3 handed off, and the funnel 7 → 4 → 2 → 1.
 */
describe('dashboard page (browser)', function () {
  this.timeout(120_000);

  const web = useBrowserApp();
  before(async () => {
    await plantDashboard(web.app.database.db, addDays(dayIn(new Date()), -20));
  });

  it('shows the last 30 days in figures and charts, the funnel with its conversion', async () => {
    const page = await newPage(web.context);
    await loginConsole(page, 'ops');
    await page.getByRole('menuitem', { name: '运营数据' }).click();
    await page.waitForURL(/\/console\/dashboard$/);
    const kpi = (key: string) => page.locator(`[data-test="kpi-${key}"]`).innerText();
    await page.locator('[data-test="kpi-added"]').waitFor();
    expect(await kpi('added')).to.equal('8');
    expect(await kpi('lost')).to.equal('2');
    expect(await kpi('net')).to.equal('6');
    expect(await kpi('enrollments')).to.equal('5');
    expect(await kpi('messages')).to.equal('8');
    expect(await kpi('auto')).to.equal('3');
    expect(await kpi('handoffs')).to.equal('3');
    expect(await kpi('bought')).to.equal('1');
    // Every chart drew on its canvas, and describes its data for screen readers.
    for (const chart of ['contacts', 'channels', 'sop', 'conversations', 'funnel']) {
      const el = page.locator(`[data-test="chart-${chart}"]`);
      await el.locator('canvas').waitFor();
      expect(await el.getAttribute('aria-label'), chart).to.be.a('string').and.not.equal('');
    }
    const funnel = (await page.locator('[data-test="chart-funnel"]').getAttribute('aria-label'))!;
    for (const part of ['添加企微', '7', '有回复', '4', '已绑定客户', '2', '已购产品', '1']) expect(funnel).to.include(part);
    const channels = (await page.locator('[data-test="chart-channels"]').getAttribute('aria-label'))!;
    expect(channels).to.include('西湖支行大堂二维码');
    expect(await page.locator('[data-test="channel-table"]').innerText()).to.include('card-ZhangWei');
    expect(await page.locator('[data-test="sop-table"]').innerText()).to.include('新客欢迎');
    expect(await page.locator('[data-test="handoff-table"]').innerText()).to.include('投诉');
    const range = [await page.locator('.el-range-input').nth(0).inputValue(), await page.locator('.el-range-input').nth(1).inputValue()];
    expect(range).to.deep.equal([addDays(dayIn(new Date()), -29), dayIn(new Date())]);
    await page.waitForTimeout(800); // let the charts finish their entry animation before the picture
    await screenshot(page, 'console-dashboard');
    await page.locator('[data-test="chart-funnel"]').scrollIntoViewIfNeeded();
    await screenshot(page, 'console-dashboard-funnel');
    assertNoBrowserErrors(page);
  });

  it('shows a branch manager the figures of their branch, and account managers have no entry', async () => {
    const page = await newPage(web.context);
    await loginConsole(page, 'bm.liuyang');
    await page.goto('/console/dashboard');
    await page.locator('[data-test="kpi-added"]').waitFor();
    // LiNa's adds on day 0 (two) and day 7 (one), LiuQiang's on the day before the week; that contact left on day 3.
    expect(await page.locator('[data-test="kpi-added"]').innerText()).to.equal('4');
    expect(await page.locator('[data-test="kpi-lost"]').innerText()).to.equal('1');
    expect(await page.getByText('本网点客户经理的数据').count()).to.equal(1);
    assertNoBrowserErrors(page);
    const other = await newPage(web.context);
    await other.context().clearCookies();
    await loginConsole(other, 'am.lina');
    expect(await other.getByRole('menuitem', { name: '运营数据' }).count()).to.equal(0);
    assertNoBrowserErrors(other);
  });
});
