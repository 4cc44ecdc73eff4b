import { expect } from 'chai';
import { parseXml, str } from '../crypto.js';
import type { Sandbox } from './index.js';
import { startReceiver, startTestSandbox, TEST_CORP, type ReceiverBehaviour } from './testing.js';

describe('the WeCom sandbox: callbacks and the control API', () => {
  let sandbox: Sandbox;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  async function start(behaviour?: ReceiverBehaviour, options: Parameters<typeof startTestSandbox>[0] = {}) {
    receiver = await startReceiver(behaviour);
    sandbox = await startTestSandbox(options);
    sandbox.setCallbackUrl(receiver.url);
  }
  afterEach(async () => {
    await sandbox.close();
    await receiver.close();
  });

  it('pushes add_external_contact encrypted and signed, in the self-built app envelope, with State and WelcomeCode', async () => {
    await start();
    const scan = sandbox.control.scanQr({ state: 'card-ZhangWei', customer: { name: '周敏', mobile: '13800000000' } });
    await sandbox.control.waitForDeliveries();
    expect(receiver.received).to.have.length(1);
    const [got] = receiver.received;
    // The receiver already verified the signature and decrypted with openEnvelope; check the envelope and the plaintext.
    const envelope = parseXml(got!.body);
    expect(str(envelope.ToUserName)).to.equal(TEST_CORP.corpId);
    expect(str(envelope.AgentID)).to.equal(String(TEST_CORP.agentId));
    expect(got!.query).to.have.keys('msg_signature', 'timestamp', 'nonce');
    expect(got!.plaintext).to.match(/^<xml><ToUserName><!\[CDATA\[wwxinghe0000sandbox\]\]><\/ToUserName><FromUserName><!\[CDATA\[sys\]\]><\/FromUserName><CreateTime>\d+<\/CreateTime><MsgType><!\[CDATA\[event\]\]><\/MsgType>/);
    expect(got!.fields).to.deep.include({
      Event: 'change_external_contact', ChangeType: 'add_external_contact', UserID: 'ZhangWei', ExternalUserID: scan.externalUserid, State: 'card-ZhangWei', WelcomeCode: scan.welcomeCode!,
    });
    expect(sandbox.world.follow('ZhangWei', scan.externalUserid)).to.include({ add_way: 3, state: 'card-ZhangWei' });
    const [delivery] = sandbox.control.deliveries();
    expect(delivery).to.include({ status: 'delivered', event: 'change_external_contact', changeType: 'add_external_contact' });
    expect(delivery!.attempts).to.have.length(1);
    expect(delivery!.attempts[0]).to.include({ status: 200, ok: true });
  });

  it('routes a branch QR scan to one of the branch’s members and omits WelcomeCode when the chat already began', async () => {
    await start();
    const scan = sandbox.control.scanQr({ state: 'qr-br-hz-xihu', chatStarted: true });
    await sandbox.control.waitForDeliveries();
    expect(['LiNa', 'LiuQiang']).to.include(scan.userid);
    expect(scan.welcomeCode).to.equal(null);
    expect(receiver.received[0]!.fields).to.include({ State: 'qr-br-hz-xihu' }).and.not.have.property('WelcomeCode');
  });

  it('retries the same payload after a 500 until the receiver answers 200', async () => {
    await start((n) => ({ status: n <= 2 ? 500 : 200 }));
    sandbox.control.customerDeletesMember({ userid: 'LiNa', externalUserid: sandbox.world.followsOfUser('LiNa')[0]!.external_userid });
    const [delivery] = await sandbox.control.waitForDeliveries();
    expect(delivery!.attempts.map((a) => [a.status, a.ok])).to.deep.equal([[500, false], [500, false], [200, true]]);
    expect(delivery!.status).to.equal('delivered');
    expect(receiver.received).to.have.length(3);
    expect(new Set(receiver.received.map((r) => r.body)).size, 'the same body').to.equal(1);
    expect(new Set(receiver.received.map((r) => JSON.stringify(r.query))).size, 'the same signature, timestamp and nonce').to.equal(1);
    expect(receiver.received[0]!.fields).to.include({ ChangeType: 'del_follow_user', UserID: 'LiNa' });
  });

  it('aborts an attempt not answered within the deadline and retries it', async () => {
    await start((n) => (n === 1 ? { status: 200, delayMs: 5000 } : { status: 200 }), { callbackDeadlineMs: 150 });
    sandbox.control.memberDeletesCustomer({ userid: 'WuTing', externalUserid: sandbox.world.followsOfUser('WuTing')[0]!.external_userid });
    const [delivery] = await sandbox.control.waitForDeliveries();
    expect(delivery!.attempts).to.have.length(2);
    expect(delivery!.attempts[0]).to.include({ status: null, ok: false, error: 'timeout' });
    expect(delivery!.attempts[1]).to.include({ status: 200, ok: true });
    expect(receiver.received[1]!.fields).to.include({ ChangeType: 'del_external_contact', UserID: 'WuTing' });
  });

  it('gives up after the configured number of retries', async () => {
    await start(() => ({ status: 503 }), { callbackRetries: 2 });
    sandbox.control.scanQr({ userid: 'SunHao' });
    const [delivery] = await sandbox.control.waitForDeliveries();
    expect(delivery!.attempts).to.have.length(3);
    expect(delivery!.status).to.equal('failed');
    expect(sandbox.control.deliveries({ status: 'failed' })).to.have.length(1);
  });

  it('keeps events in order for a healthy receiver and records them skipped while no URL is set', async () => {
    await start();
    const a = sandbox.control.scanQr({ userid: 'ZhouJie' });
    sandbox.control.memberEditsContact({ userid: 'ZhouJie', externalUserid: a.externalUserid, remark: '老客户', addTags: [sandbox.world.tagGroups[0]!.tag[2]!.id] });
    sandbox.control.memberDeletesCustomer({ userid: 'ZhouJie', externalUserid: a.externalUserid });
    await sandbox.control.waitForDeliveries();
    expect(receiver.received.map((r) => r.fields.ChangeType)).to.deep.equal(['add_external_contact', 'edit_external_contact', 'del_external_contact']);
    const unset = await startTestSandbox();
    try {
      unset.control.scanQr({ userid: 'ZhouJie' });
      expect((await unset.control.waitForDeliveries())[0]).to.include({ status: 'skipped' });
    } finally {
      await unset.close();
    }
  });

  it('sends transfer_fail with FailReason before UserID', async () => {
    await start();
    const id = sandbox.world.followsOfUser('ZhangWei')[0]!.external_userid;
    sandbox.world.transfers.push({ seq: 99, handover_userid: 'ZhangWei', takeover_userid: 'WangFang', external_userid: id, status: 2, takeover_time: 0, createdAt: 0 });
    sandbox.control.transferFail({ externalUserid: id, reason: 'customer_refused' });
    await sandbox.control.waitForDeliveries();
    const plain = receiver.received[0]!.plaintext;
    expect(plain.indexOf('<FailReason>')).to.be.greaterThan(plain.indexOf('<ChangeType>')).and.lessThan(plain.indexOf('<UserID>'));
    expect(receiver.received[0]!.fields).to.include({ ChangeType: 'transfer_fail', FailReason: 'customer_refused', UserID: 'WangFang', ExternalUserID: id });
    expect(sandbox.world.transfers[0]!.status).to.equal(3);
  });

  it('sends change_external_tag for console edits: a new group, new tags, update, delete and shuffle', async () => {
    await start();
    const group = sandbox.control.tagChange({ action: 'create', groupName: '活动', tags: ['春节理财'] });
    const added = sandbox.control.tagChange({ action: 'create', groupId: group.groupId!, tags: ['端午理财'] });
    sandbox.control.tagChange({ action: 'update', id: added.tagIds[0]!, name: '端午理财季' });
    sandbox.control.tagChange({ action: 'delete', id: group.groupId! });
    sandbox.control.tagChange({ action: 'shuffle' });
    await sandbox.control.waitForDeliveries();
    const events = receiver.received.map((r) => r.fields);
    expect(events.map((e) => [e.Event, e.ChangeType, e.TagType, e.Id])).to.deep.equal([
      ['change_external_tag', 'create', 'tag_group', group.groupId],
      ['change_external_tag', 'create', 'tag', added.tagIds[0]],
      ['change_external_tag', 'update', 'tag', added.tagIds[0]],
      ['change_external_tag', 'delete', 'tag_group', group.groupId],
      ['change_external_tag', 'shuffle', undefined, ''],
    ]);
    expect(sandbox.world.findTag(added.tagIds[0]!)).to.equal(undefined);
  });

  it('sends change_external_chat for a new group, joins, leaves and a dismissal with member versions', async () => {
    await start();
    const customers = sandbox.world.followsOfUser('ZhaoMin').slice(0, 3).map((f) => f.external_userid);
    const { chatId } = sandbox.control.groupChange({ type: 'create', owner: 'ZhaoMin', name: '滨江财富沙龙', members: [customers[0]!] });
    const before = sandbox.world.groupChats.get(chatId)!.member_version;
    sandbox.control.groupChange({ type: 'add_member', chatId, members: [customers[1]!, customers[2]!], joinScene: 3 });
    sandbox.control.groupChange({ type: 'del_member', chatId, members: [customers[1]!], quitScene: 1 });
    sandbox.control.groupChange({ type: 'dismiss', chatId });
    await sandbox.control.waitForDeliveries();
    const [create, add, del, dismiss] = receiver.received.map((r) => r.fields);
    expect(create).to.include({ Event: 'change_external_chat', ChatId: chatId, ChangeType: 'create' });
    expect(add).to.deep.include({ ChangeType: 'update', UpdateDetail: 'add_member', JoinScene: '3', MemChangeCnt: '2', LastMemVer: before, MemChangeList: { Item: [customers[1], customers[2]] } });
    expect(del).to.include({ UpdateDetail: 'del_member', QuitScene: '1', MemChangeCnt: '1', LastMemVer: add!.CurMemVer });
    expect(dismiss).to.include({ ChangeType: 'dismiss', ChatId: chatId });
    expect(sandbox.world.groupChats.get(chatId)!.dismissed).to.equal(true);
  });

  it('sends kf_msg_or_event without FromUserName, and a member’s app message with MsgId and AgentID', async () => {
    await start();
    const kf = sandbox.control.kfCustomerMessage({ text: '你好' });
    const msg = sandbox.control.memberMessage({ userid: 'LiNa', content: '查询今日待办' });
    await sandbox.control.waitForDeliveries();
    const [event, message] = receiver.received.map((r) => r.fields);
    expect(event).to.deep.equal({ ToUserName: TEST_CORP.corpId, CreateTime: event!.CreateTime, MsgType: 'event', Event: 'kf_msg_or_event', Token: kf.token, OpenKfId: kf.openKfid });
    expect(message).to.include({ FromUserName: 'LiNa', MsgType: 'text', Content: '查询今日待办', MsgId: msg.msgId, AgentID: String(TEST_CORP.agentId) });
  });

  it('passes the URL check when the receiver echoes the decrypted echostr', async () => {
    await start();
    const check = await sandbox.control.verifyCallbackUrl();
    expect(check.ok).to.equal(true);
    expect(check.body).to.equal(check.expected);
  });

  it('changes the world without callbacks for drift', async () => {
    await start();
    const added = sandbox.control.driftAddContact({ userid: 'LiuQiang', customer: { name: '静默客户' } });
    const gone = sandbox.world.followsOfUser('LiuQiang')[0]!;
    sandbox.control.driftDeleteFollow({ userid: 'LiuQiang', externalUserid: gone.external_userid });
    const tag = sandbox.world.tagGroups[1]!.tag[0]!;
    sandbox.control.driftRenameTag({ id: tag.id, name: 'R1 谨慎型' });
    await sandbox.control.waitForDeliveries();
    expect(sandbox.control.deliveries()).to.deep.equal([]);
    expect(receiver.received).to.deep.equal([]);
    expect(sandbox.world.follow('LiuQiang', added.externalUserid)).to.include({ chatStarted: true });
    expect(sandbox.world.follow('LiuQiang', gone.external_userid)).to.equal(undefined);
    expect(tag.name).to.equal('R1 谨慎型');
  });

  it('offers the simulations and the world over the HTTP control API', async () => {
    await start();
    const post = (path: string, body: unknown) => fetch(`${sandbox.url}/sandbox/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const scanned = await post('simulate/scan', { userid: 'WangFang', customer: { name: '钱多多' } });
    expect(scanned.status).to.equal(200);
    const scan = (await scanned.json()) as { externalUserid: string; welcomeCode: string };
    const callbacks = (await (await fetch(`${sandbox.url}/sandbox/world/callbacks?wait=1`)).json()) as { status: string; changeType: string }[];
    expect(callbacks).to.have.length(1);
    expect(callbacks[0]).to.include({ status: 'delivered', changeType: 'add_external_contact' });
    const contact = (await (await fetch(`${sandbox.url}/sandbox/world/contacts/${scan.externalUserid}`)).json()) as { contact: { name: string }; follows: { userid: string }[] };
    expect(contact.contact.name).to.equal('钱多多');
    expect(contact.follows.map((f) => f.userid)).to.deep.equal(['WangFang']);
    const invalid = await post('simulate/scan', { customer: 'nope' });
    expect(invalid.status).to.equal(400);
    expect(((await invalid.json()) as { issues: { path: string }[] }).issues[0]!.path).to.equal('customer');
    expect((await post('simulate/customer-deletes-member', { userid: 'WangFang', externalUserid: 'wmNope' })).status).to.equal(404);
    expect((await fetch(`${sandbox.url}/sandbox/world/contacts/wmNope`)).status).to.equal(404);
    expect((await post('simulate/kf-message', { text: '你好' })).status).to.equal(200);
    const quota = await fetch(`${sandbox.url}/sandbox/receiving-quota`, { method: 'PUT', body: JSON.stringify({ period: 'week', limit: 2 }) });
    expect(await quota.json()).to.deep.equal({ period: 'week', limit: 2 });
    expect(sandbox.world.settings.receivingQuota).to.deep.equal({ period: 'week', limit: 2 });
    const advanced = (await (await post('clock/advance', { ms: 60_000 })).json()) as { now: number };
    expect(advanced.now).to.be.a('number');
  });
});
