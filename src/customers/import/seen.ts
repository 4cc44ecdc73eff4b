/**
 * The CIF numbers an import has accepted so far, with the line of each, so that a CIF number that
 * appears again later in the file is rejected (the first occurrence wins, and a re-run of the same
 * file changes nothing). Kept compact: two independent 32-bit hashes per number (a false match
 * needs a 64-bit collision) in open-addressed typed arrays, about 24 bytes per row, instead of a
 * Map of strings that could also pin the file's chunks in memory.
 */
export class CifIndex {
  private h1: Uint32Array;
  private h2: Uint32Array;
  private lines: Int32Array;
  private mask: number;
  size = 0;

  constructor(capacity = 1 << 16) {
    let slots = 1 << 4;
    while (slots < capacity * 2) slots <<= 1;
    this.h1 = new Uint32Array(slots);
    this.h2 = new Uint32Array(slots);
    this.lines = new Int32Array(slots);
    this.mask = slots - 1;
  }

  /** The line of the earlier accepted row with this CIF number, or 0. */
  get(cif: string): number {
    const a = hashA(cif), b = hashB(cif);
    for (let i = a & this.mask; ; i = (i + 1) & this.mask) {
      const line = this.lines[i]!;
      if (line === 0) return 0;
      if (this.h1[i] === a && this.h2[i] === b) return line;
    }
  }

  add(cif: string, line: number): void {
    if (line < 1) throw new RangeError('line numbers start at 1');
    if ((this.size + 1) * 2 > this.lines.length) this.grow();
    if (this.put(hashA(cif), hashB(cif), line)) this.size++;
  }

  private put(a: number, b: number, line: number): boolean {
    for (let i = a & this.mask; ; i = (i + 1) & this.mask) {
      if (this.lines[i] === 0) {
        this.h1[i] = a;
        this.h2[i] = b;
        this.lines[i] = line;
        return true;
      }
      if (this.h1[i] === a && this.h2[i] === b) return false;
    }
  }

  private grow(): void {
    const { h1, h2, lines } = this;
    const slots = lines.length * 2;
    this.h1 = new Uint32Array(slots);
    this.h2 = new Uint32Array(slots);
    this.lines = new Int32Array(slots);
    this.mask = slots - 1;
    for (let i = 0; i < lines.length; i++) if (lines[i] !== 0) this.put(h1[i]!, h2[i]!, lines[i]!);
  }
}

function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** FNV-1a over UTF-16 code units, finalised. */
function hashA(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return fmix(h);
}

/** A different polynomial and seed, so the two hashes are independent. */
function hashB(s: string): number {
  let h = 0x9e3779b9 ^ s.length;
  for (let i = 0; i < s.length; i++) h = Math.imul(h + s.charCodeAt(i), 0x5bd1e995) ^ (h >>> 15);
  return fmix(h);
}
