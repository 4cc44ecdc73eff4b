import { expect } from 'chai';
import { sql } from 'kysely';
import type { Locator, Page } from 'playwright-core';
import catalogue from '../../data/bank/products.json' with { type: 'json' };
import { createLogger } from '../../src/platform/logger.js';
import { runScoring } from '../../src/scoring/index.js';
import { recomputeFactTags } from '../../src/tags/index.js';
import { testCipher } from '../harness.js';
import { assertNoBrowserErrors, loginConsole, newPage, screenshot, useBrowserApp } from '../browser.js';

async function pick(page: Page, select: Locator, option: string): Promise<void> {
  await select.click();
  await page.locator('.el-select-dropdown__item:visible').filter({ hasText: new RegExp(`^${option}$`) }).first().click();
}

interface Target { id: string; cif_no: string; name: string; mobile_enc: string; products: string[]; external_userid: string; userid: string; branch_id: string }

/**
 * Customer search and the 360 page on 200 demo customers, with fact tags and scores computed by the real jobs,
 * and one customer's WeCom contact unlinked and bound again by staff (so the link history and the timeline
 * have entries with their causes).
 */
describe('customers (browser)', function () {
  this.timeout(180_000);
  let target: Target;
  let mobile: string;

  const web = useBrowserApp({ DEMO_CUSTOMERS: '200' });
  before(async () => {
    const db = web.app.database.db;
    const now = new Date();
    await recomputeFactTags(db, { now });
    await runScoring({ db, logger: createLogger({ level: 'silent' }) }, { now });
    const { rows } = await sql<Target>`
      SELECT c.id, c.cif_no, c.name, c.mobile_enc, c.products, ec.external_userid, fr.userid, c.branch_id
        FROM customers c JOIN external_contacts ec ON ec.customer_id = c.id
        JOIN follow_relations fr ON fr.corp_id = ec.corp_id AND fr.external_userid = ec.external_userid AND fr.deleted_at IS NULL
       WHERE cardinality(c.products) > 0 AND c.risk_level IS NOT NULL AND c.mobile_enc IS NOT NULL
         AND (SELECT count(*) FROM customers o WHERE o.name = c.name) = 1
       ORDER BY c.cif_no LIMIT 1`.execute(db);
    target = rows[0]!;
    mobile = testCipher().decrypt(target.mobile_enc);
    const admin = await web.app.client().login('admin');
    expect((await admin.post('/api/v1/customers/links/unlink', { externalUserid: target.external_userid, reason: '客户更换了微信号' })).status).to.equal(204);
    const bound = await admin.post('/api/v1/customers/links', { externalUserid: target.external_userid, cifNo: target.cif_no, mobile, reason: '网点核验身份证后重新绑定' });
    expect(bound.status, JSON.stringify(bound.body)).to.equal(200);
  });

  it('searches customers by name, lists them masked, and opens the 360 page with profile, tier, risk, products, tags, scores, WeCom and the timeline', async () => {
    const page = await newPage(web.context);
    await loginConsole(page, 'ops');
    await page.locator('.el-sub-menu__title', { hasText: /^客户$/ }).click();
    await page.getByRole('menuitem', { name: '客户查询', exact: true }).click();
    await page.waitForURL(/\/console\/customers$/);
    await page.getByText('共 200 条').waitFor();
    await page.locator('[data-test="customer-search"]').fill(target.name);
    await page.locator('[data-test="search"]').click();
    await page.getByText('共 1 条').waitFor();
    const row = page.locator('[data-test="customers"] .el-table__body tr').first();
    expect(await row.innerText()).to.include(target.cif_no);
    const masked = await row.locator('[data-test="masked-mobile"]').innerText();
    expect(masked).to.equal(`${mobile.slice(0, 3)}****${mobile.slice(-4)}`);
    await screenshot(page, 'console-customers');

    await row.getByText(target.name).click();
    await page.waitForURL(new RegExp(`/console/customers/${target.id}$`));
    await page.locator('[data-test="profile"]').waitFor();
    expect(await page.locator('[data-test="customer-name"]').innerText()).to.equal(target.name);
    expect(await page.locator('[data-test="mobile"]').innerText()).to.equal(masked);
    expect(await page.locator('[data-test="reveal"]').count()).to.equal(0); // operations staff may not reveal
    expect(await page.locator('[data-test="aum-tier"]').innerText()).to.be.oneOf(['大众', '潜力', '财富', '私行']);
    expect(await page.locator('[data-test="risk-expiry"]').innerText()).to.match(/^\d{4}-\d{2}-\d{2}$/);
    const productNames = (catalogue as { id: string; name: string }[]).filter((p) => target.products.includes(p.id)).map((p) => p.name);
    await page.locator('[data-test="products"]').getByText(productNames[0]!).waitFor();
    for (const name of productNames) expect(await page.locator('[data-test="products"]').innerText()).to.include(name);
    const tags = await page.locator('[data-test="tags"]').innerText();
    expect(tags).to.include('AUM分层');
    expect(tags).to.include('客户数据'); // the source of fact tags
    expect(await page.locator('[data-test="scores"]').innerText()).to.match(/RFM分类\s+重要|RFM分类\s+一般/);
    const staffName = (await web.app.database.db.selectFrom('staff').select('display_name').where('wecom_userid', '=', target.userid).executeTakeFirstOrThrow()).display_name;
    await page.locator('[data-test="wecom"]').getByText(`${staffName}（${target.userid}）`).waitFor();
    const links = await page.locator('[data-test="links"]').innerText();
    expect(links).to.include('人工绑定');
    expect(links).to.include('网点核验身份证后重新绑定');
    expect(links).to.include('解除关联');
    const timeline = await page.locator('[data-test="timeline"]').innerText();
    expect(timeline).to.include('关联档案');
    expect(timeline).to.include('解除关联');
    // Staff causes by name, though operations staff may not list staff.
    const admin = await web.app.database.db.selectFrom('staff').select(['id', 'display_name']).where('username', '=', 'admin').executeTakeFirstOrThrow();
    expect(timeline).to.include(`起因：员工（${admin.display_name}）`);
    expect(timeline).to.not.include(admin.id);
    expect(links).to.include(admin.display_name);
    await screenshot(page, 'console-customer-360');
    await page.locator('[data-test="timeline"]').scrollIntoViewIfNeeded();
    await screenshot(page, 'console-customer-360-timeline');
    assertNoBrowserErrors(page);
  });

  it('lets an administrator reveal the full record, which is audited, and filters the list with the builder', async () => {
    const page = await newPage(web.context);
    await loginConsole(page, 'admin');
    await page.goto(`/console/customers/${target.id}`);
    await page.locator('[data-test="reveal"]').click();
    await page.locator('[data-test="mobile"]').getByText(mobile).waitFor();
    const audit = await web.app.database.db.selectFrom('audit_log').select('detail').where('action', '=', 'customers.view').where('target_id', '=', target.id)
      .orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(audit.detail).to.deep.equal({ revealed: true });

    await page.goto('/console/customers');
    await page.getByText('共 200 条').waitFor();
    await page.getByRole('button', { name: '按条件筛选' }).click();
    await page.locator('[data-test="add-condition"]').first().click();
    const condition = page.locator('[data-test="condition"]').first();
    await pick(page, condition.locator('[data-test="field"]'), 'AUM');
    await pick(page, condition.locator('[data-test="op"]'), '大于等于');
    await condition.locator('[data-test="value"] input').fill('500000');
    await condition.locator('[data-test="value"] input').press('Tab');
    await page.getByRole('button', { name: '按条件查询' }).click();
    const expected = (await web.app.database.db.selectFrom('customers').select(sql<number>`count(*)::int`.as('n')).where('aum', '>=', '500000').executeTakeFirstOrThrow()).n;
    expect(expected).to.be.within(2, 199);
    await page.getByText(`共 ${expected} 条`).waitFor();
    assertNoBrowserErrors(page);
  });

  it('shows a branch manager only the customers of their branch', async () => {
    const page = await newPage(web.context);
    await loginConsole(page, 'bm.liuyang');
    await page.goto('/console/customers');
    const mine = (await web.app.database.db.selectFrom('customers').select(sql<number>`count(*)::int`.as('n')).where('branch_id', '=', 'br-hz-xihu').executeTakeFirstOrThrow()).n;
    expect(mine).to.be.within(1, 199);
    await page.getByText(`共 ${mine} 条`).waitFor();
    expect(await page.getByText('仅显示本网点客户').count()).to.equal(1);
    assertNoBrowserErrors(page);
  });
});
