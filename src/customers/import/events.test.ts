import { expect } from 'chai';
import { generateCustomers, type SyntheticCustomer } from '../../demo/synthetic.js';
import { EVENTS, EventBus, type DomainEvent } from '../../platform/events.js';
import { createLogger } from '../../platform/logger.js';
import { followUpImports } from './followup.js';
import { importCustomers, type ImportDeps, type ImportInput, type ImportSummary } from './index.js';
import { CSV_HEADER, csvLine } from './fixtures.js';
import { importFixture, writeTemp, type ImportFixture } from './testing.js';

// Ten customers with known tiers (default thresholds: 潜力 from 5万, 财富 from 50万) and risk levels.
const people: SyntheticCustomer[] = [...generateCustomers(10, { seed: 11 })].map((p, i) => ({ ...p, aum: 100_000 + i * 1_000, riskLevel: 'R3' }));
const csv = (rows: SyntheticCustomer[]) => [CSV_HEADER, ...rows.map(csvLine)].join('\n') + '\n';
const edit = (changes: Record<number, Partial<SyntheticCustomer>>) => people.map((p, i) => ({ ...p, ...changes[i] }));

describe('customer.updated from imports', () => {
  let f: ImportFixture;
  let deps: ImportDeps;
  let events: EventBus;
  let published: DomainEvent<'customer.updated'>[];
  let factTags: string[];
  let factCustomers: (string[] | undefined)[];
  const followUp = () => followUpImports({ db: f.db, events, logger: createLogger({ level: 'silent' }), queueFactTags: async (id, ids) => void (factTags.push(id), factCustomers.push(ids)) });
  /** An import as the command line runs it (no bus), then the service's follow-up. */
  const importAndFollowUp = async (input: ImportInput): Promise<ImportSummary> => {
    const summary = await importCustomers(deps, input);
    await followUp();
    return summary;
  };

  beforeEach(async () => {
    f = await importFixture();
    events = new EventBus(createLogger({ level: 'silent' }));
    published = [];
    factTags = [];
    factCustomers = [];
    events.on(EVENTS.customerUpdated, (e) => void published.push(e));
    deps = f.deps;
  });
  afterEach(async () => {
    await f.handle.close();
  });

  const idOf = async (cifNo: string) => (await f.db.selectFrom('customers').select('id').where('cif_no', '=', cifNo).executeTakeFirstOrThrow()).id;
  const byCustomer = (events: DomainEvent<'customer.updated'>[]) => [...events].sort((a, b) => a.payload.customerId.localeCompare(b.payload.customerId));

  it('publishes what a re-import changed, with from and to and the import as the cause, for a move from 潜力 to 财富 and a new risk level', async () => {
    await importAndFollowUp({ path: writeTemp('v1.csv', csv(edit({ 0: { aum: 480_000 }, 1: { riskLevel: 'R2' } }))) });
    expect(published, 'new customers').to.deep.equal([]);

    const summary = await importAndFollowUp({ path: writeTemp('v2.csv', csv(edit({ 0: { aum: 520_000 }, 1: { riskLevel: 'R4' } }))) });
    expect(summary).to.include({ updated: 2, unchanged: 8 });
    const cause = { type: 'system', id: `import:${summary.importId}` };
    const expected = [
      { customerId: await idOf(people[0]!.cifNo), changed: { aum: { from: 480_000, to: 520_000 }, aum_tier: { from: '潜力', to: '财富' } } },
      { customerId: await idOf(people[1]!.cifNo), changed: { risk_level: { from: 'R2', to: 'R4' } } },
    ].sort((a, b) => a.customerId.localeCompare(b.customerId));
    const got = byCustomer(published);
    expect(got.map((e) => e.payload)).to.deep.equal(expected);
    expect(got.map((e) => e.cause)).to.deep.equal([cause, cause]);
    expect(got.map((e) => e.name)).to.deep.equal([EVENTS.customerUpdated, EVENTS.customerUpdated]);
  });

  it('publishes nothing when the same file is imported again', async () => {
    const file = writeTemp('same.csv', csv(people));
    await importAndFollowUp({ path: file });
    const again = await importAndFollowUp({ path: file });
    expect(again).to.include({ updated: 0, unchanged: 10 });
    expect(published).to.deep.equal([]);
  });

  it('publishes the AUM without a tier when it moves within a tier, consent and branch changes, and nothing for a change no journey watches', async () => {
    await importAndFollowUp({ path: writeTemp('v1.csv', csv(people)) });
    const otherBranch = people[2]!.branchId === 'br-hz-xihu' ? 'br-sh-pudong' : 'br-hz-xihu';
    const summary = await importAndFollowUp({
      path: writeTemp('v2.csv', csv(edit({ 0: { aum: 100_500.5 }, 1: { marketingConsent: !people[1]!.marketingConsent }, 2: { branchId: otherBranch }, 3: { mobile: '13900000003', name: '改名' } }))),
    });
    expect(summary).to.include({ updated: 4, rejected: 0 });
    expect(byCustomer(published).map((e) => e.payload)).to.deep.equal(
      [
        { customerId: await idOf(people[0]!.cifNo), changed: { aum: { from: 100_000, to: 100_500.5 } } },
        { customerId: await idOf(people[1]!.cifNo), changed: { marketing_consent: { from: people[1]!.marketingConsent, to: !people[1]!.marketingConsent } } },
        { customerId: await idOf(people[2]!.cifNo), changed: { branch_id: { from: people[2]!.branchId, to: otherBranch } } },
      ].sort((a, b) => a.customerId.localeCompare(b.customerId)),
    );
  });

  it('publishes every change whether a batch is probed first or written straight away', async () => {
    await importAndFollowUp({ path: writeTemp('v1.csv', csv(people)) });
    // Every row changes, so after the first (probed) batch the importer writes the rest straight away.
    const summary = await importAndFollowUp({ path: writeTemp('v2.csv', csv(people.map((p) => ({ ...p, aum: p.aum * 10 })))), batchSize: 3 });
    expect(summary).to.include({ updated: 10 });
    expect(published).to.have.length(10);
    expect(published.map((e) => e.payload.changed.aum_tier)).to.deep.equal(Array(10).fill({ from: '潜力', to: '财富' }));
    expect(published.map((e) => e.payload.customerId)).to.have.members(await Promise.all(people.map((p) => idOf(p.cifNo))));
  });

  it('publishes only once a batch has committed, so a failed batch announces nothing', async () => {
    await importAndFollowUp({ path: writeTemp('v1.csv', csv(people)) });
    let batches = 0;
    const failure = await importAndFollowUp({
      path: writeTemp('v2.csv', csv(people.map((p) => ({ ...p, riskLevel: 'R5' })))),
      batchSize: 5,
      onProgress: () => {
        if (++batches === 1) throw new Error('stop after the first batch');
      },
    }).then(() => undefined, (e: unknown) => e as Error);
    expect(failure?.message).to.equal('stop after the first batch');
    await followUp();
    const stored = await f.db.selectFrom('customers').select(['id', 'risk_level']).where('risk_level', '=', 'R5').execute();
    expect(published.map((e) => e.payload.customerId)).to.have.members(stored.map((r) => r.id));
    expect(published.map((e) => e.payload.changed)).to.deep.equal(Array(stored.length).fill({ risk_level: { from: 'R3', to: 'R5' } }));
  });

  it('keeps each change until its handlers have finished: a failed handler leaves it for the next run, which publishes it again', async () => {
    await importAndFollowUp({ path: writeTemp('v1.csv', csv(people)) });
    let failing = true;
    const off = events.on(EVENTS.customerUpdated, () => {
      if (failing) throw new Error('the job table is unreachable');
    });
    await importCustomers(deps, { path: writeTemp('v2.csv', csv(edit({ 0: { riskLevel: 'R5' } }))) });
    // Another import, of new customers only: nothing to publish, so it is followed up whatever happens to the first.
    const newcomers = await importCustomers(deps, { path: writeTemp('new.csv', csv([...generateCustomers(3, { seed: 12 })].map((p) => ({ ...p, cifNo: p.cifNo.replace(/^CIF1/, 'CIF9') })))) });
    await followUp().then(() => expect.fail('the follow-up should fail'), (e: Error) => expect(e.message).to.match(/handler/));
    expect(factTags).to.include(newcomers.importId);
    const kept = await f.db.selectFrom('import_changes').select(['customer_id', 'changed']).execute();
    expect(kept).to.deep.equal([{ customer_id: await idOf(people[0]!.cifNo), changed: { risk_level: { from: 'R3', to: 'R5' } } }]);
    failing = false;
    published = [];
    await followUp();
    off();
    expect(published.map((e) => e.payload)).to.deep.equal([{ customerId: await idOf(people[0]!.cifNo), changed: { risk_level: { from: 'R3', to: 'R5' } } }]);
    expect(await f.db.selectFrom('import_changes').select('id').execute()).to.deep.equal([]);
  });

  it('queues the fact tags once for a finished import that changed customers, never for one that changed nothing or failed', async () => {
    const first = await importAndFollowUp({ path: writeTemp('v1.csv', csv(people)) });
    expect(factTags).to.deep.equal([first.importId]);
    // The customers the import wrote, not the whole base.
    expect(factCustomers[0]).to.have.members(await Promise.all(people.map((p) => idOf(p.cifNo))));
    await followUp();
    expect(factTags, 'a second run queues nothing more').to.deep.equal([first.importId]);
    const same = await importAndFollowUp({ path: writeTemp('same.csv', csv(people)) });
    expect(same).to.include({ unchanged: 10 });
    expect(factTags).to.deep.equal([first.importId]);
    const failed = await importCustomers(deps, {
      path: writeTemp('v2.csv', csv(people.map((p) => ({ ...p, riskLevel: 'R1' })))),
      batchSize: 5,
      onProgress: () => {
        throw new Error('stop');
      },
    }).then(() => undefined, (e: unknown) => e as Error);
    expect(failed?.message).to.equal('stop');
    await followUp();
    expect(factTags, 'a failed import waits for its resume').to.deep.equal([first.importId]);
    const rows = await f.db.selectFrom('imports').select(['id', 'status', 'followed_up_at']).execute();
    expect(rows.filter((r) => r.followed_up_at).map((r) => r.id).sort()).to.deep.equal([first.importId, same.importId].sort());
    expect(rows.find((r) => r.status === 'failed')!.followed_up_at).to.equal(null);
  });
});
