import { expect } from 'chai';
import { until } from '../wecom.js';
import { assertNoBrowserErrors, loginConsole, newPage, openMenu, screenshot, useBrowserApp } from '../browser.js';

describe('console auto-reply rules (browser)', function () {
  this.timeout(120_000);

  const web = useBrowserApp({ OUTBOX_POLL_MS: '200' });

  it('creates an auto-reply rule that answers a customer, and shows the answer in the reply log', async () => {
    const page = await newPage(web.context);
    await loginConsole(page, 'ops');
    await openMenu(page, '内容', '自动回复规则');
    await page.waitForURL(/\/console\/replies$/);
    await page.getByRole('button', { name: '新建规则' }).click();
    const form = page.locator('[data-test="rule-form"]');
    await form.getByPlaceholder('如：营业时间', { exact: true }).fill('营业时间');
    await form.getByPlaceholder('如：营业时间|几点开门|几点关门').fill('营业时间|几点开门');
    await form.getByPlaceholder('客户收到的回复；发送前仍经合规检查').fill('网点营业时间为工作日9:00-17:00，具体以网点公告为准。');
    await form.getByRole('button', { name: '合规检查' }).click();
    await form.getByText('通过', { exact: true }).waitFor();
    await form.locator('.el-input-number').nth(1).locator('input').fill('10');
    await page.getByRole('button', { name: '保存' }).click();
    await page.getByText('已创建规则「营业时间」').waitFor();
    const row = page.locator('[data-test="rules"]').getByRole('row', { name: /营业时间\|几点开门/ });
    expect(await row.innerText()).to.contain('10').and.contain('关键词').and.contain('网点营业时间为工作日9:00-17:00');

    // The tester says which rule would answer.
    const tester = page.locator('[data-test="rule-tester"]');
    await tester.getByPlaceholder('输入一条客户消息，看哪条规则会回复').fill('你们网点几点开门？');
    await tester.getByRole('button', { name: '测试匹配' }).click();
    await tester.locator('[data-test="rule-test-result"]').getByText('营业时间', { exact: true }).waitFor();
    await page.waitForTimeout(500);
    await screenshot(page, 'console-reply-rules');

    const stored = await web.app.database.db.selectFrom('reply_rules').selectAll().where('name', '=', '营业时间').executeTakeFirstOrThrow();
    expect([stored.match_type, stored.pattern, stored.priority]).to.deep.equal(['keyword', '营业时间|几点开门', 10]);

    // A customer asks through WeChat customer service; the rule answers, and the log shows it.
    web.app.wecom.sandbox!.control.kfCustomerMessage({ text: '请问你们网点几点开门？', externalUserid: 'wmBrowserRule' });
    await until(async () => {
      const r = await web.app.database.db.selectFrom('reply_log').select('decision').where('external_userid', '=', 'wmBrowserRule').executeTakeFirst();
      return r?.decision === 'rule' ? r : undefined;
    }, 20_000, 'the rule to answer');
    await openMenu(page, '内容', '自动回复记录');
    const logRow = page.locator('[data-test="reply-log"]').getByRole('row', { name: /请问你们网点几点开门/ });
    await logRow.waitFor();
    expect(await logRow.innerText()).to.contain('规则回复').and.contain('规则「营业时间」').and.contain('微信客服');
    await page.waitForTimeout(500);
    await screenshot(page, 'console-reply-log');
    assertNoBrowserErrors(page);
  });
});
