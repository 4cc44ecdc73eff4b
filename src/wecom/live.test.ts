import { expect } from 'chai';
import { bootApp, type TestApp } from '../../test/harness.js';
import { liveClients } from '../../test/sockets.js';
import { settled } from '../../test/wecom.js';

describe('live updates from WeCom (new customers, the callback inbox)', function () {
  this.timeout(90_000);
  let app: TestApp;
  const open = liveClients(() => app);
  const staffId = async (username: string) => (await app.database.db.selectFrom('staff').select('id').where('username', '=', username).executeTakeFirstOrThrow()).id;
  const createCode = async (name: string, members: string[]) => {
    const ops = await app.client().login('ops');
    const r = await ops.post('/api/v1/wecom/contact-ways', { name, members });
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    return r.body as { id: string; state: string };
  };

  before(async () => {
    app = await bootApp();
  });
  after(() => app.close());

  it('tells the member a customer added about the new customer, with the name and the code that brought them, and no other member', async () => {
    const mine = await open('am.zhangwei');
    const other = await open('am.lina');
    const code = await createCode('网点大堂立牌', ['ZhangWei']);
    const scan = app.wecom.sandbox!.control.scanQr({ state: code.state, customer: { name: '扫码新客' } });

    const got = await mine.until((e) => e.event === 'customer.new' && e.data.externalUserid === scan.externalUserid, 20_000, 'customer.new');
    expect(got.data).to.deep.include({ name: '扫码新客', userid: 'ZhangWei', state: code.state, corpId: app.wecom.sandbox!.world.corpId });
    expect(got.data.contactWay).to.deep.equal({ id: code.id, name: '网点大堂立牌' });
    expect(got.data.eventId).to.be.a('number');

    // Events reach a process's sockets in id order: a probe written after the alert arrives after anything before it.
    app.realtime!.toMember(await staffId('am.lina'), 'probe', { n: 1 });
    await other.until((e) => e.event === 'probe');
    expect(other.received.map((e) => e.event)).to.deep.equal(['probe']);
  });

  it('tells the console room a contact was added, naming the member and the code but not the customer', async () => {
    const admin = await open('admin');
    const member = await open('am.lina');
    const code = await createCode('理财讲座', ['LiNa']);
    const scan = app.wecom.sandbox!.control.scanQr({ state: code.state, customer: { name: '讲座来宾' } });

    const notice = await admin.until((e) => e.event === 'contact.added' && e.data.externalUserid === scan.externalUserid, 20_000, 'contact.added');
    expect(notice.data).to.deep.include({ userid: 'LiNa', memberName: '李娜', staffId: await staffId('am.lina'), branchId: 'br-hz-xihu', state: code.state, linked: false });
    expect(notice.data.contactWay).to.deep.equal({ id: code.id, name: '理财讲座' });
    expect(JSON.stringify(notice.data)).not.to.contain('讲座来宾');
    // The member gets the alert in their own room; the console notice is not for them.
    await member.until((e) => e.event === 'customer.new' && e.data.externalUserid === scan.externalUserid);
    expect(member.received.some((e) => e.event === 'contact.added')).to.equal(false);
  });

  it('streams each callback the inbox records to the console, then its processing, without the payload', async () => {
    const admin = await open('admin');
    const manager = await open('am.zhangwei');
    const code = await createCode('流式收件箱', ['ZhangWei']);
    const scan = app.wecom.sandbox!.control.scanQr({ state: code.state, customer: { name: '收件箱客户' } });

    const isAdd = (e: { event: string; data: Record<string, unknown> }) => e.event === 'wecom.inbox' && e.data.changeType === 'add_external_contact';
    const recorded = await admin.until((e) => isAdd(e) && e.data.status === 'received', 20_000, 'the recorded row');
    const processed = await admin.until((e) => isAdd(e) && e.data.id === recorded.data.id && e.data.status === 'processed', 20_000, 'the processed row');
    expect(recorded.data).to.include({ event: 'change_external_contact', seenCount: 1, failedAttempts: 0, error: null, processedAt: null });
    expect(processed.data.processedAt).to.be.a('string');
    expect(processed.data.eventId).to.be.greaterThan(recorded.data.eventId!);
    expect(Object.keys(recorded.data).sort()).to.deep.equal(
      ['changeType', 'corpId', 'dedupeKey', 'error', 'event', 'eventId', 'failedAttempts', 'id', 'processedAt', 'receivedAt', 'seenCount', 'status'],
    );
    // Neither the welcome code nor the customer's name travels in the stream.
    const streamed = JSON.stringify(admin.received.filter((e) => e.event === 'wecom.inbox'));
    expect(streamed).not.to.contain(scan.welcomeCode!);
    expect(streamed).not.to.contain('收件箱客户');

    // The inbox page lists the same row, filtered by event.
    const listed = await (await app.client().login('admin')).get('/api/v1/wecom/events?event=change_external_contact&limit=5');
    expect(listed.status).to.equal(200);
    const row = listed.body.items.find((i: { id: string }) => i.id === recorded.data.id);
    expect(row).to.include({ status: 'processed', failedAttempts: 0, dedupeKey: recorded.data.dedupeKey });
    expect(manager.received.some((e) => e.event === 'wecom.inbox')).to.equal(false);
  });

  it('streams a failed processing attempt with its error and count, then the retry that succeeded and cleared them', async () => {
    const admin = await open('admin');
    await settled(app);
    const code = await createCode('重试演示', ['ZhangWei']);
    // The first read of the new contact is refused; the job retries.
    app.wecom.sandbox!.control.addFault({ api: 'externalcontact/get', errcode: 60011, count: 1 });
    const scan = app.wecom.sandbox!.control.scanQr({ state: code.state });

    const mine = (e: { event: string; data: Record<string, unknown> }) => e.event === 'wecom.inbox' && e.data.changeType === 'add_external_contact';
    const failed = await admin.until((e) => mine(e) && e.data.failedAttempts === 1 && e.data.status === 'received', 30_000, 'the failed attempt');
    expect(failed.data.error).to.be.a('string').and.match(/60011/);
    // The inbox page lists the row as being retried, with the same count and error.
    const admin2 = await app.client().login('admin');
    const pending = (await admin2.get('/api/v1/wecom/events?status=received&limit=20')).body.items.find((i: { id: string }) => i.id === failed.data.id);
    if (pending) expect(pending).to.include({ failedAttempts: 1, error: failed.data.error });
    const done = await admin.until((e) => mine(e) && e.data.id === failed.data.id && e.data.status === 'processed', 30_000, 'the successful retry');
    expect(done.data).to.include({ failedAttempts: 0, error: null });
    const listed = await admin2.get('/api/v1/wecom/events?limit=20');
    expect(listed.body.items.find((i: { id: string }) => i.id === failed.data.id)).to.include({ status: 'processed', failedAttempts: 0, error: null });
    expect(scan.externalUserid).to.be.a('string');
  });
});
