import { expect } from 'chai';
import { sql } from 'kysely';
import { ComplianceGate } from '../compliance/index.js';
import type { DatabaseHandle } from '../platform/db/database.js';
import { testDatabase } from '../../test/harness.js';
import { seedKnowledgeBase } from './seed.js';
import { KnowledgeBase } from './service.js';
import { getKbEntry } from './store.js';

describe('knowledge base service', () => {
  let handle: DatabaseHandle;
  before(async () => {
    handle = await testDatabase();
  });
  after(() => handle.close());

  it('seeds once, however often or concurrently the service starts', async () => {
    const runs = await Promise.all([seedKnowledgeBase(handle.db), seedKnowledgeBase(handle.db)]);
    expect(runs.map((r) => r.seeded).sort()).to.deep.equal([false, true]);
    expect(await seedKnowledgeBase(handle.db)).to.deep.equal({ seeded: false, count: 0 });
    const count = await handle.db.selectFrom('kb_entries').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(Number(count.n)).to.equal(60);
    expect(await getKbEntry(handle.db, 'kb-059')).to.include({ category: '安全与反诈', handoff: true, version: 1 });
  });

  it('returns each hit with its entry, for the reply engine to answer from', async () => {
    const kb = new KnowledgeBase({ db: handle.db, gate: new ComplianceGate({ db: handle.db }) });
    const result = await kb.search('信用卡积分能换啥', { topK: 2 });
    expect(result.hits).to.have.length(2);
    expect(result.hits[0]!.entry).to.include({ id: result.hits[0]!.id, category: '权益与积分' });
    expect(result.hits[0]!.entry.answer).to.be.a('string').and.not.equal('');
  });

  it('lets another node see an edit once its refresh interval has passed', async () => {
    let now = 0;
    const gate = new ComplianceGate({ db: handle.db });
    const editor = new KnowledgeBase({ db: handle.db, gate });
    const other = new KnowledgeBase({ db: handle.db, gate, refreshMs: 10_000, clock: () => now });
    const query = '数字人民币钱包怎么开';
    expect((await other.search(query)).hits.map((h) => h.id)).not.to.include('kb-061');

    const saved = await editor.createEntry(
      { category: '手机银行', question: '数字人民币钱包怎么开通？', altQuestions: ['数字人民币怎么用'], answer: '可在数字人民币App中选择星河银行开通钱包。', productIds: [], needsDisclaimer: false, handoff: false },
      { actorType: 'system', actorId: null },
    );
    expect(saved.entry.id).to.equal('kb-061');
    expect((await editor.search(query)).hits[0]!.id).to.equal('kb-061');

    now = 9_999;
    expect((await other.search(query)).hits.map((h) => h.id)).not.to.include('kb-061');
    now = 10_000;
    expect((await other.search(query)).hits[0]!.id).to.equal('kb-061');
  });

  it('keeps saved versions immutable', async () => {
    let error: unknown;
    try {
      await sql`UPDATE kb_entry_versions SET answer = 'x' WHERE entry_id = 'kb-001'`.execute(handle.db);
    } catch (e) {
      error = e;
    }
    expect(String(error)).to.contain('immutable');
  });
});
