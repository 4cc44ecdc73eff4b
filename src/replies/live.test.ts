import { expect } from 'chai';
import { bootApp, type TestApp } from '../../test/harness.js';
import { liveClient, type LiveClient } from '../../test/sockets.js';
import { settled } from '../../test/wecom.js';

describe('live updates from the reply engine (new messages)', function () {
  this.timeout(90_000);
  let app: TestApp;
  let clients: LiveClient[] = [];
  before(async () => {
    app = await bootApp();
  });
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
  });
  after(() => app.close());

  it("sends a customer's customer-service message to the member who follows the customer, once, and to no one else", async () => {
    const mine = await liveClient(app, 'am.zhangwei');
    const other = await liveClient(app, 'am.wangfang');
    const admin = await liveClient(app, 'admin');
    clients.push(mine, other, admin);
    const sandbox = app.wecom.sandbox!;
    const scan = sandbox.control.scanQr({ userid: 'ZhangWei', customer: { name: '咨询客户' } });
    await settled(app);

    sandbox.control.kfCustomerMessage({ externalUserid: scan.externalUserid, text: '我想了解一下大额存单' });
    const got = await mine.until((e) => e.event === 'message.new', 30_000, 'message.new');
    expect(got.data).to.deep.include({ channel: 'kf', text: '我想了解一下大额存单', externalUserid: scan.externalUserid, name: '咨询客户', isGroup: false });
    expect(got.data.logId).to.be.a('string');
    await settled(app);
    const log = await app.database.db.selectFrom('reply_log').select(['id', 'member_userid']).where('external_userid', '=', scan.externalUserid).executeTakeFirstOrThrow();
    expect(log).to.deep.equal({ id: got.data.logId, member_userid: 'ZhangWei' });

    // Probes written after the alert arrive after it: by then every alert for these rooms has come.
    const wangfang = (await app.database.db.selectFrom('staff').select('id').where('username', '=', 'am.wangfang').executeTakeFirstOrThrow()).id;
    const zhangwei = (await app.database.db.selectFrom('staff').select('id').where('username', '=', 'am.zhangwei').executeTakeFirstOrThrow()).id;
    app.realtime!.toMember(zhangwei, 'probe', {});
    app.realtime!.toMember(wangfang, 'probe', {});
    await Promise.all([mine.until((e) => e.event === 'probe'), other.until((e) => e.event === 'probe')]);
    expect(mine.received.filter((e) => e.event === 'message.new')).to.have.length(1);
    expect(other.received.some((e) => e.event === 'message.new')).to.equal(false);
    expect(admin.received.some((e) => e.event === 'message.new')).to.equal(false);
  });
});
