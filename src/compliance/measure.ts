import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { checkMessage, type CheckResult } from './check.js';
import { compileRuleSet, toRule, type CompiledRuleSet } from './rules.js';
import { SEED_RULES } from './seed.js';

/**
 * Both kinds of error on the labelled set (labelled.jsonl):
 * - missed blocks: expected block, got pass or warn (a promise that would leave the bank);
 * - false blocks: expected pass, got block (a clean message stopped);
 * - false warns: expected pass, got warn (a clean message sent to a human for nothing);
 * - missed warns: expected warn, got pass.
 * Run `npx tsx src/compliance/measure.ts` to print the figures and every disagreement.
 */
export const labelledSchema = z.object({
  text: z.string().min(1),
  productIds: z.array(z.string()).optional(),
  expected: z.enum(['pass', 'warn', 'block']),
  note: z.string(),
});
export type Labelled = z.infer<typeof labelledSchema>;

export const LABELLED_PATH = fileURLToPath(new URL('./labelled.jsonl', import.meta.url));

export function loadLabelled(path = LABELLED_PATH): Labelled[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line, i) => {
      const parsed = labelledSchema.safeParse(JSON.parse(line));
      if (!parsed.success) throw new Error(`labelled.jsonl line ${i + 1}: ${parsed.error.message}`);
      return parsed.data;
    });
}

export interface Measurement {
  total: number;
  counts: Record<'pass' | 'warn' | 'block', number>;
  missedBlocks: number;
  falseBlocks: number;
  falseWarns: number;
  missedWarns: number;
  /** Shares of the expected class. */
  missedBlockRate: number;
  falseBlockRate: number;
  falseWarnOrBlockRate: number;
  missedWarnRate: number;
  disagreements: Array<{ text: string; expected: string; got: string; note: string; findings: string[] }>;
}

export function measure(items: readonly Labelled[], rules: CompiledRuleSet): Measurement {
  const counts = { pass: 0, warn: 0, block: 0 };
  let missedBlocks = 0, falseBlocks = 0, falseWarns = 0, missedWarns = 0;
  const disagreements: Measurement['disagreements'] = [];
  for (const item of items) {
    counts[item.expected]++;
    const result: CheckResult = checkMessage({ text: item.text, productIds: item.productIds }, rules);
    const got = result.verdict;
    if (item.expected === 'block' && got !== 'block') missedBlocks++;
    if (item.expected === 'pass' && got === 'block') falseBlocks++;
    if (item.expected === 'pass' && got === 'warn') falseWarns++;
    if (item.expected === 'warn' && got === 'pass') missedWarns++;
    if (got !== item.expected) {
      disagreements.push({ text: item.text, expected: item.expected, got, note: item.note, findings: result.findings.map((f) => `${f.rule}@${f.start}`) });
    }
  }
  const share = (n: number, of: number) => (of === 0 ? 0 : n / of);
  return {
    total: items.length,
    counts,
    missedBlocks,
    falseBlocks,
    falseWarns,
    missedWarns,
    missedBlockRate: share(missedBlocks, counts.block),
    falseBlockRate: share(falseBlocks, counts.pass),
    falseWarnOrBlockRate: share(falseBlocks + falseWarns, counts.pass),
    missedWarnRate: share(missedWarns, counts.warn),
    disagreements,
  };
}

export const seedRuleSet = () => compileRuleSet(1, SEED_RULES.map(toRule));

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const m = measure(loadLabelled(), seedRuleSet());
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  console.log(`messages ${m.total} (pass ${m.counts.pass}, warn ${m.counts.warn}, block ${m.counts.block})`);
  console.log(`missed blocks ${m.missedBlocks}/${m.counts.block} (${pct(m.missedBlockRate)})`);
  console.log(`false blocks ${m.falseBlocks}/${m.counts.pass} (${pct(m.falseBlockRate)})`);
  console.log(`false warn or block ${m.falseBlocks + m.falseWarns}/${m.counts.pass} (${pct(m.falseWarnOrBlockRate)})`);
  console.log(`missed warns ${m.missedWarns}/${m.counts.warn} (${pct(m.missedWarnRate)})`);
  for (const d of m.disagreements) console.log(`  expected ${d.expected}, got ${d.got}: ${d.text}  [${d.note}] ${d.findings.join(' ')}`);
}
