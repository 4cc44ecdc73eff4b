import { expect } from 'chai';
import { sql } from 'kysely';
import { until } from '../wecom.js';
import { assertNoBrowserErrors, loginConsole, newPage, screenshot, useBrowserApp } from '../browser.js';

describe('SOP templates in the console (browser)', function () {
  this.timeout(180_000);

  const web = useBrowserApp({ DEMO_CUSTOMERS: '60' });

  /** The next date (Shanghai) on which a demo customer with a WeCom relation has a birthday, and how many share it. */
  async function nextBirthday(): Promise<{ date: string; customers: number }> {
    const today = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);
    const { rows } = await sql<{ day: string }>`
      SELECT to_char(c.birth_date, 'MM-DD') AS day FROM customers c
       WHERE c.birth_date IS NOT NULL AND to_char(c.birth_date, 'MM-DD') <> '02-29'
         AND EXISTS (SELECT 1 FROM external_contacts ec JOIN follow_relations fr ON fr.corp_id = ec.corp_id AND fr.external_userid = ec.external_userid AND fr.deleted_at IS NULL WHERE ec.customer_id = c.id)
       ORDER BY 1`.execute(web.app.database.db);
    expect(rows.length).to.be.greaterThan(0);
    const year = Number(today.slice(0, 4));
    const upcoming = rows.find((r) => `${year}-${r.day}` >= today);
    const date = upcoming ? `${year}-${upcoming.day}` : `${year + 1}-${rows[0]!.day}`;
    const all = await sql<{ n: number }>`SELECT count(*)::int AS n FROM customers WHERE to_char(birth_date, 'MM-DD') = ${date.slice(5)}`.execute(web.app.database.db);
    return { date, customers: all.rows[0]!.n };
  }

  it('create, dry-run and publish an SOP', async () => {
    const page = await newPage(web.context);
    await loginConsole(page, 'ops');
    await page.getByText('自动化', { exact: true }).click();
    await page.getByRole('menuitem', { name: 'SOP 模板' }).click();
    await page.waitForURL(/\/console\/sop$/);
    // The shipped templates are listed with their status and version.
    await page.locator('[data-test="sop-list"]').getByText('birthday-care').waitFor();
    await page.locator('[data-test="sop-new"]').click();
    await page.waitForURL(/\/console\/sop\/new$/);

    await page.locator('[data-test="sop-key"]').fill('birthday-wish');
    await page.locator('[data-test="sop-name"]').fill('生日祝福（运营台）');
    const greet = page.locator('[data-step="greet"]');
    // A variable that does not exist: the error is shown at the step's text, in Chinese.
    await greet.locator('textarea').first().fill('{称呼}您好，{客户称谓}祝您生日快乐！');
    await page.locator('[data-test="sop-save"]').click();
    await greet.getByText('未知变量 {客户称谓}，请用下方按钮插入可用变量').waitFor();
    await page.locator('[data-test="sop-issues"]').getByText('第 1 步「greet」 · 内容：未知变量 {客户称谓}').waitFor();
    await greet.scrollIntoViewIfNeeded();
    await screenshot(page, 'sop-editor-errors');
    expect(page.url()).to.match(/\/sop\/new$/);

    // Fix it with the variable buttons; the problems list clears itself as the form is re-checked.
    await greet.locator('textarea').first().fill('祝您生日快乐！我是{网点}的客户经理{客户经理}，有需要随时找我。');
    await greet.locator('textarea').first().press('Home');
    await greet.getByRole('button', { name: '{称呼}' }).click();
    expect(await greet.locator('textarea').first().inputValue()).to.equal('{称呼}祝您生日快乐！我是{网点}的客户经理{客户经理}，有需要随时找我。');
    await greet.locator('textarea').first().fill('{称呼}您好，祝您生日快乐！我是{网点}的客户经理{客户经理}，有需要随时找我。');
    await greet.getByText('服务').click();
    await page.locator('[data-test="sop-issues"]').waitFor({ state: 'detached' });
    // A second step: a task for the account manager a day later.
    await page.locator('[data-test="add-step-task"]').click();
    const task = page.locator('[data-step="task-1"]');
    await task.locator('textarea').first().fill('回访{称呼}：生日祝福是否收到');
    await page.locator('[data-test="sop-save"]').click();
    await page.waitForURL(/\/console\/sop\/[0-9a-f-]{36}$/);
    await page.getByText('草稿已保存').or(page.getByText('模板已创建，草稿已保存。')).first().waitFor();
    expect(await page.locator('[data-test="sop-status"]').innerText()).to.equal('草稿');
    expect(await page.locator('[data-test="sop-version"]').innerText()).to.equal('未发布');

    // The YAML view of the definition.
    await page.getByRole('tab', { name: 'YAML' }).click();
    const yaml = await page.locator('[data-test="sop-yaml"]').inputValue();
    expect(yaml).to.contain('key: birthday-wish');
    expect(yaml).to.contain('type: task');
    expect(yaml).to.contain('{称呼}您好，祝您生日快乐！');

    // Dry run on a day some customers have their birthday.
    const { date, customers } = await nextBirthday();
    await page.getByRole('tab', { name: '试运行' }).click();
    const picker = page.getByPlaceholder('选择日期');
    await picker.fill(date);
    await picker.press('Enter');
    await page.locator('[data-test="dry-run-start"]').click();
    const summary = page.locator('[data-test="dry-run-summary"]');
    await summary.getByText(String(customers), { exact: true }).waitFor();
    const rows = page.locator('[data-test="dry-run-customers"] .el-table__row');
    expect(await rows.count()).to.equal(customers);
    // Each customer's message is rendered (no braces left) and judged by the gate.
    const first = rows.first();
    expect(await first.innerText()).to.match(/(先生|女士)您好，祝您生日快乐！我是星河银行.+支行的客户经理/);
    expect(await first.locator('.clip').innerText()).not.to.contain('{');
    await first.locator('.el-table__expand-icon').click();
    await page.getByText('合规通过').first().waitFor();
    // The task's title is rendered with the customer's variables, as the real run does.
    await page.getByText(/创建任务「回访.+(先生|女士)：生日祝福是否收到」/).first().waitFor();
    await page.waitForTimeout(500); // the row's expand transition
    await screenshot(page, 'sop-dry-run');

    // Publish.
    await page.locator('[data-test="sop-publish"]').click();
    await page.getByRole('dialog').getByRole('button', { name: '发布' }).click();
    await page.getByText('已发布为版本 v1，模板开始运行。').waitFor();
    await page.locator('[data-test="sop-status"]').getByText('运行中').waitFor();
    expect(await page.locator('[data-test="sop-version"]').innerText()).to.equal('已发布 v1');
    await page.getByRole('tab', { name: '运行监控' }).click();
    await page.locator('[data-test="monitor-steps"]').waitFor();
    await page.getByRole('tab', { name: '版本记录' }).click();
    await page.getByRole('cell', { name: 'v1', exact: true }).waitFor();
    await screenshot(page, 'sop-published');

    // Pause and resume from the console.
    await page.locator('[data-test="sop-pause"]').click();
    await page.getByRole('dialog').getByRole('button', { name: '暂停' }).click();
    await page.locator('[data-test="sop-status"]').getByText('已暂停').waitFor();
    await page.locator('[data-test="sop-resume"]').click();
    await page.getByRole('dialog').getByRole('button', { name: '恢复' }).click();
    await page.locator('[data-test="sop-status"]').getByText('运行中').waitFor();

    const stored = await web.app.database.db.selectFrom('sop_templates').select(['id', 'status', 'current_version', 'source']).where('key', '=', 'birthday-wish').executeTakeFirstOrThrow();
    expect(stored).to.include({ status: 'active', current_version: 1, source: 'console' });
    const audit = await web.app.database.db.selectFrom('audit_log').select('action').where('target_id', '=', stored.id).orderBy('id').execute();
    expect(audit.map((a) => a.action)).to.deep.equal(['sop.template.create', 'sop.template.publish', 'sop.template.pause', 'sop.template.resume']);

    await page.getByRole('button', { name: '返回列表' }).click();
    const row = page.locator('[data-test="sop-list"] .el-table__row', { hasText: 'birthday-wish' });
    expect(await row.innerText()).to.match(/运行中[\s\S]*v1/);
    assertNoBrowserErrors(page);
  });

  it('follows a running journey per step in the monitor, with one enrollment’s history, updated live over the socket', async () => {
    const ops = await web.app.client().login('ops');
    const published = await ops.post('/api/v1/sop/templates/new-customer-7d/publish');
    expect(published.status, JSON.stringify(published.body)).to.equal(200);
    const templateId = published.body.id as string;
    const control = web.app.wecom.sandbox!.control;
    // Two people add the account manager in WeCom: the add events enrol them.
    for (const name of ['周敏', '郑凯']) control.scanQr({ state: 'card-LiNa', customer: { name, gender: name === '周敏' ? 2 : 1 } });
    const enrolled = (n: number) =>
      until(async () => {
        const rows = await web.app.database.db.selectFrom('sop_enrollments').select('id').where('template_id', '=', templateId).execute();
        return rows.length >= n ? rows : undefined;
      }, 30_000, `${n} enrollments`);
    await enrolled(2);
    await until(async () => {
      const waiting = await web.app.database.db.selectFrom('sop_step_runs as r').innerJoin('sop_enrollments as e', 'e.id', 'r.enrollment_id')
        .select('r.id').where('e.template_id', '=', templateId).where('r.step_id', '=', 'day-1').where('r.status', '=', 'waiting').execute();
      return waiting.length === 2;
    }, 30_000, 'both at the first wait');

    const page = await newPage(web.context);
    await loginConsole(page, 'ops');
    await page.goto(`/console/sop/${templateId}?tab=monitor`);
    await page.locator('[data-test="enrolled-active"]').getByText('2', { exact: true }).waitFor();
    const steps = page.locator('[data-test="monitor-steps"]');
    const wait = steps.locator('.el-table__row', { hasText: 'day-1' });
    expect((await wait.innerText()).replace(/\s+/g, ' ')).to.match(/day-1 等待 2 2/);
    expect(await steps.locator('.el-table__row').first().innerText()).to.contain('mark');

    // One enrollment's history.
    await page.locator('[data-test="monitor-enrollment-list"] .el-table__row').first().click();
    const drawer = page.locator('.el-drawer');
    await drawer.getByText('执行历史').waitFor();
    await drawer.getByText('day-1').waitFor();
    await drawer.getByText('等待中').waitFor();
    await drawer.getByText(/计划于/).waitFor();
    await screenshot(page, 'sop-monitor-enrollment');
    await drawer.getByRole('button', { name: 'Close' }).or(drawer.locator('.el-drawer__close-btn')).first().click();

    // A third customer adds the member while the page is open: the counts arrive over the socket
    // (sop.progress), not by reloading the page or polling the monitor.
    await page.locator('[data-test="monitor-live"]', { hasText: '实时更新' }).waitFor();
    await page.evaluate(() => ((globalThis as unknown as { marker: string }).marker = 'same page'));
    const polls: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes(`/api/v1/sop/templates/${templateId}/monitor`)) polls.push(r.url());
    });
    control.scanQr({ state: 'card-LiNa', customer: { name: '冯丽', gender: 2 } });
    await enrolled(3);
    await page.locator('[data-test="enrolled-active"]').getByText('3', { exact: true }).waitFor({ timeout: 30_000 });
    await wait.getByText('3', { exact: true }).first().waitFor({ timeout: 30_000 });
    expect((await wait.innerText()).replace(/\s+/g, ' ')).to.match(/day-1 等待 3 3/);
    expect(polls).to.deep.equal([]);
    expect(await page.locator('[data-test="monitor-updated"]').innerText()).to.match(/已实时更新 \d+ 次/);
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: string }).marker)).to.equal('same page');
    // The list of enrollments follows the counts: the new customer is listed.
    await page.locator('[data-test="monitor-enrollment-list"] .el-table__row').nth(2).waitFor();
    await screenshot(page, 'sop-monitor');
    assertNoBrowserErrors(page);
  });

  it('lets compliance read templates and dry-run them but not edit or publish', async () => {
    const page = await newPage(web.context);
    await loginConsole(page, 'compliance');
    await page.goto('/console/sop');
    await page.locator('[data-test="sop-list"]').getByText('birthday-care').click();
    await page.waitForURL(/\/console\/sop\/[0-9a-f-]{36}$/);
    await page.getByRole('tab', { name: '试运行' }).waitFor();
    expect(await page.locator('[data-test="sop-new"]').count()).to.equal(0);
    expect(await page.locator('[data-test="sop-save"]').count()).to.equal(0);
    expect(await page.locator('[data-test="sop-publish"]').count()).to.equal(0);
    expect(await page.locator('[data-test="sop-key"]').isDisabled()).to.equal(true);
    assertNoBrowserErrors(page);
  });
});
