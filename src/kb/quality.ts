import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { KbIndex, type IndexConfig, type KbSearchable } from './search.js';

/**
 * The labelled quality set (quality.jsonl): customer questions written for measuring, apart from
 * the entries' own alternative questions. A line is `{"q", "id"}` (the entry that answers it;
 * handoff expected as that entry's flag unless `handoff` says otherwise) or `{"q", "handoff": true}`
 * (a handoff phrasing with no single entry). Top-1/top-3 count the lines with an id.
 */
export const QUALITY_PATH = fileURLToPath(new URL('./quality.jsonl', import.meta.url));
/** 60 further questions, one per entry, written after the lexicon was tuned on quality.jsonl and never tuned against. */
export const HOLDOUT_PATH = fileURLToPath(new URL('./holdout.jsonl', import.meta.url));

const itemSchema = z.object({ q: z.string().min(1), id: z.string().optional(), handoff: z.boolean().optional() });
export type QualityItem = z.infer<typeof itemSchema>;

export function loadQualitySet(path = QUALITY_PATH): QualityItem[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .flatMap((line, i) => {
      if (!line.trim()) return [];
      const parsed = itemSchema.safeParse(JSON.parse(line));
      if (!parsed.success) throw new Error(`${path}:${i + 1}: ${parsed.error.message}`);
      return [parsed.data];
    });
}

export interface QualityMiss {
  q: string;
  expected: string;
  got: string[];
}

export interface QualityReport {
  config: string;
  /** Lines with an expected entry. */
  questions: number;
  top1: number;
  top3: number;
  /** Lines expecting handoff, and the share flagged. */
  handoffExpected: number;
  handoffDetected: number;
  /** Lines not expecting handoff, and the share wrongly flagged. */
  nonHandoff: number;
  falseHandoff: number;
  misses: QualityMiss[];
  handoffMisses: string[];
  falseHandoffs: string[];
}

export function measureQuality(entries: readonly KbSearchable[], items: readonly QualityItem[], config: IndexConfig): QualityReport {
  const index = new KbIndex(entries, config);
  const flags = new Map(entries.map((e) => [e.id, e.handoff]));
  let questions = 0, top1 = 0, top3 = 0, handoffExpected = 0, handoffDetected = 0, nonHandoff = 0, falseHandoff = 0;
  const misses: QualityMiss[] = [];
  const handoffMisses: string[] = [];
  const falseHandoffs: string[] = [];
  for (const item of items) {
    const result = index.search(item.q, { topK: 3 });
    const ids = result.hits.map((h) => h.id);
    if (item.id !== undefined) {
      if (!flags.has(item.id)) throw new Error(`quality set: unknown entry ${item.id} for "${item.q}"`);
      questions++;
      if (ids[0] === item.id) top1++;
      if (ids.includes(item.id)) top3++;
      if (ids[0] !== item.id) misses.push({ q: item.q, expected: item.id, got: ids });
    }
    const expectHandoff = item.handoff ?? (item.id !== undefined && flags.get(item.id) === true);
    if (expectHandoff) {
      handoffExpected++;
      if (result.handoff) handoffDetected++;
      else handoffMisses.push(item.q);
    } else {
      nonHandoff++;
      if (result.handoff) {
        falseHandoff++;
        falseHandoffs.push(item.q);
      }
    }
  }
  const rate = (n: number, of: number) => (of ? n / of : 0);
  return {
    config: config.name,
    questions,
    top1: rate(top1, questions),
    top3: rate(top3, questions),
    handoffExpected,
    handoffDetected: rate(handoffDetected, handoffExpected),
    nonHandoff,
    falseHandoff: rate(falseHandoff, nonHandoff),
    misses,
    handoffMisses,
    falseHandoffs,
  };
}
