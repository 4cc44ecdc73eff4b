import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { assertNoBrowserErrors, loginConsole, newPage, openMenu, screenshot, useBrowserApp } from '../browser.js';

describe('console compliance (browser)', function () {
  this.timeout(120_000);
  const web = useBrowserApp();
  const page = async (username: string): Promise<Page> => {
    const c = await web.newContext();
    const p = await newPage(c);
    await loginConsole(p, username);
    return p;
  };
  const check = async (p: Page, text: string, options: { review?: boolean } = {}) => {
    await p.goto('/console/compliance/check');
    const form = p.locator('[data-test="check-form"]');
    await form.getByPlaceholder('粘贴或输入要发给客户的消息').fill(text);
    if (options.review) await form.getByText('未通过时送合规复核（员工自拟的营销文字）').click();
    await form.getByRole('button', { name: '检查' }).click();
    return p.locator('[data-test="check-result"]');
  };

  it('checks a message that breaks a marketing rule and shows the finding in Chinese, marked in the text', async () => {
    const am = await page('am.lina');
    await openMenu(am, '合规', '合规检查');
    await am.waitForURL(/\/console\/compliance\/check$/);
    const result = await check(am, '这款理财保本保息，年化4.2%，名额有限。');
    await result.locator('[data-test="check-verdict"]', { hasText: '拦截' }).waitFor();
    await result.getByText('禁止使用「保本保息」：承诺保本保收益，请删除或改写后再发送').waitFor();
    expect(await result.locator('mark.block').innerText()).to.equal('保本保息');
    expect(await result.innerText()).to.contain('不能发送：请按提示删除或改写后再检查。').and.contain('理财非存款、产品有风险、投资须谨慎');
    await am.waitForTimeout(500); // tags zoom in when they appear
    await screenshot(am, 'console-compliance-check');
    // Account managers have no review queue.
    expect(await am.getByRole('menuitem', { name: '复核队列' }).count()).to.equal(0);
    assertNoBrowserErrors(am);
  });

  it('sends a held text to the review queue, where compliance rejects it with a reason', async () => {
    const am = await page('am.zhangwei');
    const result = await check(am, '这只基金今年收益最高，推荐您关注。', { review: true });
    await result.locator('[data-test="check-verdict"]', { hasText: '需人工确认' }).waitFor();
    await result.locator('[data-test="queued"]').getByText('已送合规复核').waitFor();
    assertNoBrowserErrors(am);

    const reviewer = await page('compliance');
    await openMenu(reviewer, '合规', '复核队列');
    await reviewer.waitForURL(/\/console\/compliance\/reviews$/);
    const queued = await web.app.database.db.selectFrom('compliance_reviews').selectAll().where('text', '=', '这只基金今年收益最高，推荐您关注。').executeTakeFirstOrThrow();
    const card = reviewer.locator(`[data-test="review-${queued.id}"]`);
    await card.getByText('慎用「最高」').waitFor();
    expect(await card.innerText()).to.contain('张伟').and.contain('来自合规检查');
    await card.getByPlaceholder('复核意见（驳回时必填）').fill('“最高”无依据，请改为客观表述');
    await reviewer.waitForTimeout(500);
    await screenshot(reviewer, 'console-review-queue');
    await card.getByRole('button', { name: '驳回' }).click();
    await card.waitFor({ state: 'detached' });

    await reviewer.getByRole('radio', { name: '已驳回' }).click({ force: true });
    await reviewer.getByText('：“最高”无依据，请改为客观表述').waitFor();
    const decided = await web.app.database.db.selectFrom('compliance_reviews').selectAll().where('id', '=', queued.id).executeTakeFirstOrThrow();
    expect([decided.status, decided.decision_note]).to.deep.equal(['rejected', '“最高”无依据，请改为客观表述']);
    assertNoBrowserErrors(reviewer);
  });

  it('publishes a new rule-set version with an added phrase, which the next check finds', async () => {
    const reviewer = await page('compliance');
    await reviewer.goto('/console/compliance/rules');
    await reviewer.locator('[data-test="rules-table"]').getByRole('cell', { name: '保本保息', exact: true }).waitFor();
    await reviewer.getByRole('button', { name: '新增规则' }).click();
    const form = reviewer.locator('[data-test="rule-add-form"]');
    await form.getByPlaceholder('如：稳赚').fill('躺赚');
    await form.getByPlaceholder('依据或例子，会显示在检查结果里').fill('暗示无需承担风险即可获利');
    await reviewer.getByRole('button', { name: '加入待发布' }).click();
    const staged = reviewer.locator('[data-test="staged"]');
    await staged.getByText('禁止用语「躺赚」').waitFor();
    await staged.getByPlaceholder('发布说明（必填，如：新增禁止用语「…」，依据…）').fill('新增禁止用语「躺赚」');
    await staged.getByRole('button', { name: '发布新版本' }).click();
    await reviewer.getByText('已发布第 2 版，立即生效').waitFor();
    await reviewer.locator('[data-test="versions-table"]').getByRole('row', { name: /新增禁止用语「躺赚」/ }).waitFor();
    await reviewer.waitForTimeout(500);
    await screenshot(reviewer, 'console-compliance-rules');

    const result = await check(reviewer, '定投这只基金，躺赚不是梦。');
    await result.getByText('禁止使用「躺赚」：承诺保本保收益（暗示无需承担风险即可获利），请删除或改写后再发送').waitFor();
    expect(await result.innerText()).to.contain('规则库第 2 版');
    assertNoBrowserErrors(reviewer);
  });
});
