import { expect } from 'chai';
import { until } from '../wecom.js';
import { assertNoBrowserErrors, loginConsole, newPage, openMenu, screenshot, useBrowserApp } from '../browser.js';

describe('digital business card (browser)', function () {
  this.timeout(180_000);
  let owner: { id: string; username: string; name: string; userid: string };
  let follower: { externalUserid: string; name: string };
  let sharePath: string;

  const web = useBrowserApp({ DEMO_CUSTOMERS: '40' }, 'phone');
  before(async () => {
    const db = web.app.database.db;
    // The account manager with the most WeCom customers, so one of them can be shared with.
    const staff = await db
      .selectFrom('follow_relations as fr')
      .innerJoin('staff as s', (j) => j.onRef('s.wecom_userid', '=', 'fr.userid').onRef('s.corp_id', '=', 'fr.corp_id'))
      .select(['s.id', 's.username', 's.display_name', 's.wecom_userid', db.fn.countAll<number>().as('n')])
      .where('fr.deleted_at', 'is', null)
      .groupBy(['s.id', 's.username', 's.display_name', 's.wecom_userid'])
      .orderBy('n', 'desc')
      .executeTakeFirstOrThrow();
    owner = { id: staff.id, username: staff.username, name: staff.display_name, userid: staff.wecom_userid! };
    const f = await db
      .selectFrom('follow_relations as fr')
      .innerJoin('external_contacts as ec', (j) => j.onRef('ec.corp_id', '=', 'fr.corp_id').onRef('ec.external_userid', '=', 'fr.external_userid'))
      .select(['ec.external_userid', 'ec.name'])
      .where('fr.userid', '=', owner.userid)
      .where('fr.deleted_at', 'is', null)
      .orderBy('ec.external_userid')
      .executeTakeFirstOrThrow();
    follower = { externalUserid: f.external_userid, name: f.name };

    // The member fills in the card and shares it with a customer in the chat (the sidebar's calls).
    const member = await web.app.client().login(owner.username);
    const saved = await member.request('PUT', '/api/v1/cards/me', {
      title: '高级理财经理', qualifications: ['AFP金融理财师', '基金从业资格'], theme: 'classic',
      intro: '在星河银行服务八年，擅长家庭资产配置与养老规划，欢迎随时咨询。',
      featuredProductIds: ['p-dep-lcd-3y', 'p-wm-fi-r2-180', 'p-ins-ci'],
    });
    expect(saved.status, JSON.stringify(saved.body)).to.equal(200);
    const shared = await member.post('/api/v1/cards/shares', { externalUserid: follower.externalUserid, channel: 'chat' });
    expect(shared.status, JSON.stringify(shared.body)).to.equal(201);
    const url = new URL(shared.body.url as string);
    sharePath = `${url.pathname}${url.search}`;
  });

  it('open a card page, simulate a scan, and see the new customer attributed to the card', async () => {
    const page = await newPage(web.context);
    await page.goto(sharePath);
    await page.getByRole('heading', { name: owner.name }).waitFor();
    await page.getByText('高级理财经理').waitFor();
    await page.getByText('AFP金融理财师').waitFor();
    expect(await page.locator('[data-test="card-product"]').count()).to.equal(3);
    await page.getByText('风险提示：理财非存款、产品有风险、投资须谨慎').waitFor();

    // The QR code on the page is the share's own: its state names the share.
    const qr = page.locator('[data-test="card-qr"] img');
    const state = await qr.getAttribute('data-state');
    expect(state).to.match(/^cs-[A-Za-z0-9]{10}$/);
    // The image really loaded (through the product, from the sandbox playing WeCom's image host).
    await page.waitForFunction(`Boolean(document.querySelector('[data-test="card-qr"] img')?.naturalWidth)`);
    await screenshot(page, 'card-page-phone');

    // A friend of the customer scans it in WeChat (the sandbox's simulate/scan with the state).
    const scanned = await fetch(`${web.app.wecom.sandbox!.url}/sandbox/simulate/scan`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ state, customer: { name: '林晓雨' } }),
    });
    expect(scanned.status).to.equal(200);
    const scan = (await scanned.json()) as { externalUserid: string; userid: string };
    expect(scan.userid).to.equal(owner.userid);

    // Attributed to the card and to the customer the member shared it with.
    const ops = await web.app.client().login('ops');
    const referral = await until(async () => {
      const r = await ops.get('/api/v1/cards/referrals');
      return (r.body.items as { externalUserid: string }[]).find((i) => i.externalUserid === scan.externalUserid);
    }, 20_000, 'the referral');
    expect(referral).to.deep.include({ staffId: owner.id, contactName: '林晓雨', shareToken: state!.slice(3) });
    expect((referral as unknown as { referrer: unknown }).referrer).to.deep.include({ type: 'customer', name: follower.name });

    // And in the console's 名片数据 page.
    const consolePage = await newPage(await web.newContext('desktop'));
    await loginConsole(consolePage, 'ops');
    await openMenu(consolePage, '数据看板', '名片数据');
    await consolePage.waitForURL(/\/console\/cards$/);
    const row = consolePage.locator('[data-test="card-referrals"] .el-table__row', { hasText: '林晓雨' });
    await row.waitFor();
    expect(await row.innerText()).to.contain(follower.name).and.contain(owner.name).and.contain('客户推荐');
    expect(Number(await consolePage.locator('[data-test="total-added"]').innerText())).to.equal(1);
    expect(Number(await consolePage.locator('[data-test="total-scans"]').innerText())).to.equal(1);
    expect(Number(await consolePage.locator('[data-test="total-views"]').innerText())).to.be.at.least(1);
    await consolePage.locator('[data-test="card-members"] .el-table__row', { hasText: owner.name }).waitFor();
    await consolePage.locator('canvas').first().waitFor();
    await consolePage.waitForTimeout(600); // the chart's 300 ms drawing animation
    await screenshot(consolePage, 'console-card-stats');
    assertNoBrowserErrors(page);
    assertNoBrowserErrors(consolePage);
  });

  it('shares the card on from the page, keeping the link of whoever shared it', async () => {
    const page = await newPage(web.context);
    await page.goto(sharePath);
    await page.getByRole('button', { name: '分享名片给好友' }).click();
    const link = page.locator('[data-test="share-link"]');
    await link.waitFor();
    const text = await link.innerText();
    expect(text).to.match(new RegExp(`/card/${owner.id}\\?s=[A-Za-z0-9]{10}$`));
    const token = text.split('?s=')[1]!;
    const share = await web.app.database.db.selectFrom('card_shares').select(['sharer_type', 'referrer_external_userid']).where('token', '=', token).executeTakeFirstOrThrow();
    expect(share).to.deep.equal({ sharer_type: 'visitor', referrer_external_userid: follower.externalUserid });
    await screenshot(page, 'card-share-dialog');
    assertNoBrowserErrors(page);
  });

  it('opens a product from the card: the product page renders with its disclosure and leads back to the card', async () => {
    const page = await newPage(web.context);
    await page.goto(sharePath);
    await page.locator('[data-test="card-product"]', { hasText: '星河恒享固收增强180天持有期理财' }).click();
    await page.waitForURL(/\/p\/p-wm-fi-r2-180\?from=/);
    await page.locator('[data-test="product-name"]', { hasText: '星河恒享固收增强180天持有期理财' }).waitFor();
    const disclosures = page.locator('[data-test="product-disclosures"]');
    await disclosures.getByText('理财非存款、产品有风险、投资须谨慎').waitFor();
    expect(await disclosures.innerText()).to.contain('风险等级为R2');
    await page.getByText('风险等级 R2（中低风险）').waitFor();
    await screenshot(page, 'product-page-phone');
    await page.locator('[data-test="back-to-card"]').click();
    await page.waitForURL(new RegExp(`/card/${owner.id}\\?s=`));
    await page.getByRole('heading', { name: owner.name }).waitFor();
    assertNoBrowserErrors(page);
  });
  it('the member edits the card in the sidebar, shares it to the customer in the chat, and sees it opened live', async () => {
    const sidebarContext = await web.newContext('sidebar');
    const sidebar = await newPage(sidebarContext);
    await sidebar.goto('/sidebar/');
    await sidebar.locator(`[data-test="member-${owner.userid}"]`).click();
    await sidebar.locator(`[data-test="contact-${follower.externalUserid}"]`).click();
    await sidebar.locator('[data-test="context"]').waitFor();
    await sidebar.getByRole('tab', { name: '名片' }).click();
    const tab = sidebar.locator('[data-test="tab-card"]');
    await tab.locator('[data-test="card-stats"]').waitFor();
    await tab.getByPlaceholder('向客户介绍您自己').fill('专注养老规划与稳健配置，周末也可预约面谈。');
    await tab.getByRole('button', { name: '翡翠绿' }).click();
    await tab.locator('[data-test="card-save"]').click();
    await sidebar.getByText('名片已保存').waitFor();
    const profile = await web.app.database.db.selectFrom('card_profiles').select(['intro', 'theme']).where('staff_id', '=', owner.id).executeTakeFirstOrThrow();
    expect(profile).to.deep.equal({ intro: '专注养老规划与稳健配置，周末也可预约面谈。', theme: 'jade' });

    await tab.locator('[data-test="card-share"]').click();
    const link = tab.locator('[data-test="card-share-link"]');
    await link.waitFor();
    const url = new URL(await link.innerText());
    const token = url.searchParams.get('s')!;
    const share = await web.app.database.db.selectFrom('card_shares').select(['recipient_external_userid', 'channel']).where('token', '=', token).executeTakeFirstOrThrow();
    expect(share).to.deep.equal({ recipient_external_userid: follower.externalUserid, channel: 'chat' });

    // The customer opens it: the new intro and theme, and the member sees it in the tab at once.
    const page = await newPage(web.context);
    await page.goto(`${url.pathname}${url.search}`);
    await page.getByText('专注养老规划与稳健配置，周末也可预约面谈。').waitFor();
    const header = await page.locator('[data-test="card-head"]').evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(el).backgroundColor);
    expect(header).to.equal('rgb(4, 120, 87)');
    await tab.getByText(`您分享给${follower.name}的名片被打开了`).waitFor();
    await screenshot(sidebar, 'sidebar-card-tab');
    await screenshot(page, 'card-page-jade');
    assertNoBrowserErrors(sidebar);
    assertNoBrowserErrors(page);
  });
});
