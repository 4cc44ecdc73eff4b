import products from '../../data/bank/products.json' with { type: 'json' };
import { BRANCHES, DEMO_STAFF } from './branches.js';

/**
 * Deterministic synthetic customers of 星河银行 for the demo seed, tests and benchmarks.
 * Row i depends only on (seed, i, asOf): every row reseeds a small PRNG from (seed, i), so any row can be
 * regenerated alone (customerAt) and a million rows stream out without holding state between them.
 * Calendar dates are China local dates (UTC+8), because that is what a bank's staff and reports mean by "a day".
 */

export interface SyntheticWecomContact {
  externalUserid: string; followerUserid: string; addedAt: string; state: string | null; unionid: string;
}

/** Dates are 'YYYY-MM-DD'; timestamps are Date#toISOString() text; aum is CNY with at most 2 decimals. */
export interface SyntheticCustomer {
  cifNo: string; name: string; gender: 'M' | 'F'; mobile: string; idNumber: string; birthDate: string; branchId: string;
  aum: number; riskLevel: 'R1' | 'R2' | 'R3' | 'R4' | 'R5' | null; riskAssessedAt: string | null;
  products: string[]; segments: string[]; lastTxnAt: string | null; marketingConsent: boolean;
  wecom: SyntheticWecomContact | null;
}

export interface GeneratorOptions {
  seed?: number;
  asOf?: Date;
  /** Index of the first row; lets a caller resume or shard a run without regenerating earlier rows. */
  start?: number;
}

export const DEFAULT_SEED = 20261123;
export const DEFAULT_AS_OF = new Date('2026-11-23T00:00:00+08:00');
/** AUM tier boundaries in CNY, as the segment rules and tests use them. */
export const AUM_WEALTH = 500_000, AUM_PRIVATE = 6_000_000;

const DAY_MS = 86_400_000, CST_MS = 8 * 3_600_000;

// ---- PRNG: sfc32 with module-level state, so drawing a number allocates nothing. Rows are built synchronously,
// so no two rows ever interleave on this state.
let sa = 0, sb = 0, sc = 0, sd = 0;

function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b); h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function rnd(): number {
  const t = (((sa + sb) | 0) + sd) | 0;
  sd = (sd + 1) | 0; sa = sb ^ (sb >>> 9); sb = (sc + (sc << 3)) | 0;
  sc = (((sc << 21) | (sc >>> 11)) + t) | 0;
  return (t >>> 0) / 4294967296;
}

function seedRow(seed: number, index: number): void {
  // fmix32 is a bijection, so distinct indices (below 2^32) start from distinct states.
  sa = fmix32(seed ^ 0x9e3779b9); sb = fmix32(index ^ 0x7f4a7c15); sd = 1;
  sc = fmix32(Math.floor(index / 4294967296) ^ fmix32(seed + 0x6d2b79f5));
  for (let i = 0; i < 12; i++) rnd(); // the sfc32 author's recommended warm-up to decorrelate nearby seeds
}

const int = (n: number): number => Math.floor(rnd() * n);
const pick = <T>(a: readonly T[]): T => a[int(a.length)]!;

function cumulative(weights: readonly number[]): Float64Array {
  let sum = 0;
  return Float64Array.from(weights, (w) => (sum += w)).map((v) => v / sum);
}

function weighted(cum: Float64Array): number {
  const u = rnd();
  let lo = 0, hi = cum.length - 1;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (u < cum[mid]!) hi = mid; else lo = mid + 1; }
  return lo;
}

// ---- Calendar arithmetic on day numbers (days since 1970-01-01), after H. Hinnant; avoids a Date per date string.
let cy = 0, cm = 0, cd = 0;

function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400), yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  return era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719468;
}

function civilFromDays(z: number): void {
  z += 719468;
  const era = Math.floor(z / 146097), doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  cd = doy - Math.floor((153 * mp + 2) / 5) + 1;
  cm = mp < 10 ? mp + 3 : mp - 9;
  cy = yoe + era * 400 + (cm <= 2 ? 1 : 0);
}

const pad2 = (n: number): string => (n < 10 ? '0' + n : '' + n);
const daysInMonth = (y: number, m: number): number => new Date(Date.UTC(y, m, 0)).getUTCDate();
const fmtDay = (z: number): string => (civilFromDays(z), cy + '-' + pad2(cm) + '-' + pad2(cd));

// ---- Resident ID numbers (GB 11643-1999).
const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], ID_CHECK = '10X98765432';

function checkChar(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (first17.charCodeAt(i) - 48) * ID_WEIGHTS[i]!;
  return ID_CHECK[sum % 11]!;
}

/** ISO 7064 MOD 11-2 check character of an 18-digit resident ID number. */
export function idNumberCheckChar(first17: string): string {
  if (!/^\d{17}$/.test(first17)) throw new RangeError('idNumberCheckChar expects exactly 17 digits');
  return checkChar(first17);
}

/** Structure, real calendar birth date and check character; a lowercase x is accepted because people type it. */
export function isValidIdNumber(id: string): boolean {
  if (typeof id !== 'string' || !/^[1-9]\d{16}[\dXx]$/.test(id)) return false;
  const y = Number(id.slice(6, 10)), m = Number(id.slice(10, 12)), d = Number(id.slice(12, 14));
  if (y < 1900 || m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) return false;
  return checkChar(id) === id[17]!.toUpperCase();
}

// ---- Static tables.
// Approximate relative frequencies (per 10,000) of common surnames, so names look like a real customer list.
const SURNAME_TABLE =
  '王 710 李 700 张 670 刘 540 陈 450 杨 310 黄 220 赵 200 吴 190 周 190 徐 140 孙 140 马 130 朱 120 胡 120 ' +
  '郭 110 何 110 林 100 罗 100 高 100 郑 80 梁 80 谢 70 宋 70 唐 70 许 60 韩 60 冯 60 邓 60 曹 60 彭 50 曾 50 ' +
  '肖 50 田 50 董 50 袁 40 潘 40 于 40 蒋 40 蔡 40 余 40 杜 40 叶 40 程 40 苏 30 魏 30 吕 30 丁 30 任 30 沈 30 ' +
  '姚 30 卢 30 姜 30 崔 30 钟 30 谭 30 陆 30 汪 30 范 30 金 30 石 20 廖 20 贾 20 夏 20 韦 20 方 20 白 20 邹 20 ' +
  '孟 20 熊 20 秦 20 邱 20 江 20 尹 20 薛 20 钱 15 顾 15 毛 15 邵 15 严 15 戴 15 孔 10 欧阳 5 上官 2 司马 2 诸葛 1';
const surnameParts = SURNAME_TABLE.split(' ');
const SURNAMES = surnameParts.filter((_, i) => i % 2 === 0);
const SURNAME_CUM = cumulative(surnameParts.filter((_, i) => i % 2 === 1).map(Number));
const MALE_CHARS = [...'伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆旭宁龙林博志建国峰海成晨阳东亮'];
const FEMALE_CHARS = [...'芳娜敏静丽艳娟霞燕玲婷雪慧琳颖倩洁萍红梅莉兰琴云晶欣悦怡佳璐瑶雯蕾'];
const NEUTRAL_CHARS = [...'子雨思文一可安诗梓睿涵嘉宏新晓天永春秋玉金德小'];

// Age bands [from, to] with weights: a retail book is thin below 25 and above 70, as the brief asks.
const AGE_BANDS: readonly (readonly [number, number])[] = [[18, 24], [25, 34], [35, 44], [45, 54], [55, 64], [65, 74], [75, 85]];
const AGE_CUM = cumulative([9, 20, 21, 20, 17, 9, 4]);
const RISK_LEVELS = ['R1', 'R2', 'R3', 'R4', 'R5'] as const;
const RISK_CUM = cumulative([10, 33, 37, 14, 6]);

// Region codes customers' IDs come from: mostly the branch's own city, the rest migrants from elsewhere.
const LOCAL_REGIONS: Record<string, readonly string[]> = {
  杭州: ['330102', '330105', '330106', '330108', '330109', '330110'],
  宁波: ['330203', '330205', '330206', '330212'],
  上海: ['310101', '310104', '310105', '310112', '310115'],
};
const OTHER_REGIONS = ['330302', '330402', '330602', '330702', '331002', '320102', '320506', '340104', '360102',
  '410105', '420106', '430104', '510107', '350203', '370202'];
const MOBILE_PREFIXES = ('130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 159 166 173 ' +
  '176 177 180 181 182 183 185 186 187 188 189 191 199').split(' ');
const ALPHA64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';

// HQ serves the most customers; weights are looked up by id so BRANCHES can grow without touching this file.
const BRANCH_WEIGHT: Record<string, number> = { 'br-hq': 25, 'br-hz-xihu': 20, 'br-hz-binjiang': 15, 'br-nb-yinzhou': 15, 'br-nb-haishu': 10, 'br-sh-pudong': 15 };
const BRANCH_CUM = cumulative(BRANCHES.map((b) => BRANCH_WEIGHT[b.id] ?? 10));
const ALL_FOLLOWERS = DEMO_STAFF.filter((s) => s.role === 'account_manager' && s.wecomUserid).map((s) => s.wecomUserid!);
const BRANCH_FOLLOWERS = BRANCHES.map((b) => {
  const own = DEMO_STAFF.filter((s) => s.role === 'account_manager' && s.branchId === b.id && s.wecomUserid);
  return own.length > 0 ? own.map((s) => s.wecomUserid!) : ALL_FOLLOWERS;
});
const BRANCH_REGIONS = BRANCHES.map((b) => LOCAL_REGIONS[b.city] ?? OTHER_REGIONS);

// Customer traits that products.json target_segments refer to, as bits so matching is one AND per product.
const TAG_BITS: Record<string, number> = { 新客: 1, 代发客群: 2, 社保客群: 4, 临近退休客群: 8, 年轻客群: 16, 财富客户: 32, 私行客户: 64, 小微企业主: 128 };
const BASE_PROPENSITY: Record<string, number> = { deposit: 0.3, wealth: 0.16, fund: 0.1, insurance: 0.06, credit_card: 0.25, loan: 0.06, pension: 0.07, fx_metal: 0.05 };
// Only these hold the customer's money, so only their minimum purchase amount is bounded by AUM.
const ASSET_TYPES = new Set(['deposit', 'wealth', 'fund', 'insurance', 'pension', 'fx_metal']);

// Eligibility ages the catalogue does not encode: youth card, lending age caps, and personal pension contributions
// stopping at retirement. Unknown ids are simply unrestricted.
const AGE_LIMITS: Record<string, readonly [number, number]> = {
  'p-cc-youth': [18, 30], 'p-loan-consumer': [18, 60], 'p-loan-hpf': [18, 65], 'p-loan-biz': [25, 65], 'p-pen-account': [18, 59],
};
interface ProductRow { id: string; type: string; risk_level: string | null; min_amount_cny: number | null; target_segments: string[] }
const PRODUCTS = (products as readonly ProductRow[]).map((p) => ({
  id: p.id, riskRank: p.risk_level ? Number(p.risk_level.slice(1)) : 0, base: BASE_PROPENSITY[p.type] ?? 0.03,
  minAum: ASSET_TYPES.has(p.type) ? (p.min_amount_cny ?? 0) : 0, tags: p.target_segments.reduce((m, t) => m | (TAG_BITS[t] ?? 0), 0),
  minAge: AGE_LIMITS[p.id]?.[0] ?? 0, maxAge: AGE_LIMITS[p.id]?.[1] ?? 200,
}));

// ---- Row construction.
interface Ctx { seed: number; start: number; asOfDay: number; asY: number; asM: number; asD: number; mobileKey: number }

function makeCtx(options: GeneratorOptions = {}): Ctx {
  const seed = options.seed ?? DEFAULT_SEED, start = options.start ?? 0;
  const asOfMs = (options.asOf ?? DEFAULT_AS_OF).getTime();
  if (!Number.isInteger(seed)) throw new RangeError('seed must be an integer');
  if (!Number.isSafeInteger(start) || start < 0) throw new RangeError('start must be a non-negative integer');
  if (!Number.isFinite(asOfMs)) throw new RangeError('asOf must be a valid date');
  const asOfDay = Math.floor((asOfMs + CST_MS) / DAY_MS);
  civilFromDays(asOfDay);
  return { seed: seed | 0, start, asOfDay, asY: cy, asM: cm, asD: cd, mobileKey: fmix32(seed ^ 0x1b873593) };
}

/** A timestamp on a China-local business day (08:00–22:00) `daysAgo` (>= 1) days before asOf, so it is always in the past. */
function stampDaysAgo(ctx: Ctx, daysAgo: number): string {
  // Same text as Date#toISOString, built by hand because toISOString was a third of the generation time.
  let sec = (ctx.asOfDay - daysAgo) * 86_400 - CST_MS / 1000 + 28_800 + int(50_400);
  const day = Math.floor(sec / 86_400);
  sec -= day * 86_400;
  const h = Math.floor(sec / 3600), m = Math.floor((sec % 3600) / 60);
  return fmtDay(day) + 'T' + pad2(h) + ':' + pad2(m) + ':' + pad2(sec % 60) + '.000Z';
}

function randChars(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHA64[int(64)];
  return s;
}

/** Six characters that encode a 32-bit value losslessly; embedding fmix32(index) makes the id unique per row. */
function uniqueChars(v: number): string {
  let s = '';
  for (let i = 0; i < 6; i++, v >>>= 6) s += ALPHA64[v & 63];
  return s;
}

const MOBILE_SPACE = MOBILE_PREFIXES.length * 100_000_000;

/** A seed-keyed permutation of [0, MOBILE_SPACE) by cycle-walking a 32-bit bijection: unique per index, yet
 *  neighbouring rows get unrelated-looking numbers. */
function mobileAt(ctx: Ctx, index: number): string {
  let x = index;
  do x = fmix32(x ^ ctx.mobileKey); while (x >= MOBILE_SPACE);
  return MOBILE_PREFIXES[Math.floor(x / 100_000_000)]! + String(x % 100_000_000).padStart(8, '0');
}

function buildRow(ctx: Ctx, index: number): SyntheticCustomer {
  seedRow(ctx.seed, index);
  const male = rnd() < 0.49;
  const band = AGE_BANDS[weighted(AGE_CUM)]!;
  const drawnAge = band[0] + int(band[1] - band[0] + 1);
  // Step back whole years from asOf (clamping 29 Feb), then up to 364 days, so the age is exactly drawnAge.
  const by0 = ctx.asY - drawnAge;
  const birthDay = daysFromCivil(by0, ctx.asM, Math.min(ctx.asD, daysInMonth(by0, ctx.asM))) - int(365);
  const birthDate = fmtDay(birthDay);
  const age = ctx.asY - cy - (ctx.asM < cm || (ctx.asM === cm && ctx.asD < cd) ? 1 : 0);
  const isNew = rnd() < 0.08;
  // How far back this customer's history with the bank may reach: a new customer's only ~90 days, and nothing that
  // needs an adult (risk assessment, adding a WeCom contact) before the 18th birthday.
  const historyDays = Math.min(isNew ? 90 : 100_000, ctx.asOfDay - daysFromCivil(cy + 18, cm, cd));
  const branchIdx = weighted(BRANCH_CUM);
  const branchId = BRANCHES[branchIdx]!.id;
  let name = SURNAMES[weighted(SURNAME_CUM)]!;
  const own = male ? MALE_CHARS : FEMALE_CHARS;
  if (rnd() < 0.72) name += pick(rnd() < 0.55 ? own : NEUTRAL_CHARS) + pick(own);
  else name += pick(own);
  const region = rnd() < 0.65 ? pick(BRANCH_REGIONS[branchIdx]!) : pick(OTHER_REGIONS);
  const seq = male ? 2 * int(500) + 1 : 2 * int(499) + 2; // odd sequence = male, per GB 11643
  const id17 = region + birthDate.slice(0, 4) + birthDate.slice(5, 7) + birthDate.slice(8, 10) + String(seq).padStart(3, '0');
  // AUM: pick the tier first so tier shares are exact in expectation, then a skewed log-scale value inside it.
  const tierU = rnd(), v = rnd();
  let aum: number;
  if (tierU < 0.6) aum = v < 0.08 ? v * 1250 : Math.exp(Math.log(100) + Math.pow(v, 0.8) * Math.log(500));
  else if (tierU < 0.9) aum = 50_000 * Math.pow(10, Math.pow(v, 1.3));
  else if (tierU < 0.98) aum = AUM_WEALTH * Math.pow(12, Math.pow(v, 1.3));
  else aum = Math.min(AUM_PRIVATE * Math.pow(1 - v, -1 / 1.8), 500_000_000);
  // Truncate rather than round so a value never crosses up into the next tier.
  aum = Math.floor(aum * 100) / 100;
  const riskRank = rnd() < 0.1 ? 0 : weighted(RISK_CUM) + 1;
  const riskLevel = riskRank === 0 ? null : RISK_LEVELS[riskRank - 1]!;
  const riskAssessedAt = riskRank === 0 ? null : fmtDay(ctx.asOfDay - Math.min(int(548), historyDays));
  const retireAge = male ? 60 : 55;
  const nearRetirement = age >= retireAge - 5 && age < retireAge;
  const payroll = rnd() < (age < 60 ? 0.3 : 0.05);
  const socialSecurity = rnd() < 0.3;
  const pensioner = age >= retireAge && rnd() < 0.85;
  const smallBusiness = age >= 25 && age < 60 && rnd() < 0.06;
  const segments: string[] = [];
  if (payroll) segments.push('代发');
  if (socialSecurity) segments.push('社保');
  if (nearRetirement) segments.push('临近退休');
  if (isNew) segments.push('新客');
  if (aum >= AUM_PRIVATE) segments.push('高净值');
  if (pensioner) segments.push('养老金');
  const tags = (isNew ? 1 : 0) | (payroll ? 2 : 0) | (socialSecurity ? 4 : 0) | (nearRetirement ? 8 : 0) |
    (age < 35 ? 16 : 0) | (aum >= AUM_WEALTH ? 32 : 0) | (aum >= AUM_PRIVATE ? 64 : 0) | (smallBusiness ? 128 : 0);
  const held: string[] = [];
  // Start at a random product so the cap of 5 does not always favour the first entries of products.json.
  const n = PRODUCTS.length, first = int(n);
  for (let j = 0; j < n && held.length < 5; j++) {
    const p = PRODUCTS[(first + j) % n]!;
    if (p.riskRank > riskRank || p.minAum > aum) continue; // suitability: never above the assessed risk level
    if (age < p.minAge || age > p.maxAge) continue;
    let bits = p.tags & tags, matches = 0;
    while (bits) { matches += bits & 1; bits >>>= 1; }
    // Products mostly go to the customers they target; an off-target holding stays possible but rare.
    if (rnd() < p.base * (matches === 0 ? 0.15 : 0.6 + 0.8 * matches) * (isNew ? 0.5 : 1)) held.push(p.id);
  }
  let lastTxnAt: string | null;
  if (isNew) lastTxnAt = rnd() < 0.25 ? null : stampDaysAgo(ctx, 1 + int(90));
  else lastTxnAt = rnd() < 0.16 ? stampDaysAgo(ctx, 181 + int(219)) : stampDaysAgo(ctx, 1 + int(179));
  const marketingConsent = rnd() < 0.75;
  let wecom: SyntheticWecomContact | null = null;
  if (rnd() < 0.2) {
    const followerUserid = pick(BRANCH_FOLLOWERS[branchIdx]!);
    const s = rnd();
    wecom = {
      externalUserid: 'wm' + randChars(12) + uniqueChars(fmix32(index ^ 0x2545f491)) + randChars(12),
      followerUserid,
      addedAt: stampDaysAgo(ctx, Math.max(1, Math.min(1 + int(1000), historyDays))),
      state: s < 0.45 ? 'card-' + followerUserid : s < 0.7 ? 'qr-' + branchId : null,
      unionid: 'o' + randChars(9) + uniqueChars(fmix32(index ^ 0x68e31da4)) + randChars(12),
    };
  }
  return {
    // Stable across seeds and always 10 digits without a leading zero; an affine map mod 9e9 is a bijection.
    cifNo: 'CIF' + (1_000_000_000 + ((index * 7919 + 123_457) % 9_000_000_000)),
    name, gender: male ? 'M' : 'F', mobile: mobileAt(ctx, index), idNumber: id17 + checkChar(id17), birthDate, branchId,
    aum, riskLevel, riskAssessedAt, products: held, segments, lastTxnAt, marketingConsent, wecom,
  };
}

function* rows(ctx: Ctx, count: number): Generator<SyntheticCustomer> {
  for (let i = ctx.start, end = ctx.start + count; i < end; i++) yield buildRow(ctx, i);
}

/** Lazily yields `count` customers for indices start, start+1, …; ids are unique for indices below 2^32.
 *  Options are validated here rather than on the first next(), so a bad call fails where it is made. */
export function generateCustomers(count: number, options?: GeneratorOptions): Generator<SyntheticCustomer> {
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError('count must be a non-negative integer');
  return rows(makeCtx(options), count);
}

/** The row generateCustomers(n, options) yields at position `index` (i.e. absolute index options.start + index). */
export function customerAt(index: number, options?: GeneratorOptions): SyntheticCustomer {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError('index must be a non-negative integer');
  const ctx = makeCtx(options);
  return buildRow(ctx, ctx.start + index);
}
