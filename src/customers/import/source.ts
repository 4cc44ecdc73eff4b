import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { CsvFormatError, readCsv } from './csv.js';
import type { Reason } from './validate.js';

/**
 * Records of a customer file, CSV or JSON Lines, with the physical line where each starts and the
 * byte offset where it ends, read from any byte offset (the resume point of an import).
 */
export type ImportFormat = 'csv' | 'jsonl';

export interface SourceRecord {
  line: number;
  endLine: number;
  end: number;
  /** Field values in COLUMNS order; undefined when the record could not be read at all. */
  values?: unknown[];
  /** For a record that could not be read: its CIF number, when it can be told. */
  cifNo?: string;
  /** Problems reading the record itself (field count, quoting, JSON syntax). */
  problems?: Reason[];
}

export const COLUMNS = [
  'cif_no', 'name', 'mobile', 'id_number', 'birth_date', 'gender', 'branch_id', 'aum', 'risk_level',
  'risk_assessed_at', 'products', 'segments', 'last_txn_at', 'marketing_consent',
] as const;
export type Column = (typeof COLUMNS)[number];
const OPTIONAL_COLUMNS = new Set(['gender']);

/** A problem with the file as a whole (no header, a missing column, a runaway quote): the import fails. */
export class ImportFileError extends Error {
  override name = 'ImportFileError';
}

export interface CsvHeader {
  columns: string[];
  /** For each of COLUMNS, its position in the file (-1: absent). */
  positions: number[];
  /** Byte offset and line count where the data starts. */
  end: number;
  endLine: number;
}

const HIGH_WATER = 1 << 20;

export function formatOf(path: string): ImportFormat {
  if (/\.csv$/i.test(path)) return 'csv';
  if (/\.(jsonl|ndjson)$/i.test(path)) return 'jsonl';
  throw new ImportFileError(`cannot tell the format of ${path}: name it .csv or .jsonl, or pass format`);
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path, { highWaterMark: HIGH_WATER }), new Writable({ write: (c: Buffer, _e, done) => (hash.update(c), done()) }));
  return hash.digest('hex');
}

/** The header row: column names (trimmed, lower-case), every required column present, none twice. */
export async function readCsvHeader(path: string): Promise<CsvHeader> {
  for await (const records of readCsv(createReadStream(path, { highWaterMark: 64 * 1024 }))) {
    const first = records[0]!;
    const columns = first.fields.map((f) => f.trim().toLowerCase());
    const missing = COLUMNS.filter((c) => !OPTIONAL_COLUMNS.has(c) && !columns.includes(c));
    if (missing.length) throw new ImportFileError(`the header row (line ${first.line}) lacks column(s): ${missing.join(', ')}`);
    const twice = columns.filter((c, i) => c && columns.indexOf(c) !== i);
    if (twice.length) throw new ImportFileError(`the header row names column(s) twice: ${[...new Set(twice)].join(', ')}`);
    return { columns, positions: COLUMNS.map((c) => columns.indexOf(c)), end: first.end, endLine: first.endLine };
  }
  throw new ImportFileError('the file is empty: a CSV file needs a header row');
}

export interface ReadFrom {
  offset: number;
  line: number;
  /** Stop before this byte offset (used to re-read the part of the file an interrupted import committed). */
  until?: number;
}

/** Yields records in arrays (one per chunk read). */
export async function* readRecords(path: string, format: ImportFormat, header: CsvHeader | undefined, from: ReadFrom): AsyncGenerator<SourceRecord[]> {
  if (from.until !== undefined && from.until <= from.offset) return;
  const stream = createReadStream(path, {
    start: from.offset,
    ...(from.until !== undefined ? { end: from.until - 1 } : {}),
    highWaterMark: HIGH_WATER,
  });
  if (format === 'jsonl') {
    yield* readJsonl(stream, from);
    return;
  }
  if (!header) throw new Error('a CSV file is read with its header');
  const width = header.columns.length, positions = header.positions;
  try {
    for await (const records of readCsv(stream, { offset: from.offset, line: from.line })) {
      yield records.map((r): SourceRecord => {
        const { line, endLine, end, fields } = r;
        if (fields.length !== width) {
          const problems = [{ field: 'csv', message: `expected ${width} fields as in the header, found ${fields.length}` }];
          if (r.error) problems.unshift({ field: 'csv', message: r.error });
          const cifNo = positions[0]! < fields.length ? fields[positions[0]!]!.trim() : '';
          return cifNo ? { line, endLine, end, problems, cifNo } : { line, endLine, end, problems };
        }
        const values = positions.map((p) => (p < 0 ? '' : fields[p]));
        return r.error ? { line, endLine, end, values, problems: [{ field: 'csv', message: r.error }] } : { line, endLine, end, values };
      });
    }
  } catch (error) {
    if (error instanceof CsvFormatError) throw new ImportFileError(error.message);
    throw error;
  }
}

const LF = 0x0a;

async function* readJsonl(chunks: AsyncIterable<Buffer>, from: ReadFrom): AsyncGenerator<SourceRecord[]> {
  let base = from.offset, line = from.line, rest: Buffer = Buffer.alloc(0);
  const parse = (buf: Buffer, start: number, stop: number, next: number): SourceRecord | undefined => {
    line++;
    let s = start, e = stop;
    if (base + s === 0 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) s = 3;
    while (e > s && (buf[e - 1] === 0x0d || buf[e - 1] === 0x20 || buf[e - 1] === 0x09)) e--;
    while (s < e && (buf[s] === 0x20 || buf[s] === 0x09)) s++;
    if (s === e) return undefined;
    const record = { line, endLine: line, end: base + next };
    try {
      const value: unknown = JSON.parse(buf.toString('utf8', s, e));
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        return { ...record, problems: [{ field: 'json', message: 'the line is not a JSON object' }] };
      }
      const row = value as Record<string, unknown>;
      return { ...record, values: COLUMNS.map((c) => row[c]) };
    } catch (error) {
      // The parser's message quotes the line, which may hold personal data: keep only the position.
      const at = /position (\d+)/.exec((error as Error).message)?.[1];
      return { ...record, problems: [{ field: 'json', message: `the line is not valid JSON${at ? ` (at character ${Number(at) + 1})` : ''}` }] };
    }
  };
  for await (const chunk of chunks) {
    const buf: Buffer = rest.length ? Buffer.concat([rest, chunk]) : chunk;
    const out: SourceRecord[] = [];
    let p = 0;
    for (let k = buf.indexOf(LF, p); k !== -1; k = buf.indexOf(LF, p)) {
      const r = parse(buf, p, k, k + 1);
      if (r) out.push(r);
      p = k + 1;
    }
    rest = buf.subarray(p);
    base += p;
    if (rest.length > 16 << 20) throw new ImportFileError(`line ${line + 1}: longer than 16 MiB`);
    if (out.length) yield out;
  }
  if (rest.length) {
    const r = parse(rest, 0, rest.length, rest.length);
    if (r) yield [r];
  }
}
