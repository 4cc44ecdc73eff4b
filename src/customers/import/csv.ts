/**
 * A streaming RFC 4180 reader that works on bytes, so every record knows the byte offset where it
 * ends (the resume point of an import) and the physical line where it starts (what an editor shows).
 * The delimiters (" , CR LF) are ASCII, and UTF-8 never uses ASCII bytes inside a multi-byte
 * character, so scanning bytes is safe; fields are decoded one by one.
 *
 * Lenient where files in the wild are: LF or CRLF (or a lone CR) ends a record, a quote inside an
 * unquoted field is literal, and a blank line is skipped. A record with characters after a closing
 * quote, or an unterminated quote at the end of the file, is returned with an `error` for the caller
 * to reject. A record longer than `maxRecordBytes` (an unbalanced quote swallowing the file) throws.
 */
export interface CsvRecord {
  fields: string[];
  /** Physical line (1-based) where the record starts. */
  line: number;
  /** Physical lines consumed up to the end of this record. */
  endLine: number;
  /** Byte offset just after the record and its line break. */
  end: number;
  error?: string;
}

export interface CsvReadOptions {
  /** Byte offset of the first chunk in the file (0 strips a UTF-8 BOM). */
  offset?: number;
  /** Lines consumed before `offset`. */
  line?: number;
  maxRecordBytes?: number;
}

export class CsvFormatError extends Error {
  override name = 'CsvFormatError';
}

const QUOTE = 0x22, COMMA = 0x2c, LF = 0x0a, CR = 0x0d;
const DEFAULT_MAX_RECORD = 1 << 20;

/** Scans one record at `start`; returns undefined when the buffer ends first and more data may come. */
function scanRecord(buf: Buffer, start: number, final: boolean): { fields: string[]; next: number; newlines: number; error?: string } | undefined {
  const n = buf.length;
  const fields: string[] = [];
  let i = start, newlines = 0, error: string | undefined;
  for (;;) {
    let value: string;
    if (buf[i] === QUOTE) {
      let parts = '', seg = i + 1, j = i + 1;
      for (;;) {
        const q = buf.indexOf(QUOTE, j);
        if (q === -1) {
          if (!final) return undefined;
          error ??= `field ${fields.length + 1}: quoted field is not closed before the end of the file`;
          parts += buf.toString('utf8', seg, n);
          newlines += countLf(buf, seg, n);
          i = n;
          break;
        }
        if (q + 1 >= n && !final) return undefined;
        newlines += countLf(buf, seg, q);
        if (buf[q + 1] === QUOTE) {
          parts += buf.toString('utf8', seg, q + 1);
          seg = j = q + 2;
          continue;
        }
        parts += buf.toString('utf8', seg, q);
        i = q + 1;
        break;
      }
      value = parts;
      if (i < n && buf[i] !== COMMA && buf[i] !== LF && buf[i] !== CR) {
        // Characters after the closing quote: keep them so the row can be rejected with a reason.
        error ??= `field ${fields.length + 1}: characters after a closing quote`;
        let j = i;
        while (j < n && buf[j] !== COMMA && buf[j] !== LF && buf[j] !== CR) j++;
        if (j >= n && !final) return undefined;
        value += buf.toString('utf8', i, j);
        i = j;
      }
    } else {
      let j = i;
      while (j < n) {
        const b = buf[j];
        if (b === COMMA || b === LF || b === CR) break;
        j++;
      }
      if (j >= n && !final) return undefined;
      value = j > i ? buf.toString('utf8', i, j) : '';
      i = j;
    }
    fields.push(value);
    if (i >= n) return { fields, next: n, newlines, error };
    const b = buf[i];
    if (b === COMMA) {
      i++;
      continue;
    }
    if (b === LF) return { fields, next: i + 1, newlines: newlines + 1, error };
    // CR: CRLF, or a lone CR (old Mac files); at the buffer's end, wait to see which.
    if (i + 1 >= n && !final) return undefined;
    return { fields, next: buf[i + 1] === LF ? i + 2 : i + 1, newlines: newlines + 1, error };
  }
}

function countLf(buf: Buffer, from: number, to: number): number {
  let count = 0;
  for (let k = buf.indexOf(LF, from); k !== -1 && k < to; k = buf.indexOf(LF, k + 1)) count++;
  return count;
}

const isBlank = (buf: Buffer, start: number, next: number) => {
  for (let k = start; k < next; k++) if (buf[k] !== LF && buf[k] !== CR) return false;
  return true;
};

/**
 * Reads records from byte chunks, yielding them in arrays (one per chunk) to keep the per-record
 * cost low. Blank lines are counted but not yielded.
 */
export async function* readCsv(chunks: AsyncIterable<Buffer>, options: CsvReadOptions = {}): AsyncGenerator<CsvRecord[]> {
  const max = options.maxRecordBytes ?? DEFAULT_MAX_RECORD;
  let base = options.offset ?? 0;
  let line = options.line ?? 0;
  let rest: Buffer = Buffer.alloc(0);
  let atStart = base === 0;

  function* drain(buf: Buffer, final: boolean): Generator<CsvRecord[], number> {
    let p = 0;
    if (atStart) {
      if (buf.length < 3 && !final) return 0;
      if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) p = 3;
      atStart = false;
    }
    const out: CsvRecord[] = [];
    while (p < buf.length) {
      const r = scanRecord(buf, p, final);
      if (!r) {
        if (buf.length - p > max) throw new CsvFormatError(`line ${line + 1}: a record longer than ${max} bytes (an unbalanced quote?)`);
        break;
      }
      const first = line + 1;
      line += r.newlines;
      if (!isBlank(buf, p, r.next)) {
        out.push({ fields: r.fields, line: first, endLine: line, end: base + r.next, ...(r.error ? { error: r.error } : {}) });
      }
      p = r.next;
    }
    if (out.length) yield out;
    return p;
  }

  for await (const chunk of chunks) {
    const buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
    const used = yield* drain(buf, false);
    rest = buf.subarray(used);
    base += used;
  }
  if (rest.length) yield* drain(rest, true);
}
