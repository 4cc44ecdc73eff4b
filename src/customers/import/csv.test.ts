import { expect } from 'chai';
import { CsvFormatError, readCsv, type CsvRecord } from './csv.js';

async function* chunksOf(buf: Buffer, cuts: number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (const cut of cuts) {
    yield buf.subarray(at, cut);
    at = cut;
  }
  yield buf.subarray(at);
}

async function parse(buf: Buffer, cuts: number[] = [], options = {}): Promise<CsvRecord[]> {
  const out: CsvRecord[] = [];
  for await (const records of readCsv(chunksOf(buf, cuts), options)) out.push(...records);
  return out;
}

const BOM = '\uFEFF';
const SAMPLE = Buffer.from(
  BOM +
    'cif_no,name,note\r\n' +
    'C1,"王,""小""明",plain\r\n' +
    'C2,"两行\r\n的名字",x\r\n' +
    '\r\n' +
    'C3,张三,"末尾"\n' +
    'C4,,""\r\n' +
    'C5,李四,last',
  'utf8',
);

describe('the CSV reader', () => {
  it('reads quoted fields with commas, doubled quotes and line breaks, and skips a BOM and blank lines', async () => {
    const records = await parse(SAMPLE);
    expect(records.map((r) => r.fields)).to.deep.equal([
      ['cif_no', 'name', 'note'],
      ['C1', '王,"小"明', 'plain'],
      ['C2', '两行\r\n的名字', 'x'],
      ['C3', '张三', '末尾'],
      ['C4', '', ''],
      ['C5', '李四', 'last'],
    ]);
    expect(records.every((r) => r.error === undefined)).to.equal(true);
  });

  it('gives each record the physical line it starts on and the byte offset after it', async () => {
    const records = await parse(SAMPLE);
    expect(records.map((r) => r.line)).to.deep.equal([1, 2, 3, 6, 7, 8]);
    expect(records.map((r) => r.endLine)).to.deep.equal([1, 2, 4, 6, 7, 7]);
    const text = SAMPLE.toString('utf8');
    const c3 = Buffer.byteLength(text.slice(0, text.indexOf('C3')));
    expect(records[2]!.end + 2).to.equal(c3); // the blank line's CRLF sits between them
    expect(records[5]!.end).to.equal(SAMPLE.length);
  });

  it('reads the same records however the bytes are split into chunks', async () => {
    const whole = await parse(SAMPLE);
    for (let cut = 1; cut < SAMPLE.length; cut++) {
      expect(await parse(SAMPLE, [cut]), `split at byte ${cut}`).to.deep.equal(whole);
    }
    const bytewise = Array.from({ length: SAMPLE.length - 1 }, (_, i) => i + 1);
    expect(await parse(SAMPLE, bytewise)).to.deep.equal(whole);
  });

  it('continues from a byte offset and line count without treating the data as the start of a file', async () => {
    const whole = await parse(SAMPLE);
    const from = whole[1]!;
    const rest = await parse(SAMPLE.subarray(from.end), [], { offset: from.end, line: from.endLine });
    expect(rest).to.deep.equal(whole.slice(2));
  });

  it('ends a record at a lone CR as well', async () => {
    const records = await parse(Buffer.from('a,b\rc,d\r'));
    expect(records.map((r) => [r.fields, r.line])).to.deep.equal([[['a', 'b'], 1], [['c', 'd'], 2]]);
  });

  it('reports characters after a closing quote and a quote left open at the end of the file', async () => {
    const records = await parse(Buffer.from('a,"b"x,c\nd,"never closed\n'));
    expect(records[0]!.fields).to.deep.equal(['a', 'bx', 'c']);
    expect(records[0]!.error).to.match(/field 2: characters after a closing quote/);
    expect(records[1]!.fields).to.deep.equal(['d', 'never closed\n']);
    expect(records[1]!.error).to.match(/field 2: quoted field is not closed/);
  });

  it('refuses a record longer than the limit instead of reading the rest of the file into it', async () => {
    const runaway = Buffer.from('a,"' + 'x'.repeat(5000) + '\nb,c\n');
    const failure = await parse(runaway, [1000, 2000, 3000, 4000], { maxRecordBytes: 1024 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).to.be.instanceOf(CsvFormatError);
    expect((failure as Error).message).to.match(/^line 1: a record longer than 1024 bytes/);
  });
});
