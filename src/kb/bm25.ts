/**
 * BM25F over a fixed set of documents, built once and searched many times.
 *
 * Each document has the same named fields, each a list of terms. A term's frequency in a document
 * is the weighted sum of its length-normalised frequencies in the fields,
 *   tf~ = Σ_f w_f · tf_f / (1 − b_f + b_f · len_f / avglen_f),
 * and the document scores Σ_t idf(t) · tf~ (k1 + 1) / (k1 + tf~) over the query's distinct terms,
 * with idf(t) = ln(1 + (N − df + 0.5) / (df + 0.5)).
 *
 * Everything a query needs is computed at build time: per term, the ids of the documents holding
 * it and their finished contributions (postings). A query adds up a few postings lists into a
 * reusable accumulator and keeps the best k, so its cost grows with the postings it touches, not
 * with the number of documents.
 */
export interface FieldSpec {
  name: string;
  weight: number;
  /** Length normalisation, 0 (none) … 1 (full). */
  b: number;
}

export interface Bm25Options {
  k1: number;
  fields: readonly FieldSpec[];
}

export interface ScoredDoc {
  doc: number;
  score: number;
}

interface Postings {
  docs: Int32Array;
  weights: Float64Array;
  idf: number;
}

export class Bm25Index {
  readonly size: number;
  private readonly postings = new Map<string, Postings>();
  private readonly accumulator: Float64Array;
  private readonly touched: Int32Array;
  /** Mean idf over the vocabulary: what an unknown query term is assumed to be worth. */
  readonly meanIdf: number;

  /** `docs[d][f]` holds the terms of field `f` (in `options.fields` order) of document `d`. */
  constructor(docs: readonly (readonly (readonly string[])[])[], readonly options: Bm25Options) {
    const { fields, k1 } = options;
    this.size = docs.length;
    const avg = fields.map((_, f) => {
      let total = 0;
      for (const doc of docs) total += doc[f]?.length ?? 0;
      return docs.length ? Math.max(total / docs.length, 1) : 1;
    });
    const building = new Map<string, { docs: number[]; tf: number[] }>();
    const tf = new Map<string, number>();
    docs.forEach((doc, d) => {
      tf.clear();
      fields.forEach((field, f) => {
        const terms = doc[f] ?? [];
        if (!terms.length || field.weight === 0) return;
        const norm = field.weight / (1 - field.b + (field.b * terms.length) / avg[f]!);
        for (const term of terms) tf.set(term, (tf.get(term) ?? 0) + norm);
      });
      for (const [term, value] of tf) {
        let p = building.get(term);
        if (!p) building.set(term, (p = { docs: [], tf: [] }));
        p.docs.push(d);
        p.tf.push(value);
      }
    });
    const n = docs.length;
    let idfSum = 0;
    for (const [term, p] of building) {
      const df = p.docs.length;
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
      idfSum += idf;
      const weights = new Float64Array(df);
      for (let i = 0; i < df; i++) weights[i] = (idf * p.tf[i]! * (k1 + 1)) / (k1 + p.tf[i]!);
      this.postings.set(term, { docs: Int32Array.from(p.docs), weights, idf });
    }
    this.meanIdf = building.size ? idfSum / building.size : 0;
    this.accumulator = new Float64Array(n);
    this.touched = new Int32Array(n);
  }

  idf(term: string): number | undefined {
    return this.postings.get(term)?.idf;
  }

  has(term: string): boolean {
    return this.postings.has(term);
  }

  /** The contribution of a term present with combined frequency `tf` (for reference scores). */
  saturate(idf: number, tf: number): number {
    const { k1 } = this.options;
    return (idf * tf * (k1 + 1)) / (k1 + tf);
  }

  /**
   * The `k` best documents for the distinct `terms` (duplicates count once), best first; ties go
   * to the lower document number. `accept` filters documents (e.g. retired entries).
   */
  search(terms: Iterable<string>, k: number, accept?: (doc: number) => boolean): ScoredDoc[] {
    const acc = this.accumulator;
    const touched = this.touched;
    let count = 0;
    const seen = new Set<string>();
    for (const term of terms) {
      if (seen.has(term)) continue;
      seen.add(term);
      const p = this.postings.get(term);
      if (!p) continue;
      const { docs, weights } = p;
      for (let i = 0; i < docs.length; i++) {
        const d = docs[i]!;
        const before = acc[d]!;
        if (before === 0) touched[count++] = d;
        acc[d] = before + weights[i]!;
      }
    }
    const best: ScoredDoc[] = [];
    for (let i = 0; i < count; i++) {
      const d = touched[i]!;
      const score = acc[d]!;
      acc[d] = 0;
      if (k <= 0 || (accept && !accept(d))) continue;
      if (best.length === k) {
        const last = best[k - 1]!;
        if (score < last.score || (score === last.score && d > last.doc)) continue;
        best.pop();
      }
      let at = best.length;
      while (at > 0 && (best[at - 1]!.score < score || (best[at - 1]!.score === score && best[at - 1]!.doc > d))) at--;
      best.splice(at, 0, { doc: d, score });
    }
    return best;
  }
}
