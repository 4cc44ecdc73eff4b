import { expect } from 'chai';
import products from '../../data/bank/products.json' with { type: 'json' };
import { BRANCHES, DEMO_STAFF } from './branches.js';
import {
  AUM_PRIVATE, DEFAULT_AS_OF, customerAt, generateCustomers, idNumberCheckChar, isValidIdNumber, type SyntheticCustomer,
} from './synthetic.js';

const DAY_MS = 86_400_000;
const RISK_RANK: Record<string, number> = { R1: 1, R2: 2, R3: 3, R4: 4, R5: 5 };
const PRODUCT_RISK = new Map(products.map((p) => [p.id, p.risk_level] as const));

/** The China-local calendar date of an instant, which is what the generator's dates are relative to. */
const localDate = (d: Date): string => new Date(d.getTime() + 8 * 3_600_000).toISOString().slice(0, 10);

function ageOn(birthDate: string, onDate: string): number {
  const years = Number(onDate.slice(0, 4)) - Number(birthDate.slice(0, 4));
  return onDate.slice(5) < birthDate.slice(5) ? years - 1 : years;
}

const share = (rows: readonly SyntheticCustomer[], test: (c: SyntheticCustomer) => boolean): number =>
  rows.filter(test).length / rows.length;

describe('synthetic bank customers', () => {
  const asOfDate = localDate(DEFAULT_AS_OF);
  let sample: SyntheticCustomer[];

  before(() => {
    sample = [...generateCustomers(50_000)];
  });

  it('generates the same customers for the same seed', () => {
    const again = [...generateCustomers(2_000)];
    expect(again).to.deep.equal(sample.slice(0, 2_000));
    const other = [...generateCustomers(2_000, { seed: 7 })];
    expect(other.filter((c, i) => c.name === again[i]!.name && c.aum === again[i]!.aum).length).to.be.below(100);
  });

  it('customerAt returns the same row as the generator', () => {
    for (const i of [0, 1, 2, 999, 12_345, 49_999]) expect(customerAt(i)).to.deep.equal(sample[i]);
    const asOf = new Date('2025-06-30T12:00:00+08:00');
    const shifted = [...generateCustomers(10, { seed: 42, asOf, start: 1_000_000 })];
    shifted.forEach((row, i) => {
      expect(customerAt(i, { seed: 42, asOf, start: 1_000_000 })).to.deep.equal(row);
      expect(customerAt(1_000_000 + i, { seed: 42, asOf })).to.deep.equal(row);
    });
  });

  it('computes resident ID check characters per ISO 7064 MOD 11-2', () => {
    expect(idNumberCheckChar('11010519491231002')).to.equal('X');
    expect(idNumberCheckChar('44052418800101001')).to.equal('4');
    expect(isValidIdNumber('11010519491231002X')).to.equal(true);
    expect(isValidIdNumber('11010519491231002x')).to.equal(true);
    expect(() => idNumberCheckChar('1101051949123100')).to.throw(RangeError);
  });

  it('rejects malformed, impossible-date or tampered resident ID numbers', () => {
    for (const bad of ['110105194912310021', '11010519491231002', '11010519491331002X', '110105190002290019',
      '01010519491231002X', '1101051949123100A2', '']) {
      expect(isValidIdNumber(bad), bad).to.equal(false);
    }
  });

  it('gives every customer a valid resident ID number matching birth date and gender', () => {
    for (const c of sample) {
      expect(isValidIdNumber(c.idNumber), c.idNumber).to.equal(true);
      expect(c.idNumber.slice(6, 14)).to.equal(c.birthDate.replaceAll('-', ''));
      expect(Number(c.idNumber.slice(14, 17)) % 2).to.equal(c.gender === 'M' ? 1 : 0);
    }
  });

  it('keeps CIF numbers and mobiles unique across 100,000 rows', () => {
    const cifs = new Set<string>(), mobiles = new Set<string>(), externals = new Set<string>(), unionids = new Set<string>();
    let n = 0, linked = 0;
    for (const c of generateCustomers(100_000)) {
      n++;
      expect(c.cifNo).to.match(/^CIF\d{10}$/);
      expect(c.mobile).to.match(/^1[3-9]\d{9}$/);
      cifs.add(c.cifNo);
      mobiles.add(c.mobile);
      if (c.wecom) {
        linked++;
        externals.add(c.wecom.externalUserid);
        unionids.add(c.wecom.unionid);
      }
    }
    expect(cifs.size).to.equal(n);
    expect(mobiles.size).to.equal(n);
    expect(externals.size).to.equal(linked);
    expect(unionids.size).to.equal(linked);
  });

  it('gives realistic Chinese names and branches from the demo bank', () => {
    const branchIds = new Set(BRANCHES.map((b) => b.id));
    for (const c of sample.slice(0, 5_000)) {
      expect(c.name).to.match(/^[\u4e00-\u9fff]{2,4}$/);
      expect(branchIds.has(c.branchId)).to.equal(true);
    }
    expect(share(sample, (c) => c.name.startsWith('王'))).to.be.within(0.04, 0.1);
    expect(share(sample, (c) => c.gender === 'M')).to.be.within(0.46, 0.52);
  });

  it('keeps ages between 18 and 85 with most customers aged 25 to 65', () => {
    const ages = sample.map((c) => ageOn(c.birthDate, asOfDate));
    expect(Math.min(...ages)).to.equal(18);
    expect(Math.max(...ages)).to.equal(85);
    expect(ages.filter((a) => a >= 25 && a < 65).length / ages.length).to.be.within(0.72, 0.84);
  });

  it('puts roughly the stated share of customers in each AUM tier', () => {
    expect(share(sample, (c) => c.aum < 50_000)).to.be.closeTo(0.6, 0.015);
    expect(share(sample, (c) => c.aum >= 50_000 && c.aum < 500_000)).to.be.closeTo(0.3, 0.015);
    expect(share(sample, (c) => c.aum >= 500_000 && c.aum < AUM_PRIVATE)).to.be.closeTo(0.08, 0.01);
    expect(share(sample, (c) => c.aum >= AUM_PRIVATE)).to.be.closeTo(0.02, 0.005);
    for (const c of sample) expect(Math.round(c.aum * 100) / 100).to.equal(c.aum);
  });

  it('only gives wealth products at or below the customer risk level', () => {
    for (const c of sample) {
      expect(c.products.length).to.be.at.most(5);
      expect(new Set(c.products).size).to.equal(c.products.length);
      for (const id of c.products) {
        expect(PRODUCT_RISK.has(id), id).to.equal(true);
        const risk = PRODUCT_RISK.get(id);
        if (risk) expect(c.riskLevel, `${c.cifNo} holds ${id}`).to.not.equal(null);
        if (risk && c.riskLevel) expect(RISK_RANK[risk]).to.be.at.most(RISK_RANK[c.riskLevel]!);
      }
    }
    expect(share(sample, (c) => c.products.length > 0)).to.be.above(0.5);
    expect(share(sample, (c) => c.products.includes('p-dep-fix-1y'))).to.be.above(0.2);
  });

  it('marks near-retirement consistently with age', () => {
    for (const c of sample) {
      const age = ageOn(c.birthDate, asOfDate);
      const near = c.gender === 'M' ? age >= 55 && age < 60 : age >= 50 && age < 55;
      expect(c.segments.includes('临近退休'), `${c.birthDate} ${c.gender}`).to.equal(near);
    }
  });

  it('derives the other segments from the customer data in the stated proportions', () => {
    const known = ['代发', '社保', '临近退休', '新客', '高净值', '养老金'];
    for (const c of sample) {
      for (const s of c.segments) expect(known).to.include(s);
      expect(c.segments.includes('高净值')).to.equal(c.aum >= AUM_PRIVATE);
    }
    expect(share(sample, (c) => c.segments.includes('代发'))).to.be.closeTo(0.25, 0.02);
    expect(share(sample, (c) => c.segments.includes('社保'))).to.be.closeTo(0.3, 0.02);
  });

  it('dates risk assessments within the last 18 months and leaves about 10% unassessed', () => {
    const oldest = localDate(new Date(DEFAULT_AS_OF.getTime() - 548 * DAY_MS));
    for (const c of sample) {
      expect(c.riskAssessedAt === null).to.equal(c.riskLevel === null);
      if (c.riskAssessedAt) expect(c.riskAssessedAt >= oldest && c.riskAssessedAt <= asOfDate).to.equal(true);
    }
    const expiry = localDate(new Date(DEFAULT_AS_OF.getTime() - 365 * DAY_MS));
    expect(share(sample, (c) => c.riskLevel === null)).to.be.closeTo(0.1, 0.01);
    expect(share(sample, (c) => c.riskAssessedAt !== null && c.riskAssessedAt < expiry)).to.be.within(0.2, 0.4);
    expect(share(sample, (c) => c.riskLevel === 'R2' || c.riskLevel === 'R3')).to.be.above(0.55);
  });

  it('keeps last transactions within 400 days of asOf with about 15% sleeping', () => {
    const asOfMs = DEFAULT_AS_OF.getTime();
    const withTxn = sample.filter((c) => c.lastTxnAt !== null);
    for (const c of withTxn) {
      const age = asOfMs - Date.parse(c.lastTxnAt!);
      expect(age).to.be.within(1, 400 * DAY_MS);
      expect(new Date(c.lastTxnAt!).toISOString()).to.equal(c.lastTxnAt);
    }
    expect(share(withTxn, (c) => asOfMs - Date.parse(c.lastTxnAt!) > 180 * DAY_MS)).to.be.closeTo(0.15, 0.02);
    expect(share(sample, (c) => c.marketingConsent)).to.be.closeTo(0.75, 0.015);
  });

  it('links about 20% of customers on WeCom to an account manager of their own branch when it has one', () => {
    const managers = DEMO_STAFF.filter((s) => s.role === 'account_manager');
    const linked = sample.filter((c) => c.wecom !== null);
    expect(linked.length / sample.length).to.be.closeTo(0.2, 0.015);
    for (const c of linked) {
      const w = c.wecom!;
      expect(w.externalUserid).to.match(/^wm[A-Za-z0-9_-]{30}$/);
      expect(w.unionid).to.match(/^o[A-Za-z0-9_-]{27}$/);
      const follower = managers.find((m) => m.wecomUserid === w.followerUserid);
      expect(follower, w.followerUserid).to.not.equal(undefined);
      if (managers.some((m) => m.branchId === c.branchId)) expect(follower!.branchId).to.equal(c.branchId);
      expect(Date.parse(w.addedAt)).to.be.below(DEFAULT_AS_OF.getTime());
      if (w.state !== null) expect(w.state).to.match(/^(card-[A-Za-z]+|qr-br-[a-z-]+)$/);
    }
    expect(linked.some((c) => !managers.some((m) => m.branchId === c.branchId))).to.equal(true);
  });

  it('dates everything relative to the given asOf', () => {
    const asOf = new Date('2024-02-29T18:00:00+08:00');
    for (const c of generateCustomers(5_000, { asOf })) {
      const age = ageOn(c.birthDate, '2024-02-29');
      expect(age).to.be.within(18, 85);
      if (c.riskAssessedAt) expect(c.riskAssessedAt <= '2024-02-29').to.equal(true);
      if (c.lastTxnAt) expect(Date.parse(c.lastTxnAt)).to.be.below(asOf.getTime());
    }
  });

  it('rejects invalid counts and options when called', () => {
    expect(() => generateCustomers(-1)).to.throw(RangeError);
    expect(() => generateCustomers(1.5)).to.throw(RangeError);
    expect(() => generateCustomers(1, { start: -1 })).to.throw(RangeError);
    expect(() => generateCustomers(1, { asOf: new Date('nope') })).to.throw(RangeError);
    expect(() => customerAt(-1)).to.throw(RangeError);
    expect([...generateCustomers(0)]).to.deep.equal([]);
  });

  it('defines demo branches and staff whose roles, branches and WeCom ids fit together', () => {
    const branchIds = new Set(BRANCHES.map((b) => b.id));
    expect(BRANCHES).to.have.length(6);
    expect(branchIds.size).to.equal(6);
    for (const s of DEMO_STAFF) {
      const inBranch = s.role === 'account_manager' || s.role === 'branch_manager';
      expect(s.branchId !== null, s.username).to.equal(inBranch);
      if (s.branchId) expect(branchIds.has(s.branchId)).to.equal(true);
      expect(s.wecomUserid !== null, s.username).to.equal(s.role === 'account_manager');
    }
    expect(new Set(DEMO_STAFF.map((s) => s.username)).size).to.equal(DEMO_STAFF.length);
    expect(DEMO_STAFF.filter((s) => s.role === 'account_manager')).to.have.length(8);
    expect(DEMO_STAFF.filter((s) => s.role === 'branch_manager')).to.have.length(2);
  });
});
