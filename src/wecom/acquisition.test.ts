import { expect } from 'chai';
import { sql } from 'kysely';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { bootApp, type TestApp } from '../../test/harness.js';
import { settled, until } from '../../test/wecom.js';
import { DEMO_CORP_ID } from '../demo/seed.js';
import { EVENTS } from '../platform/events.js';

describe('acquisition through WeCom', function () {
  this.timeout(60_000);
  let app: TestApp;
  before(async () => {
    app = await bootApp({ DEMO_CUSTOMERS: '200' });
  });
  after(() => app.close());

  const createCode = async (body: Record<string, unknown>) => {
    const ops = await app.client().login('ops');
    const r = await ops.post('/api/v1/wecom/contact-ways', body);
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    return r.body as { id: string; state: string; configId: string; qrCode: string };
  };

  it('creates a channel QR code in WeCom with its state, and refuses a taken state', async () => {
    const code = await createCode({ name: '西湖支行大堂', members: ['ZhangWei'], state: 'branch-xihu-lobby' });
    const way = app.wecom.sandbox!.world.contactWays.get(code.configId)!;
    expect(way.state).to.equal('branch-xihu-lobby');
    expect(way.user).to.deep.equal(['ZhangWei']);
    expect(code.qrCode).to.match(/^https?:\/\//);
    const ops = await app.client().login('ops');
    expect((await ops.post('/api/v1/wecom/contact-ways', { name: '重复', members: ['LiNa'], state: 'branch-xihu-lobby' })).status).to.equal(409);
    const tooLong = await ops.post('/api/v1/wecom/contact-ways', { name: '太长', members: ['LiNa'], state: 'x'.repeat(31) });
    expect(tooLong.status).to.equal(400);
    expect(tooLong.body.error.issues[0].path).to.equal('body.state');
    const unknown = await ops.post('/api/v1/wecom/contact-ways', { name: '无人', members: ['Nobody'] });
    expect(unknown.status).to.equal(400);
    expect(await app.database.db.selectFrom('wecom_contact_ways').select('id').where('name', '=', '无人').executeTakeFirst()).to.equal(undefined);
  });

  it('attributes a customer who scans the code to it, and sends its welcome within the window, once', async () => {
    const code = await createCode({ name: '理财沙龙', members: ['ZhangWei'], welcomeText: '您好，我是{客户经理}，欢迎参加理财沙龙。' });
    const added: unknown[] = [];
    const off = app.events.on(EVENTS.contactAdded, (e) => void added.push(e));
    const scan = app.wecom.sandbox!.control.scanQr({ state: code.state, customer: { name: '沙龙来宾' } });
    expect(scan.welcomeCode).to.be.a('string');
    await settled(app);
    off();

    const relation = await app.database.db
      .selectFrom('follow_relations')
      .selectAll()
      .where('corp_id', '=', DEMO_CORP_ID)
      .where('external_userid', '=', scan.externalUserid)
      .executeTakeFirstOrThrow();
    expect(relation.userid).to.equal('ZhangWei');
    expect(relation.state).to.equal(code.state);
    expect(relation.contact_way_id).to.equal(code.id);
    const contact = await app.database.db.selectFrom('external_contacts').select('name').where('external_userid', '=', scan.externalUserid).executeTakeFirstOrThrow();
    expect(contact.name).to.equal('沙龙来宾');

    const welcomes = app.wecom.sandbox!.control.received({ to: scan.externalUserid, kind: 'welcome' });
    expect(welcomes).to.have.length(1);
    expect(JSON.stringify(welcomes[0]!.content)).to.contain('您好，我是张伟，欢迎参加理财沙龙。');
    const row = await app.database.db.selectFrom('outbox').selectAll().where('idempotency_key', '=', `welcome:${DEMO_CORP_ID}:${scan.welcomeCode}`).executeTakeFirstOrThrow();
    expect(row.status).to.equal('sent');
    expect(row.cause_type).to.equal('system');
    expect(row.cause_id).to.match(/^wecom-event:\d+$/);
    expect(added).to.have.length(1);
    expect(added[0]).to.deep.include({ name: 'contact.added', cause: { type: 'customer', id: scan.externalUserid } });

    const ops = await app.client().login('ops');
    const listed = (await ops.get('/api/v1/wecom/contact-ways')).body.items.find((w: { id: string }) => w.id === code.id);
    expect(listed.customers_total).to.equal(1);
  });

  it('sends the default welcome when the code has none', async () => {
    const code = await createCode({ name: '无欢迎语', members: ['LiNa'] });
    const scan = app.wecom.sandbox!.control.scanQr({ state: code.state });
    await settled(app);
    const welcomes = app.wecom.sandbox!.control.received({ to: scan.externalUserid, kind: 'welcome' });
    expect(JSON.stringify(welcomes[0]!.content)).to.contain('我是星河银行客户经理李娜');
  });

  it('records 41051 when another app answered first, and does not retry', async () => {
    const code = await createCode({ name: '抢答', members: ['ZhangWei'] });
    app.wecom.sandbox!.control.addFault({ api: 'externalcontact/send_welcome_msg', errcode: 41051, count: 1 });
    const scan = app.wecom.sandbox!.control.scanQr({ state: code.state });
    await settled(app);
    const key = `welcome:${DEMO_CORP_ID}:${scan.welcomeCode}`;
    const row = await until(() => app.database.db.selectFrom('outbox').selectAll().where('idempotency_key', '=', key).where('status', '!=', 'sending').executeTakeFirst());
    expect(row.status).to.equal('failed');
    expect(row.errcode).to.equal(41051);
    expect(row.attempts).to.equal(1);
    // The add itself is still processed.
    const relation = await app.database.db.selectFrom('follow_relations').select('state').where('external_userid', '=', scan.externalUserid).executeTakeFirstOrThrow();
    expect(relation.state).to.equal(code.state);
  });

  it('sends no welcome when the chat already began', async () => {
    const scan = app.wecom.sandbox!.control.scanQr({ userid: 'ZhangWei', chatStarted: true });
    expect(scan.welcomeCode).to.equal(null);
    await settled(app);
    expect(app.wecom.sandbox!.control.received({ to: scan.externalUserid, kind: 'welcome' })).to.have.length(0);
    expect(await app.database.db.selectFrom('follow_relations').select('userid').where('external_userid', '=', scan.externalUserid).executeTakeFirst()).to.exist;
  });

  it('marks who ended a relation, and says so in a domain event', async () => {
    const world = app.wecom.sandbox!.world;
    const [one, two] = [...world.follows.values()].filter((f) => f.userid === 'WangFang');
    const seen: string[] = [];
    const offs = [
      app.events.on(EVENTS.contactDeletedByCustomer, (e) => void seen.push(`customer:${e.payload.externalUserid}`)),
      app.events.on(EVENTS.contactDeletedByMember, (e) => void seen.push(`member:${e.payload.externalUserid}`)),
    ];
    app.wecom.sandbox!.control.customerDeletesMember({ userid: 'WangFang', externalUserid: one!.external_userid });
    app.wecom.sandbox!.control.memberDeletesCustomer({ userid: 'WangFang', externalUserid: two!.external_userid });
    await settled(app);
    offs.forEach((off) => off());
    const rows = await app.database.db
      .selectFrom('follow_relations')
      .select(['external_userid', 'deleted_by'])
      .where('userid', '=', 'WangFang')
      .where('external_userid', 'in', [one!.external_userid, two!.external_userid])
      .execute();
    expect(Object.fromEntries(rows.map((r) => [r.external_userid, r.deleted_by]))).to.deep.equal({ [one!.external_userid]: 'customer', [two!.external_userid]: 'member' });
    expect(seen.sort()).to.deep.equal([`customer:${one!.external_userid}`, `member:${two!.external_userid}`].sort());
  });

  it('processes a callback once when WeCom retries it after no answer', async () => {
    let attempts = 0;
    // Between the sandbox and the product: the first attempt gets no answer at all.
    const proxy = http.createServer((req, res) => {
      attempts++;
      if (attempts === 1) return req.socket.destroy();
      const forward = http.request(`${app.url}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      req.pipe(forward);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    const control = app.wecom.sandbox!.control;
    control.setCallbackUrl(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}/wecom/callback/${DEMO_CORP_ID}`);
    try {
      const scan = control.scanQr({ userid: 'SunHao', chatStarted: true });
      const [delivery] = (await control.waitForDeliveries()).filter((d) => d.id === scan.deliveryId);
      expect(delivery!.status).to.equal('delivered');
      expect(delivery!.attempts.length).to.equal(2);
      await settled(app);
      const events = await app.database.db.selectFrom('wecom_events').selectAll().where(sql<boolean>`payload->>'ExternalUserID' = ${scan.externalUserid}`).execute();
      expect(events).to.have.length(1);
      expect(events[0]!.status).to.equal('processed');
    } finally {
      control.setCallbackUrl(`${app.url}/wecom/callback/${DEMO_CORP_ID}`);
      await new Promise((r) => proxy.close(r));
    }
  });
});
