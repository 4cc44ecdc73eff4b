import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** The bank's FAQ as shipped in data/bank/kb.jsonl (ids kb-001 … kept unchanged when seeded). */
export const BANK_KB_PATH = fileURLToPath(new URL('../../data/bank/kb.jsonl', import.meta.url));

export const bankEntrySchema = z.object({
  id: z.string().regex(/^kb-\d{3,}$/),
  category: z.string().min(1).max(20),
  question: z.string().min(1),
  alt_questions: z.array(z.string().min(1)),
  answer: z.string().min(1),
  product_ids: z.array(z.string()),
  needs_disclaimer: z.boolean(),
  handoff: z.boolean(),
});

export interface BankEntry {
  id: string;
  category: string;
  question: string;
  altQuestions: string[];
  answer: string;
  productIds: string[];
  needsDisclaimer: boolean;
  handoff: boolean;
}

/** Parses a kb.jsonl file; a bad line fails with its line number. */
export function loadBankEntries(path = BANK_KB_PATH): BankEntry[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .flatMap((line, i) => {
      if (!line.trim()) return [];
      const parsed = bankEntrySchema.safeParse(JSON.parse(line));
      if (!parsed.success) throw new Error(`${path}:${i + 1}: ${parsed.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`);
      const e = parsed.data;
      return [{
        id: e.id, category: e.category, question: e.question, altQuestions: e.alt_questions, answer: e.answer,
        productIds: e.product_ids, needsDisclaimer: e.needs_disclaimer, handoff: e.handoff,
      }];
    });
}
