import { expect } from 'chai';
import { generateCustomers, type SyntheticCustomer } from '../../demo/synthetic.js';
import { getImport, importCustomers, listRejections } from './index.js';
import { CSV_HEADER, csvField, csvLine, csvValues, jsonLine } from './fixtures.js';
import { dumpCustomers, fieldsOf, importFixture, rejections, rowVersions, writeTemp, type ImportFixture } from './testing.js';

const people: SyntheticCustomer[] = [...generateCustomers(10)];
const c = (i: number) => people[i]!;
const line = (values: string[]) => values.map(csvField).join(',');
const spaced = (m: string) => `+86 ${m.slice(0, 3)} ${m.slice(3, 7)} ${m.slice(7)}`;
// An ID number of the opposite sex with c5's birth date, for the contradiction row.
const otherSexId = (id: string) => {
  const first17 = id.slice(0, 16) + String((Number(id[16]) + 1) % 10);
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...first17].reduce((s, d, i) => s + Number(d) * weights[i]!, 0);
  return first17 + '10X98765432'[sum % 11];
};

/** Good and bad rows, BOM, CRLF, quoted fields: 5 good rows (lines 2, 3, 7, 13, 15), 7 rejected. */
function mixedCsv(): string {
  const v = (i: number) => csvValues(c(i));
  const quoted = v(1);
  quoted[1] = '王,"小"明'; quoted[2] = spaced(c(1).mobile); quoted[4] = ''; quoted[5] = ''; quoted[13] = '是';
  const everything = ['CIF-BAD-ALL', '', '12345678901', c(2).idNumber.slice(0, 17) + (c(2).idNumber[17] === '1' ? '2' : '1'), '2001-02-30', 'X',
    'br-nowhere', '-5', 'R6', '2026-13-01', 'p-nope', '土豪', 'yesterday', 'maybe'];
  const twoLines = v(2); twoLines[1] = '两行\r\n名字';
  const short = v(4).slice(0, 12);
  const duplicate = v(4); duplicate[0] = c(0).cifNo;
  const mismatch = v(5); mismatch[3] = otherSexId(c(5).idNumber); mismatch[4] = '1990-01-01';
  const decimals = v(6); decimals[7] = '12.345';
  const sparse = v(7); sparse[8] = ''; sparse[9] = ''; sparse[10] = ''; sparse[11] = ''; sparse[12] = '2026-11-01 09:30:00'; sparse[13] = '0';
  const stray = line(v(8)).replace(csvField(c(8).name), `"${c(8).name}"x`);
  const rows = [
    CSV_HEADER, line(v(0)), `${line(quoted.slice(0, 10))},"${quoted[10]}",${line(quoted.slice(11))}`, line(everything), line(twoLines), line(v(3)),
    line(short), '', line(duplicate), line(mismatch), line(decimals), line(sparse), stray, line(v(9)),
  ];
  return '\uFEFF' + rows.join('\r\n');
}

describe('importing customer files', () => {
  let f: ImportFixture;
  beforeEach(async () => {
    f = await importFixture();
  });
  afterEach(async () => {
    await f.handle.close();
  });

  it('stores the good rows of a CSV and rejects each bad row with its line and every reason', async () => {
    const file = writeTemp('mixed.csv', mixedCsv());
    const summary = await importCustomers(f.deps, { path: file, createdBy: 'tester' });
    expect(summary).to.include({ status: 'done', resumed: false, processedRows: 12, totalRows: 12, inserted: 5, updated: 0, unchanged: 0, rejected: 7 });

    const rejected = await rejections(f.db, summary.importId);
    expect(rejected.map((r) => [r.line_number, r.cif_no])).to.deep.equal([
      [4, 'CIF-BAD-ALL'], [5, c(2).cifNo], [8, c(4).cifNo], [10, c(0).cifNo], [11, c(5).cifNo], [12, c(6).cifNo], [14, c(8).cifNo],
    ]);
    expect(fieldsOf(rejected[0]!.reasons)).to.have.members([
      'name', 'mobile', 'id_number', 'birth_date', 'gender', 'branch_id', 'aum', 'risk_level', 'risk_assessed_at', 'products', 'segments', 'last_txn_at', 'marketing_consent',
    ]);
    expect(rejected[1]!.reasons).to.deep.equal([{ field: 'name', message: 'contains control characters' }]);
    expect(fieldsOf(rejected[2]!.reasons)).to.deep.equal(['csv']);
    expect(rejected[3]!.reasons).to.deep.equal([{ field: 'cif_no', message: 'appears again: already imported from line 2 of this file' }]);
    expect(fieldsOf(rejected[4]!.reasons)).to.deep.equal(['birth_date', 'gender']);
    expect(fieldsOf(rejected[5]!.reasons)).to.deep.equal(['aum']);
    expect(rejected[6]!.reasons).to.deep.equal([{ field: 'csv', message: 'field 2: characters after a closing quote' }]);
    // No reason echoes a mobile or ID number.
    expect(JSON.stringify(rejected)).not.to.match(/1[3-9]\d{9}|\d{17}[\dX]/);

    const page = await listRejections(f.db, summary.importId, { limit: 2, offset: 1 });
    expect(page.total).to.equal(7);
    expect(page.items.map((r) => r.lineNumber)).to.deep.equal([5, 8]);
    const stored = await getImport(f.db, summary.importId);
    expect(stored).to.include({ status: 'done', processedRows: 12, inserted: 5, rejected: 7, createdBy: 'tester', byteOffset: Buffer.byteLength(mixedCsv()), lineNumber: 14 });
  });

  it('encrypts mobile and ID numbers, finds them by lookup hash and fills gender and birth date from the ID number', async () => {
    await importCustomers(f.deps, { path: writeTemp('mixed.csv', mixedCsv()) });
    const byMobile = await f.db.selectFrom('customers').selectAll().where('mobile_hash', '=', f.cipher.lookupHash('mobile', c(1).mobile)).executeTakeFirstOrThrow();
    expect(byMobile).to.include({ cif_no: c(1).cifNo, name: '王,"小"明', gender: c(1).gender, birth_date: c(1).birthDate, marketing_consent: true });
    expect(byMobile.mobile_enc).not.to.include(c(1).mobile);
    expect(f.cipher.decrypt(byMobile.mobile_enc!)).to.equal(c(1).mobile);
    expect(byMobile.id_number_hash).to.equal(f.cipher.lookupHash('id_number', c(1).idNumber));
    expect(f.cipher.decrypt(byMobile.id_number_enc!)).to.equal(c(1).idNumber);
    expect(byMobile.products).to.deep.equal(c(1).products);

    const sparse = (await dumpCustomers(f.db, f.cipher)).find((r) => r.cif_no === c(7).cifNo)!;
    expect(sparse).to.include({ risk_level: null, risk_assessed_at: null, marketing_consent: false, last_txn_at: '2026-11-01T01:30:00.000Z' });
    expect(sparse.products).to.deep.equal([]);
    expect(Number(sparse.aum)).to.equal(c(7).aum);
  });

  it('changes nothing when the same file is imported again', async () => {
    const file = writeTemp('mixed.csv', mixedCsv());
    const first = await importCustomers(f.deps, { path: file });
    const before = await rowVersions(f.db);
    const again = await importCustomers(f.deps, { path: file });
    expect(again.importId).not.to.equal(first.importId);
    expect(again).to.include({ status: 'done', resumed: false, processedRows: 12, inserted: 0, updated: 0, unchanged: 5, rejected: 7 });
    expect(await rowVersions(f.db)).to.deep.equal(before);
    expect((await rejections(f.db, again.importId)).map((r) => r.line_number)).to.deep.equal([4, 5, 8, 10, 11, 12, 14]);
  });

  it('updates exactly the rows that changed', async () => {
    const original = [CSV_HEADER, ...people.map(csvLine)].join('\n');
    await importCustomers(f.deps, { path: writeTemp('v1.csv', original) });
    const before = await rowVersions(f.db);
    const newMobile = '13900000001';
    const changed = people.map((p, i) => (i === 0 ? { ...p, mobile: newMobile } : i === 3 ? { ...p, aum: p.aum + 1 } : p));
    const summary = await importCustomers(f.deps, { path: writeTemp('v2.csv', [CSV_HEADER, ...changed.map(csvLine)].join('\n')) });
    expect(summary).to.include({ inserted: 0, updated: 2, unchanged: 8, rejected: 0 });

    const after = await rowVersions(f.db);
    const moved = after.filter((r, i) => r.updated_at.getTime() !== before[i]!.updated_at.getTime()).map((r) => r.cif_no);
    expect(moved).to.have.members([c(0).cifNo, c(3).cifNo]);
    const found = await f.db.selectFrom('customers').select(['cif_no']).where('mobile_hash', '=', f.cipher.lookupHash('mobile', newMobile)).execute();
    expect(found.map((r) => r.cif_no)).to.deep.equal([c(0).cifNo]);
  });

  it('imports JSON Lines with arrays, numbers and booleans exactly as the same rows in CSV', async () => {
    const lines = [...people.slice(0, 8).map(jsonLine), '{"cif_no": "CIF-BROKEN", ', '[1, 2]', '', jsonLine({ ...c(8), segments: ['新客', '土豪'] })];
    const summary = await importCustomers(f.deps, { path: writeTemp('people.jsonl', lines.join('\n') + '\n') });
    expect(summary).to.include({ format: 'jsonl', processedRows: 11, inserted: 8, rejected: 3 });
    const rejected = await rejections(f.db, summary.importId);
    expect(rejected.map((r) => [r.line_number, fieldsOf(r.reasons)])).to.deep.equal([[9, ['json']], [10, ['json']], [12, ['segments']]]);
    expect((rejected[0]!.reasons as { message: string }[])[0]!.message).to.match(/^the line is not valid JSON/);

    const asCsv = await importCustomers(f.deps, { path: writeTemp('people.csv', [CSV_HEADER, ...people.slice(0, 8).map(csvLine)].join('\n')) });
    expect(asCsv).to.include({ inserted: 0, updated: 0, unchanged: 8 });
  });

  it('fails a file whose header lacks a column, naming it, and stores nothing', async () => {
    const header = CSV_HEADER.replace(',aum', '');
    const file = writeTemp('no-aum.csv', [header, line(csvValues(c(0)).filter((_, i) => i !== 7))].join('\n'));
    const failure = await importCustomers(f.deps, { path: file }).then(() => undefined, (e: unknown) => e as Error);
    expect(failure?.message).to.equal('the header row (line 1) lacks column(s): aum');
    const stored = await f.db.selectFrom('imports').select(['status', 'error']).executeTakeFirstOrThrow();
    expect(stored).to.deep.equal({ status: 'failed', error: 'the header row (line 1) lacks column(s): aum' });
    expect((await dumpCustomers(f.db, f.cipher)).length).to.equal(0);
  });
});
