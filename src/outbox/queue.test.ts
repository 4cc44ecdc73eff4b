import { expect } from 'chai';
import { testDatabase } from '../../test/harness.js';
import { ComplianceGate } from '../compliance/index.js';
import type { DatabaseHandle } from '../platform/db/database.js';
import { queueMessage, queueMessages, type QueueInput } from './queue.js';

describe('queueing an outbound message', () => {
  let handle: DatabaseHandle;
  let gate: ComplianceGate;
  let customerId: string;
  let unconsentedId: string;

  const base = (over: Partial<QueueInput> = {}): QueueInput => ({
    idempotencyKey: `k-${Math.random()}`,
    corpId: 'wwcorp',
    channel: 'mass_single',
    recipient: 'wmCustomer',
    sender: 'ZhangWei',
    customerId,
    content: { text: '您好，本月大额存单额度已开放，欢迎咨询。' },
    purpose: 'marketing',
    cause: { type: 'sop', id: 'run-1' },
    ...over,
  });

  before(async () => {
    handle = await testDatabase();
    gate = new ComplianceGate({ db: handle.db });
    const rows = await handle.db
      .insertInto('customers')
      .values([
        { cif_no: 'C-Q-1', name: '王芳', risk_level: 'R2', risk_assessed_at: '2026-06-01', marketing_consent: true, attrs: '{}' },
        { cif_no: 'C-Q-2', name: '李强', risk_level: 'R4', risk_assessed_at: '2026-06-01', marketing_consent: false, attrs: '{}' },
      ])
      .returning(['id', 'cif_no'])
      .execute();
    customerId = rows.find((r) => r.cif_no === 'C-Q-1')!.id;
    unconsentedId = rows.find((r) => r.cif_no === 'C-Q-2')!.id;
  });
  after(() => handle.close());

  const row = (id: string) => handle.db.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  it('writes a pending row with the verdict, the customer and what it belongs to', async () => {
    const queued = await queueMessage({ db: handle.db, gate }, base({ ref: { type: 'sop_step_run', id: 'step-1' } }));
    expect(queued).to.include({ created: true, status: 'pending', verdict: 'pass' });
    const stored = await row(queued.id);
    expect(stored).to.include({ customer_id: customerId, purpose: 'marketing', ref_type: 'sop_step_run', ref_id: 'step-1', cause_type: 'sop', cause_id: 'run-1' });
    expect(stored.payload).to.deep.equal({ text: '您好，本月大额存单额度已开放，欢迎咨询。', attachments: [] });
  });

  it('keeps the group key that lets rows of one mass send go out in one call', async () => {
    const queued = await queueMessage({ db: handle.db, gate }, base({ groupKey: 'mass:m-1:ZhangWei' }));
    expect((await row(queued.id)).group_key).to.equal('mass:m-1:ZhangWei');
    expect((await row((await queueMessage({ db: handle.db, gate }, base())).id)).group_key).to.equal(null);
  });

  it('returns the first row for a repeated key without judging or writing again', async () => {
    const input = base();
    const first = await queueMessage({ db: handle.db, gate }, input);
    const audits = await handle.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<string>().as('n')).where('action', '=', 'compliance.check').executeTakeFirstOrThrow();
    const again = await queueMessage({ db: handle.db, gate }, { ...input, content: { text: '别的内容' } });
    expect(again).to.deep.equal({ id: first.id, status: 'pending', verdict: 'pass', created: false });
    const after = await handle.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<string>().as('n')).where('action', '=', 'compliance.check').executeTakeFirstOrThrow();
    expect(after.n).to.equal(audits.n);
    expect((await handle.db.selectFrom('outbox').select('id').where('idempotency_key', '=', input.idempotencyKey).execute()).length).to.equal(1);
  });

  it('keeps a message with a forbidden promise as a blocked row that says why', async () => {
    const queued = await queueMessage({ db: handle.db, gate }, base({ content: { text: '这款理财保本保息，稳赚不赔' } }));
    expect(queued).to.include({ status: 'blocked', verdict: 'block' });
    const stored = await row(queued.id);
    expect(stored.last_error).to.contain('违规用语');
    expect((stored.findings as unknown[]).length).to.be.greaterThan(0);
  });

  it('blocks a product above the customer\'s assessed risk level', async () => {
    const queued = await queueMessage({ db: handle.db, gate }, base({ content: { text: '澄湖全球科技精选股票型基金（QDII）A 现已开放申购。' }, productIds: ['p-fund-qdii-r5'], now: new Date('2026-12-02T10:00:00+08:00') }));
    expect(queued.status).to.equal('blocked');
    expect((await row(queued.id)).last_error).to.contain('适当性');
  });

  it('blocks marketing to a customer without consent but lets a service message through', async () => {
    const marketing = await queueMessage({ db: handle.db, gate }, base({ customerId: unconsentedId }));
    expect(marketing.status).to.equal('blocked');
    expect((await row(marketing.id)).last_error).to.contain('未授权营销');
    const service = await queueMessage({ db: handle.db, gate }, base({ customerId: unconsentedId, purpose: 'service', content: { text: '您的预约已确认，明天上午十点在西湖支行。' } }));
    expect(service.status).to.equal('pending');
  });

  it('appends the required disclosure to wealth content before it is stored', async () => {
    const queued = await queueMessage({ db: handle.db, gate }, base({ content: { text: '星河恒享固收增强180天持有期理财，欢迎了解。' }, productIds: ['p-wm-fi-r2-180'], now: new Date('2026-12-02T10:00:00+08:00') }));
    expect(queued.decision?.appended.length).to.be.greaterThan(0);
    const stored = await row(queued.id);
    expect((stored.payload as { text: string }).text).to.contain('理财非存款');
  });

  it('queues many messages at once with the outcome each would have alone, judging each key once', async () => {
    const before = await queueMessage({ db: handle.db, gate }, base({ idempotencyKey: 'bulk-0' }));
    const inputs = [
      base({ idempotencyKey: 'bulk-0', content: { text: '不会再判断' } }),
      base({ idempotencyKey: 'bulk-1' }),
      base({ idempotencyKey: 'bulk-2', content: { text: '这款理财保本保息，稳赚不赔' } }),
      base({ idempotencyKey: 'bulk-3', customerId: unconsentedId }),
      base({ idempotencyKey: 'bulk-4', content: { text: '星河恒享固收增强180天持有期理财，欢迎了解。' }, productIds: ['p-wm-fi-r2-180'], now: new Date('2026-12-02T10:00:00+08:00') }),
      base({ idempotencyKey: 'bulk-1' }),
    ];
    const audits = async () => Number((await handle.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<string>().as('n')).where('action', '=', 'compliance.check').executeTakeFirstOrThrow()).n);
    const auditsBefore = await audits();
    const queued = await queueMessages({ db: handle.db, gate }, inputs);
    expect(queued.map((q) => [q.status, q.created])).to.deep.equal([['pending', false], ['pending', true], ['blocked', true], ['blocked', true], ['pending', true], ['pending', true]]);
    expect(queued[0]!.id).to.equal(before.id);
    expect(queued[5]!.id, 'a key repeated in the batch is one row').to.equal(queued[1]!.id);
    expect(await audits(), 'one decision audited per new key').to.equal(auditsBefore + 4);
    expect((await row(queued[2]!.id)).last_error).to.contain('违规用语');
    expect((await row(queued[3]!.id)).last_error).to.contain('未授权营销');
    expect(((await row(queued[4]!.id)).payload as { text: string }).text).to.contain('理财非存款');
    const one = await queueMessage({ db: handle.db, gate }, base({ idempotencyKey: 'single-4', content: { text: '星河恒享固收增强180天持有期理财，欢迎了解。' }, productIds: ['p-wm-fi-r2-180'], now: new Date('2026-12-02T10:00:00+08:00') }));
    expect((await row(one.id)).payload, 'the same text as queued alone').to.deep.equal((await row(queued[4]!.id)).payload);
  });
});
