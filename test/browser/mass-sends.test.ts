import { expect } from 'chai';
import { sql } from 'kysely';
import { until } from '../wecom.js';
import { assertNoBrowserErrors, loginConsole, newPage, screenshot, useBrowserApp } from '../browser.js';
import { DEMO_CORP_ID } from '../../src/demo/seed.js';

describe('mass sends in the console (browser)', function () {
  this.timeout(240_000);

  // The dispatcher polls often and the result sync runs every second, so the test waits on WeCom, not on timers.
  const web = useBrowserApp({ DEMO_CUSTOMERS: '60', OUTBOX_POLL_MS: '300', OUTBOX_RESULT_SYNC_MS: '1000' });
  before(async () => {
    // Whatever the hour: no quiet hours, so the tasks are handed to WeCom at once (an admin's setting).
    const admin = await web.app.client().login('admin');
    const r = await admin.request('PUT', '/api/v1/settings/outbound.quietHours', { value: { start: '00:00', end: '00:00', timezone: 'Asia/Shanghai' } });
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
  });

  /** Two members with two customers each, every customer with exactly one live WeCom relation. */
  async function audience(): Promise<{ cifNo: string; userid: string }[]> {
    const { rows } = await sql<{ cif_no: string; userid: string }>`
      SELECT c.cif_no, fr.userid FROM external_contacts ec
        JOIN customers c ON c.id = ec.customer_id
        JOIN follow_relations fr ON fr.corp_id = ec.corp_id AND fr.external_userid = ec.external_userid AND fr.deleted_at IS NULL
       WHERE ec.corp_id = ${DEMO_CORP_ID}
         AND (SELECT count(*) FROM follow_relations x WHERE x.corp_id = ec.corp_id AND x.external_userid = ec.external_userid AND x.deleted_at IS NULL) = 1
         AND (SELECT count(*) FROM external_contacts y WHERE y.customer_id = c.id) = 1
       ORDER BY fr.userid, c.cif_no`.execute(web.app.database.db);
    const byMember = new Map<string, typeof rows>();
    for (const r of rows) byMember.set(r.userid, [...(byMember.get(r.userid) ?? []), r]);
    const picked = [...byMember.values()].filter((l) => l.length >= 2).slice(0, 2).flatMap((l) => l.slice(0, 2));
    expect(picked).to.have.length(4);
    return picked.map((p) => ({ cifNo: p.cif_no, userid: p.userid }));
  }

  it('start a mass send and watch it reach 100 %', async () => {
    const customers = await audience();
    const members = [...new Set(customers.map((c) => c.userid))];
    const ops = await web.app.client().login('ops');
    const seg = await ops.post('/api/v1/segments', { name: '防诈提醒试点客户', definition: { method: 'fixed' }, members: { add: customers.map((c) => c.cifNo) } });
    expect(seg.status, JSON.stringify(seg.body)).to.equal(201);

    const page = await newPage(web.context);
    await loginConsole(page, 'ops');
    await page.getByText('自动化', { exact: true }).click();
    await page.getByRole('menuitem', { name: '企业群发' }).click();
    await page.waitForURL(/\/console\/mass-sends$/);
    await page.locator('[data-test="ms-new"]').click();
    await page.waitForURL(/\/console\/mass-sends\/new$/);

    await page.locator('[data-test="ms-name"]').fill('防诈骗提醒（试点）');
    await page.locator('.el-select', { hasText: '选择已审核通过的素材' }).click();
    await page.getByRole('option', { name: '防诈骗提醒（文本）' }).click();
    await page.locator('[data-test="ms-preview"]').getByText('星河银行工作人员不会以任何理由索要您的短信验证码').waitFor();
    await page.locator('.el-select', { hasText: '选择客群' }).click();
    await page.getByRole('option', { name: /防诈提醒试点客户/ }).click();

    // The preflight: what the gate says and who would get it, before anything is created.
    const check = page.locator('[data-test="ms-preflight"]');
    await check.locator('[data-test="ms-reachable"]').getByText('4', { exact: true }).waitFor();
    expect(await check.locator('[data-test="ms-verdict"]').innerText()).to.equal('通过');
    expect(await check.locator('[data-test="ms-gate"]').innerText()).to.equal('4 / 0 / 0');
    expect(await check.locator('[data-test="ms-members"]').innerText()).to.equal('2 位');
    await screenshot(page, 'mass-send-compose');
    expect(await web.app.database.db.selectFrom('mass_sends').select('id').execute()).to.have.length(0);

    await page.locator('[data-test="ms-submit"]').click();
    await page.getByRole('dialog').getByRole('button', { name: '发送' }).click();
    await page.waitForURL(/\/console\/mass-sends\/[0-9a-f-]{36}$/);
    const id = page.url().split('/').at(-1)!;

    // From here on the page must not reload nor fetch the send again: the bar moves on live events only.
    await page.evaluate(() => ((globalThis as unknown as { marker: string }).marker = 'same page'));
    const refetches: string[] = [];
    page.on('request', (req) => {
      if (req.method() === 'GET' && new URL(req.url()).pathname === `/api/v1/mass-sends/${id}`) refetches.push(req.url());
    });

    // The fan-out writes one row per customer and the dispatcher hands each member one task in WeCom.
    const msgids = await until(async () => {
      const rows = await web.app.database.db.selectFrom('outbox').select(['sender', 'msgid']).where('ref_type', '=', 'mass_send').where('ref_id', '=', id).execute();
      return rows.length === 4 && rows.every((r) => r.msgid) ? new Map(rows.map((r) => [r.sender!, r.msgid!])) : undefined;
    }, 60_000, 'the tasks to reach WeCom');
    expect([...msgids.keys()].sort()).to.deep.equal(members.sort());
    const bar = page.locator('[data-test="ms-progress"]');
    await page.locator('[data-test="ms-members-table"]').getByText('待成员确认').first().waitFor();
    expect(await bar.getAttribute('data-percent')).to.equal('0');

    // The first member confirms in WeCom; the result sync and the watch move the bar to 50 %.
    web.app.wecom.sandbox!.control.confirmMassSend({ msgid: msgids.get(members[0]!)! });
    await page.locator('[data-test="ms-progress"][data-percent="50"]').waitFor({ timeout: 45_000 });
    await page.locator('[data-test="ms-members-table"]').getByText('已确认发送').waitFor();
    await screenshot(page, 'mass-send-half');

    web.app.wecom.sandbox!.control.confirmMassSend({ msgid: msgids.get(members[1]!)! });
    await page.locator('[data-test="ms-progress"][data-percent="100"]').waitFor({ timeout: 45_000 });
    await page.locator('[data-test="ms-status"]').getByText('已完成').waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-test="ms-progress-text"]').innerText()).to.equal('已结束 4 / 4 条（100%）');
    // The per-customer list followed the events too.
    await until(async () => (await page.locator('[data-test="ms-recipients"] .el-tag', { hasText: '已送达' }).count()) === 4, 15_000, 'four delivered customers in the list');
    await screenshot(page, 'mass-send-complete');

    expect(await page.evaluate(() => (globalThis as unknown as { marker?: string }).marker)).to.equal('same page');
    expect(refetches, 'the send was fetched again instead of following the events').to.deep.equal([]);
    const delivered = await web.app.wecom.sandbox!.control.received({ kind: 'mass' });
    expect(delivered.filter((m) => [...msgids.values()].includes(String(m.ref)))).to.have.length(4);

    await page.getByRole('button', { name: '返回列表' }).click();
    const row = page.locator('[data-test="ms-list"] .el-table__row', { hasText: '防诈骗提醒（试点）' });
    expect(await row.innerText()).to.contain('已完成');
    assertNoBrowserErrors(page);
  });

  it('cancels a scheduled send from its page, and branch managers only read', async () => {
    const ops = await web.app.client().login('ops');
    const seg = (await ops.get('/api/v1/segments?limit=1')).body.items[0] as { id: string };
    const material = (await ops.get('/api/v1/materials?status=approved&limit=200')).body.items.find((m: { title: string }) => m.title === '防诈骗提醒');
    const created = await ops.post('/api/v1/mass-sends', {
      name: '明早的提醒', audience: { segmentId: seg.id }, materialId: material.id, purpose: 'service', scheduledAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);

    const bmPage = await newPage(web.context);
    await loginConsole(bmPage, 'bm.liuyang');
    await bmPage.goto(`/console/mass-sends/${created.body.id}`);
    await bmPage.locator('[data-test="ms-status"]').getByText('待发送').waitFor();
    expect(await bmPage.locator('[data-test="ms-cancel"]').count()).to.equal(0);
    await bmPage.goto('/console/mass-sends');
    await bmPage.locator('[data-test="ms-list"]').getByText('明早的提醒').waitFor();
    expect(await bmPage.locator('[data-test="ms-new"]').count()).to.equal(0);
    assertNoBrowserErrors(bmPage);

    const other = await web.newContext();
    const page = await newPage(other);
    await loginConsole(page, 'ops');
    await page.goto(`/console/mass-sends/${created.body.id}`);
    await page.locator('[data-test="ms-progress-text"]').getByText('计划于').waitFor();
    await page.locator('[data-test="ms-cancel"]').click();
    await page.getByRole('dialog').getByRole('button', { name: '取消群发' }).click();
    await page.locator('[data-test="ms-status"]').getByText('已取消').waitFor();
    expect((await web.app.database.db.selectFrom('mass_sends').select('status').where('id', '=', created.body.id).executeTakeFirstOrThrow()).status).to.equal('cancelled');
    await screenshot(page, 'mass-send-cancelled');
    assertNoBrowserErrors(page);
  });
});
