import { expect } from 'chai';
import type { Locator, Page } from 'playwright-core';
import { createLogger } from '../../src/platform/logger.js';
import { runScoring } from '../../src/scoring/index.js';
import type { TestClient } from '../harness.js';
import { assertNoBrowserErrors, browserErrors, loginConsole, newPage, screenshot, useBrowserApp } from '../browser.js';

/** Picks an option of an Element Plus select by its exact text (options live in a popper at the end of the body). */
async function pick(page: Page, select: Locator, ...options: string[]): Promise<void> {
  await select.click();
  for (const option of options) {
    await page.locator('.el-select-dropdown__item:visible').filter({ hasText: new RegExp(`^${option}$`) }).first().click();
  }
  if (options.length > 1) {
    await page.keyboard.press('Escape');
    await page.locator('.el-select-dropdown:visible').waitFor({ state: 'hidden' });
  }
}

async function fillNumber(input: Locator, value: string): Promise<void> {
  await input.fill(value);
  await input.press('Tab');
}

/** Waits until the live count has settled on a number and returns it. */
async function settledCount(page: Page): Promise<number> {
  const ready = page.locator('[data-test="live-count"][data-state="ready"]');
  await ready.waitFor();
  await page.waitForTimeout(600); // past the debounce: a later change would have left "ready" by now
  await ready.waitFor();
  return Number((await ready.innerText()).replace(/,/g, ''));
}

describe('segments (browser)', function () {
  this.timeout(180_000);
  let api: TestClient;

  const web = useBrowserApp({ DEMO_CUSTOMERS: '200' });
  before(async () => {
    api = await web.app.client().login('ops');
    await runScoring({ db: web.app.database.db, logger: createLogger({ level: 'silent' }) }, { now: new Date() });
  });

  it('builds a segment and sees its count: the live count equals the API count for the rule, and the saved segment previews masked rows', async () => {
    const page = await newPage(web.context);
    await loginConsole(page, 'ops');
    await page.locator('.el-sub-menu__title', { hasText: /^客户$/ }).click();
    await page.getByRole('menuitem', { name: '客群', exact: true }).click();
    await page.locator('[data-test="new-segment"]').click();
    await page.waitForURL(/\/console\/segments\/new$/);
    await page.locator('[data-test="segment-name"]').fill('中高端代发客户');
    await page.locator('[data-test="condition"]').first().waitFor();

    // AUM ≥ 100000
    const first = page.locator('[data-test="condition"]').nth(0);
    await pick(page, first.locator('[data-test="field"]'), 'AUM');
    await pick(page, first.locator('[data-test="op"]'), '大于等于');
    await fillNumber(first.locator('[data-test="value"] input'), '100000');
    // 且 客群含 代发
    await page.locator('[data-test="add-condition"]').first().click();
    const second = page.locator('[data-test="condition"]').nth(1);
    await pick(page, second.locator('[data-test="field"]'), '客群');
    await pick(page, second.locator('[data-test="value-select"]'), '代发');
    // 且（风险等级属于 R3、R4 或 年龄 ≥ 55）
    await page.locator('[data-test="add-group"]').first().click();
    const third = page.locator('[data-test="condition"]').nth(2);
    await pick(page, third.locator('[data-test="field"]'), '风险等级');
    await pick(page, third.locator('[data-test="op"]'), '属于');
    await pick(page, third.locator('[data-test="value-select"]'), 'R3', 'R4');
    await page.locator('[data-test="add-condition"]').nth(1).click();
    await page.locator('[data-test="condition"]').nth(3).waitFor();
    const fourth = page.locator('[data-test="condition"]').nth(3);
    await pick(page, fourth.locator('[data-test="field"]'), '年龄');
    await pick(page, fourth.locator('[data-test="op"]'), '大于等于');

    const counted = page.waitForRequest((r) => r.url().endsWith('/api/v1/segments/count') && (r.postData() ?? '').includes('"age"'));
    await fillNumber(fourth.locator('[data-test="value"] input'), '55');
    const body = JSON.parse((await counted).postData()!) as { definition: { filter: unknown } };
    const rule = {
      all: [
        { field: 'aum', op: 'gte', value: 100000 },
        { field: 'segments', op: 'has', value: '代发' },
        { any: [{ field: 'risk_level', op: 'in', value: ['R3', 'R4'] }, { field: 'age', op: 'gte', value: 55 }] },
      ],
    };
    expect(body.definition).to.deep.equal({ method: 'rule', filter: rule });
    const shown = await settledCount(page);
    const fromApi = await api.post('/api/v1/segments/count', { definition: { method: 'rule', filter: rule } });
    expect(fromApi.status).to.equal(200);
    expect(shown).to.equal(fromApi.body.count);
    expect(shown).to.be.within(2, 199);
    expect(await page.locator('[data-test="summary"]').innerText()).to.equal('AUM ≥ 10万 且 客群含 代发 且 （风险等级属于 R3、R4 或 年龄 ≥ 55）');

    await page.locator('[data-test="save"]').click();
    await page.waitForURL(/\/console\/segments\/[0-9a-f-]{36}$/);
    await page.getByText('客群已保存').first().waitFor();
    expect(await settledCount(page)).to.equal(shown);
    const rows = page.locator('[data-test="preview"] .el-table__body tr');
    await rows.first().waitFor();
    expect(await rows.count()).to.equal(Math.min(10, shown));
    const mobiles = await page.locator('[data-test="preview"] [data-test="masked-mobile"]').allInnerTexts();
    expect(mobiles.length).to.equal(Math.min(10, shown));
    for (const m of mobiles) expect(m).to.match(/^(1\d{2}\*{4}\d{4}|—)$/);
    expect(mobiles.some((m) => m.includes('*'))).to.equal(true);

    // A snapshot freezes the same customers.
    await page.locator('[data-test="create-snapshot"]').click();
    await page.locator('[data-test="snapshot-list"] .el-table__body tr').first().waitFor();
    expect(await page.locator('[data-test="snapshot-list"] .el-table__body tr td').nth(1).innerText()).to.equal(String(shown));
    const saved = (await api.get('/api/v1/segments?q=中高端代发客户')).body.items[0];
    expect(saved).to.include({ method: 'rule', memberCount: shown });
    expect(saved.definition).to.deep.equal({ method: 'rule', filter: rule });
    await screenshot(page, 'console-segment-builder');
    await page.locator('[data-test="preview"]').scrollIntoViewIfNeeded();
    await screenshot(page, 'console-segment-preview');
    assertNoBrowserErrors(page);
  });

  it('adds and excludes customers of a custom rule, counts them live, and keeps the refresh schedule', async () => {
    const customers = (await web.app.database.db.selectFrom('customers').select(['cif_no', 'aum']).orderBy('cif_no').execute());
    const rich = customers.filter((c) => Number(c.aum) >= 500_000);
    const poor = customers.filter((c) => Number(c.aum) < 500_000);
    expect(rich.length).to.be.above(2);
    const page = await newPage(web.context);
    await loginConsole(page, 'ops');
    await page.goto('/console/segments/new');
    await page.locator('[data-test="segment-name"]').fill('高资产客户（含手工调整）');
    await page.locator('[data-test="method"]').getByText('自定义规则').click();
    const first = page.locator('[data-test="condition"]').nth(0);
    await pick(page, first.locator('[data-test="field"]'), 'AUM');
    await pick(page, first.locator('[data-test="op"]'), '大于等于');
    await fillNumber(first.locator('[data-test="value"] input'), '500000');
    expect(await settledCount(page)).to.equal(rich.length);
    await page.locator('[data-test="add-members"]').fill(poor[0]!.cif_no);
    await page.locator('[data-test="exclude-members"]').fill(`${rich[0]!.cif_no}\n${rich[1]!.cif_no}`);
    await page.waitForTimeout(100);
    expect(await settledCount(page)).to.equal(rich.length + 1 - 2);
    await pick(page, page.locator('[data-test="refresh"]'), '每天 06:00');
    await page.locator('[data-test="save"]').click();
    await page.waitForURL(/\/console\/segments\/[0-9a-f-]{36}$/);
    await page.locator('[data-test="excluded-members"] .el-table__body tr').nth(1).waitFor();
    expect(await page.locator('[data-test="included-members"]').innerText()).to.include(poor[0]!.cif_no);
    expect(await page.locator('[data-test="excluded-members"]').innerText()).to.include(rich[1]!.cif_no);
    await page.reload();
    expect(await settledCount(page)).to.equal(rich.length - 1);
    expect((await page.locator('[data-test="refresh"]').innerText()).trim()).to.equal('每天 06:00');
    const id = page.url().split('/').at(-1)!;
    expect((await api.get(`/api/v1/segments/${id}`)).body).to.include({ refreshCron: '0 6 * * *', count: rich.length - 1, method: 'custom' });
    await screenshot(page, 'console-segment-custom');
    assertNoBrowserErrors(page);
  });

  it('counts a fixed list, an imported list, a model-score rule and a derived difference live, as the API does', async () => {
    const cifs = (await web.app.database.db.selectFrom('customers').select('cif_no').orderBy('cif_no').execute()).map((c) => c.cif_no);
    const page = await newPage(web.context);
    await loginConsole(page, 'ops');
    const create = async (name: string, method: string, build: () => Promise<void>): Promise<number> => {
      await page.goto('/console/segments/new');
      await page.locator('[data-test="segment-name"]').fill(name);
      await page.locator('[data-test="method"]').getByText(method, { exact: true }).click();
      await build();
      const shown = await settledCount(page);
      await page.locator('[data-test="save"]').click();
      await page.waitForURL(/\/console\/segments\/[0-9a-f-]{36}$/);
      return shown;
    };

    expect(await create('固定名单五人', '固定名单', async () => {
      await page.locator('[data-test="add-members"]').fill(cifs.slice(0, 5).join('\n'));
    })).to.equal(5);

    const imported = await create('导入名单四人', '导入名单', async () => {
      await page.locator('[data-test="cifs"]').fill([...cifs.slice(3, 7), 'CIF-NOT-A-CUSTOMER'].join('\n'));
      await page.getByText('1 个客户号不在您可见的客户中，已忽略：CIF-NOT-A-CUSTOMER').waitFor();
    });
    expect(imported).to.equal(4);

    const score = await create('低流失风险', '模型分圈选', async () => {
      await page.locator('[data-test="add-condition"]').first().click();
      const condition = page.locator('[data-test="condition"]').first();
      await condition.locator('[data-test="field"]').click();
      // Only score fields are offered for a model-score segment.
      await page.locator('.el-select-dropdown__item:visible').filter({ hasText: /^M值评分$/ }).waitFor();
      const offered = await page.locator('.el-select-dropdown__item:visible').allInnerTexts();
      expect(offered.sort()).to.deep.equal(['F值评分', 'M值评分', 'R值评分', 'RFM分类', '流失概率', '流失风险'].sort());
      await page.locator('.el-select-dropdown__item:visible').filter({ hasText: /^流失风险$/ }).click();
      await pick(page, condition.locator('[data-test="value-select"]'), '低');
    });
    const lowChurn = await api.post('/api/v1/segments/count', { definition: { method: 'score', filter: { all: [{ field: 'churn_band', op: 'eq', value: 'low' }] } } });
    expect(score).to.equal(lowChurn.body.count).and.to.be.within(1, 199);

    const derived = await create('导入名单减固定名单', '客群运算', async () => {
      await page.locator('label').filter({ hasText: '差集（第一个客群排除其余）' }).click();
      const parts = page.locator('[data-test="derived-parts"]');
      await parts.click();
      for (const name of ['导入名单四人', '固定名单五人']) {
        await page.locator('.el-select-dropdown__item:visible').filter({ hasText: new RegExp(`^${name}（`) }).click();
      }
      await page.keyboard.press('Escape');
    });
    expect(derived).to.equal(2); // cifs 5 and 6
    await page.locator('h2', { hasText: '导入名单减固定名单' }).waitFor();
    expect(await settledCount(page)).to.equal(2);
    expect(await page.locator('[data-test="summary"]').innerText()).to.equal('「导入名单四人」 排除 「固定名单五人」');
    await screenshot(page, 'console-segment-derived');
    assertNoBrowserErrors(page);
  });

  it('shows the server’s refusal of a rule in Chinese beside the condition at fault', async () => {
    const page = await newPage(web.context);
    await loginConsole(page, 'ops');
    await page.goto('/console/segments/new');
    const first = page.locator('[data-test="condition"]').nth(0);
    await pick(page, first.locator('[data-test="field"]'), 'AUM');
    await pick(page, first.locator('[data-test="op"]'), '介于');
    const refused = page.waitForResponse((r) => r.url().endsWith('/api/v1/segments/count') && r.status() === 400);
    const bounds = first.locator('[data-test="value"] input');
    await bounds.nth(0).fill('500000');
    await fillNumber(bounds.nth(1), '100000');
    const response = await refused;
    expect((await response.json()).error.issues.map((i: { path: string }) => i.path)).to.deep.equal(['body.definition.filter.all.0.value']);
    await first.locator('[data-test="node-error"]').waitFor();
    expect(await first.locator('[data-test="node-error"]').innerText()).to.equal('请填写最小值和最大值，且最小值不能大于最大值');
    expect(await page.locator('[data-test="count-state"]').innerText()).to.equal('条件有误，请按提示修改');
    await screenshot(page, 'console-segment-invalid');
    // The refusal is the one error the browser saw: Chromium logs a 400 response as a console error.
    const errors = browserErrors(page);
    expect(errors.filter((e) => !/status of 400/.test(e))).to.deep.equal([]);
    expect(errors.length).to.be.above(0);
    errors.length = 0;
    // Fixing the bounds clears the message and counts again.
    await fillNumber(bounds.nth(1), '900000');
    expect(await settledCount(page)).to.be.a('number');
    expect(await first.locator('[data-test="node-error"]').count()).to.equal(0);
    assertNoBrowserErrors(page);
  });
});
