/**
 * Benchmark of knowledge-base search: BENCH_KB_ENTRIES (default 5,000) entries — the bank's 60 and
 * synthetic ones generated deterministically from the product catalogue, banking topics and the real
 * answers' sentences — and BENCH_KB_QUERIES (default 10,000) queries: the labelled quality and
 * holdout questions, and questions made from random entries' questions with words dropped, filler
 * added and characters mistyped. Each query's latency is measured in-process around the product's
 * search function (`KbIndex.search`, top 3: segmentation, synonyms, postings, scoring, handoff
 * topics), after 1,000 warm-up queries, and the same for the plain BM25 baseline over the same
 * entries in the same run. No database: the index is what a search touches. Also measured: building
 * the index, and re-building it after one entry's edit (the analysis of unchanged entries reused).
 *
 *   npm run bench:kb
 *
 * The last stdout line is the result as JSON.
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import catalogue from '../../data/bank/products.json' with { type: 'json' };
import { loadBankEntries, type BankEntry } from '../../src/kb/bank.js';
import { HOLDOUT_PATH, loadQualitySet } from '../../src/kb/quality.js';
import { BASELINE_CONFIG, KbIndex, PRODUCT_CONFIG, type IndexConfig } from '../../src/kb/search.js';

const ENTRIES = Number(process.env.BENCH_KB_ENTRIES ?? 5_000);
const QUERIES = Number(process.env.BENCH_KB_QUERIES ?? 10_000);
const WARMUP = 1_000;

/** mulberry32: a small deterministic generator, so every run searches the same entries with the same queries. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
const random = prng(20_261_202);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

const PRODUCTS = (catalogue as readonly { name: string }[]).map((p) => p.name.replace(/（.*?）/g, ''));
const SUBJECTS = [
  ...PRODUCTS, '大额存单', '定期存款', '活期存款', '通知存款', '手机银行', '信用卡', '借记卡', '社保卡', '工资卡', '个人养老金账户',
  '消费贷', '房贷', '经营贷', '基金定投', '理财产品', '积存金', '外币存款', '网点', '积分', '转账', '挂失', '风险测评',
];
const ASPECTS = [
  '利率是多少', '起存金额是多少', '怎么办理', '手续费怎么收', '多久到账', '能提前支取吗', '有什么风险', '适合什么人', '在手机银行哪里操作',
  '需要带什么材料', '可以代办吗', '额度是多少', '能转让吗', '到期后怎么处理', '有优惠活动吗', '怎么查询', '怎么取消', '有年龄限制吗',
  '节假日能办吗', '会影响征信吗', '外地能办吗', '支持线上申请吗', '每天限额多少', '多久审批', '可以部分赎回吗',
];
const PLACES = ['杭州', '宁波', '上海', '西湖支行', '滨江支行', '鄞州支行', '浦东支行', '总行营业部'];
const FILLERS = ['请问', '你好，', '麻烦问下', '想咨询一下', '我想知道', '', '', ''];
const TAILS = ['？', '呀', '啊？', '', '，谢谢', '。'];
const TYPOS: Record<string, string> = { 利率: '利律', 账户: '帐户', 额度: '额渡', 到账: '到帐', 办理: '半理', 手续费: '手续废', 存款: '存欵' };

function generateEntries(real: readonly BankEntry[], total: number): BankEntry[] {
  const sentences = real.flatMap((e) => e.answer.split(/(?<=。)/).filter((s) => s.length > 4));
  const out: BankEntry[] = [...real];
  for (let n = real.length + 1; out.length < total; n++) {
    const subject = pick(SUBJECTS);
    const aspect = pick(ASPECTS);
    const place = random() < 0.3 ? pick(PLACES) : '';
    const question = `${place}${subject}${aspect}？`;
    const alts = Array.from({ length: 2 + Math.floor(random() * 2) }, () => `${pick(FILLERS)}${subject}${pick(ASPECTS)}`);
    const answer = `${subject}${aspect.replace(/吗$|是多少$/, '')}：${Array.from({ length: 2 + Math.floor(random() * 3) }, () => pick(sentences)).join('')}`;
    const base = pick(real);
    out.push({
      id: `kb-${String(n).padStart(4, '0')}`, category: base.category, question, altQuestions: alts, answer,
      productIds: [], needsDisclaimer: false, handoff: random() < 0.02,
    });
  }
  return out;
}

function perturb(question: string): string {
  let q = question.replace(/[？?。]$/, '');
  for (const [word, typo] of Object.entries(TYPOS)) if (q.includes(word) && random() < 0.3) q = q.replace(word, typo);
  if (q.length > 6 && random() < 0.4) {
    const at = 1 + Math.floor(random() * (q.length - 2));
    q = q.slice(0, at) + q.slice(at + 1);
  }
  return `${pick(FILLERS)}${q}${pick(TAILS)}`;
}

function generateQueries(entries: readonly BankEntry[], labelled: readonly string[], total: number): string[] {
  const out: string[] = [];
  while (out.length < total) {
    if (random() < 0.3) {
      out.push(pick(labelled));
    } else {
      const entry = pick(entries);
      out.push(perturb(random() < 0.5 || !entry.altQuestions.length ? entry.question : pick(entry.altQuestions)));
    }
  }
  return out;
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/**
 * Wall-clock latency of each search (the figure the target is about) and the CPU time the process
 * spent on it (`process.cpuUsage`, read outside the wall-clock window): on a shared machine a query
 * that waited for a core shows a long wall time and a short CPU time.
 */
function measure(config: IndexConfig, entries: readonly BankEntry[], queries: readonly string[]) {
  const builtAt = performance.now();
  const index = new KbIndex(entries, config);
  const buildMs = performance.now() - builtAt;
  const edited = entries.map((e, i) => (i === 7 ? { ...e, answer: `${e.answer}如有疑问请咨询客户经理。` } : e));
  const reindexAt = performance.now();
  new KbIndex(edited, config, index);
  const reindexMs = performance.now() - reindexAt;
  for (let i = 0; i < WARMUP; i++) index.search(queries[i % queries.length]!, { topK: 3 });
  const wall = new Float64Array(queries.length);
  const cpu = new Float64Array(queries.length);
  let found = 0;
  for (let i = 0; i < queries.length; i++) {
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    const result = index.search(queries[i]!, { topK: 3 });
    wall[i] = performance.now() - start;
    const used = process.cpuUsage(cpuStart);
    cpu[i] = (used.user + used.system) / 1000;
    if (result.hits.length) found++;
  }
  wall.sort();
  cpu.sort();
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    buildMs: Math.round(buildMs), reindexMs: Math.round(reindexMs), p50: round(quantile(wall, 0.5)), p99: round(quantile(wall, 0.99)), max: round(wall[wall.length - 1]!),
    cpuP50: round(quantile(cpu, 0.5)), cpuP99: round(quantile(cpu, 0.99)), withHits: found / queries.length,
  };
}

const describe = (name: string, r: ReturnType<typeof measure>) =>
  `${name}: build ${r.buildMs} ms (after one edit ${r.reindexMs} ms); wall p50 ${r.p50} ms, p99 ${r.p99} ms, max ${r.max} ms; cpu p50 ${r.cpuP50} ms, p99 ${r.cpuP99} ms; ${(r.withHits * 100).toFixed(1)} % with hits`;

const real = loadBankEntries();
const entries = generateEntries(real, ENTRIES);
const labelled = [...loadQualitySet(), ...loadQualitySet(HOLDOUT_PATH)].map((i) => i.q);
const queries = generateQueries(entries, labelled, QUERIES);

console.error(`kb bench: ${entries.length} entries (${real.length} real), ${queries.length} queries, Node ${process.version}, ${cpus().length}× ${cpus()[0]?.model ?? 'cpu'}, load ${loadavg()[0]!.toFixed(1)}`);
const product = measure(PRODUCT_CONFIG, entries, queries);
console.error(describe('product ', product));
const baseline = measure(BASELINE_CONFIG, entries, queries);
console.error(describe('baseline', baseline));
console.log(JSON.stringify({
  bench: 'kb', entries: entries.length, p50_ms: product.p50, p99_ms: product.p99, baseline_p50_ms: baseline.p50, baseline_p99_ms: baseline.p99,
  queries: queries.length, cpu_p99_ms: product.cpuP99, baseline_cpu_p99_ms: baseline.cpuP99, build_ms: product.buildMs, reindex_ms: product.reindexMs,
  load_avg: Math.round(loadavg()[0]! * 10) / 10,
}));
