/**
 * Knowledge-base search quality: top-1 and top-3 accuracy, handoff detection and false-handoff rates
 * of the product's search and of the plain BM25 baseline, over the bank's 60 entries, on
 *   - src/kb/quality.jsonl: the labelled set the lexicon and weights were tuned on, and
 *   - src/kb/holdout.jsonl: 60 further questions written after tuning and not tuned against;
 * then what each part of the product's search contributes (each removed in turn, on quality.jsonl).
 *
 *   npm run kb:quality               # the table
 *   npm run kb:quality -- --misses   # and every question whose entry was not first
 *
 * The last stdout line is the product's and the baseline's figures on quality.jsonl as JSON.
 */
import { loadBankEntries } from '../src/kb/bank.js';
import { HOLDOUT_PATH, loadQualitySet, measureQuality, type QualityReport } from '../src/kb/quality.js';
import { BASELINE_CONFIG, PRODUCT_CONFIG, type IndexConfig } from '../src/kb/search.js';
import { BANK_LEXICON, Tokenizer } from '../src/kb/tokenize.js';

const showMisses = process.argv.includes('--misses');
const entries = loadBankEntries();
const quality = loadQualitySet();
const holdout = loadQualitySet(HOLDOUT_PATH);

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const row = (set: string, r: QualityReport) =>
  `| ${set} | ${r.config} | ${r.questions} | ${pct(r.top1)} | ${pct(r.top3)} | ${r.handoffExpected ? pct(r.handoffDetected) : '–'} | ${pct(r.falseHandoff)} |`;

const lexiconWithout = (part: 'words' | 'synonyms' | 'stopWords'): IndexConfig => {
  let tokenizer: Tokenizer | undefined;
  return { ...PRODUCT_CONFIG, name: `without ${part === 'words' ? 'bank words' : part === 'synonyms' ? 'synonyms' : 'stop words'}`, tokenizer: () => (tokenizer ??= new Tokenizer({ ...BANK_LEXICON, [part]: [] })) };
};
const ablations: IndexConfig[] = [
  lexiconWithout('words'),
  lexiconWithout('synonyms'),
  lexiconWithout('stopWords'),
  { ...PRODUCT_CONFIG, name: 'without bigrams', weights: { ...PRODUCT_CONFIG.weights, grams: 0 } },
  { ...PRODUCT_CONFIG, name: 'questions and answers weighted equally', weights: { question: 1, alt: 1, answer: 1, grams: PRODUCT_CONFIG.weights.grams } },
  { ...PRODUCT_CONFIG, name: 'without the answer field', weights: { ...PRODUCT_CONFIG.weights, answer: 0 } },
  { ...PRODUCT_CONFIG, name: 'without handoff topics', detectTopics: false },
];

const results: { set: string; report: QualityReport }[] = [];
for (const [set, items] of [['quality.jsonl', quality], ['holdout.jsonl', holdout]] as const) {
  for (const config of [PRODUCT_CONFIG, BASELINE_CONFIG]) results.push({ set, report: measureQuality(entries, items, config) });
}

console.log(`Knowledge base: ${entries.length} entries; quality.jsonl ${quality.length} lines, holdout.jsonl ${holdout.length} lines\n`);
console.log('| set | search | questions | top-1 | top-3 | handoff detected | false handoff |');
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const { set, report } of results) console.log(row(set, report));

console.log('\nAblations (quality.jsonl): the product search with one part removed\n');
console.log('| search | top-1 | top-3 | handoff detected | false handoff |');
console.log('|---|---:|---:|---:|---:|');
for (const config of ablations) {
  const r = measureQuality(entries, quality, config);
  console.log(`| ${r.config} | ${pct(r.top1)} | ${pct(r.top3)} | ${pct(r.handoffDetected)} | ${pct(r.falseHandoff)} |`);
}

if (showMisses) {
  for (const { set, report } of results) {
    console.log(`\n${set}, ${report.config}: not first`);
    for (const m of report.misses) console.log(`  ${m.expected} ← ${m.got.join(', ') || '(no hits)'}  ${m.q}`);
    if (report.handoffMisses.length) console.log(`  handoff missed: ${report.handoffMisses.join(' / ')}`);
    if (report.falseHandoffs.length) console.log(`  false handoff: ${report.falseHandoffs.join(' / ')}`);
  }
}

const summary = (r: QualityReport) => ({ top1: round(r.top1), top3: round(r.top3), handoff: round(r.handoffDetected), falseHandoff: round(r.falseHandoff) });
const [product, baseline] = results.filter((r) => r.set === 'quality.jsonl').map((r) => r.report);
console.log(JSON.stringify({ quality: 'kb', questions: product!.questions, product: summary(product!), baseline: summary(baseline!) }));

function round(x: number) {
  return Math.round(x * 1000) / 1000;
}
