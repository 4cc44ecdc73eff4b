import products from '../../../data/bank/products.json' with { type: 'json' };
import { normalise } from '../../platform/crypto.js';
import { idNumberCheckChar } from '../../demo/synthetic.js';
import type { CifIndex } from './seen.js';
import { COLUMNS, type SourceRecord } from './source.js';

/**
 * One row of a bank customer file checked field by field. Every problem is reported (never just the
 * first), each naming its field; values of sensitive fields are never echoed in a reason.
 */
export interface Reason {
  field: string;
  message: string;
}

/** A row ready to store: plain values, normalised (the writer encrypts and hashes mobile and ID). */
export interface ValidRow {
  cifNo: string;
  name: string;
  gender: 'M' | 'F' | null;
  mobile: string | null;
  idNumber: string | null;
  birthDate: string | null;
  branchId: string;
  aum: string;
  riskLevel: string | null;
  riskAssessedAt: string | null;
  /** `|`-joined, in file order, without duplicates. */
  products: string;
  segments: string;
  lastTxnAt: string | null;
  marketingConsent: boolean;
}

export interface Refs {
  branches: ReadonlySet<string>;
  products: ReadonlySet<string>;
  /** Today in China (YYYY-MM-DD): birth dates after it are rejected. */
  today: string;
}

export const SEGMENTS = ['代发', '社保', '临近退休', '新客', '高净值', '养老金'] as const;
const SEGMENT_SET = new Set<string>(SEGMENTS);
export const PRODUCT_IDS: ReadonlySet<string> = new Set((products as readonly { id: string }[]).map((p) => p.id));

const CIF = /^[A-Za-z0-9_-]{1,32}$/;
const MOBILE = /^1[3-9]\d{9}$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const STAMP = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/;
const AMOUNT = /^\d{1,16}(\.\d{1,2})?$/;
const CONSENT: Partial<Record<string, boolean>> = { true: true, false: false, '1': true, '0': false, 是: true, 否: false };
const CONTROL = /[\u0000-\u001f\u007f]/;

const daysIn = (y: number, m: number) => (m === 2 ? (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28) : m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31);

function realDate(s: string): boolean {
  const m = DATE.exec(s);
  if (!m) return false;
  const y = Number(m[1]), mo = Number(m[2]), d = Number(m[3]);
  return y >= 1900 && y <= 2200 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysIn(y, mo);
}

/** ISO 8601 to the UTC instant text; a timestamp without an offset is China time (UTC+8). */
function timestamp(s: string): string | undefined {
  const m = STAMP.exec(s);
  if (!m || !realDate(`${m[1]}-${m[2]}-${m[3]}`)) return undefined;
  if (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 59) return undefined;
  // Already the canonical UTC form (what Date#toISOString writes): keep it as it is.
  if (m[8] === 'Z' && m[6] !== undefined && m[7]?.length === 4 && s[10] === 'T') return s;
  let zone = m[8] ?? '+08:00';
  if (zone !== 'Z' && zone.length === 5) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] ?? '00'}${(m[7] ?? '').slice(0, 4)}${zone}`);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

/** Scalars as trimmed text; '' for absent; undefined for an object or array where text belongs. */
function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v.length && (v.charCodeAt(0) <= 32 || v.charCodeAt(v.length - 1) <= 32) ? v.trim() : v;
  if (v === undefined || v === null) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

const NONE: string[] = [];

/** A list field: an array (JSON Lines) or `|`-separated text; '' items dropped, duplicates kept once. */
function list(v: unknown): string[] | undefined {
  let items: string[];
  if (Array.isArray(v)) {
    if (!v.every((x) => typeof x === 'string')) return undefined;
    items = v as string[];
  } else {
    const t = text(v);
    if (t === undefined) return undefined;
    if (t === '') return NONE;
    items = t.split('|');
  }
  let clean = true;
  for (let i = 0; i < items.length && clean; i++) {
    const x = items[i]!;
    clean = x !== '' && x.trim() === x && items.indexOf(x) === i;
  }
  return clean ? items : [...new Set(items.map((x) => x.trim()).filter(Boolean))];
}

export interface Checked {
  row?: ValidRow;
  cifNo: string | null;
  reasons: Reason[];
}

// Positions in SourceRecord.values (the order of COLUMNS).
const CIF_NO = 0, NAME = 1, MOBILE_NO = 2, ID_NUMBER = 3, BIRTH_DATE = 4, GENDER = 5, BRANCH_ID = 6, AUM = 7,
  RISK_LEVEL = 8, RISK_ASSESSED_AT = 9, PRODUCTS = 10, SEGMENTS_AT = 11, LAST_TXN_AT = 12, CONSENT_AT = 13;

/** Collects the problems of one record (kept on the module: rows are checked one at a time, synchronously). */
let reasons: Reason[] = [];
const bad = (field: string, message: string) => void reasons.push({ field, message });

function field(values: unknown[], at: number): string {
  const t = text(values[at]);
  if (t !== undefined) return t;
  bad(COLUMNS[at]!, 'must be a single value, not a list or an object');
  return '';
}

/** Checks one record; an accepted row's CIF number is added to `seen` (a later duplicate is rejected). */
export function validateRecord(record: SourceRecord, refs: Refs, seen: CifIndex): Checked {
  reasons = record.problems ? [...record.problems] : [];
  const v = record.values;
  if (!v) return { cifNo: record.cifNo ?? null, reasons };

  const cifNo = field(v, CIF_NO);
  const cifOk = CIF.test(cifNo);
  if (!cifNo) bad('cif_no', 'is required');
  else if (!cifOk) bad('cif_no', 'must be 1–32 letters, digits, - or _');

  const name = field(v, NAME);
  if (!name) bad('name', 'is required');
  else if (name.includes('\uFFFD')) bad('name', 'is not valid UTF-8 (is the file GBK-encoded? save it as UTF-8)');
  else if (CONTROL.test(name)) bad('name', 'contains control characters');
  else if (name.length > 64 && [...name].length > 64) bad('name', 'is longer than 64 characters');

  const rawMobile = field(v, MOBILE_NO);
  const mobile = !rawMobile ? null : MOBILE.test(rawMobile) ? rawMobile : normalise('mobile', rawMobile);
  if (mobile !== null && !MOBILE.test(mobile)) bad('mobile', 'must be a mainland mobile number: 11 digits starting 13–19');

  const rawId = field(v, ID_NUMBER);
  const idNumber: string | null = rawId ? normalise('id_number', rawId) : null;
  let idBirth: string | null = null;
  if (idNumber !== null) {
    const inside = `${idNumber.slice(6, 10)}-${idNumber.slice(10, 12)}-${idNumber.slice(12, 14)}`;
    if (!/^[1-9]\d{16}[\dX]$/.test(idNumber)) bad('id_number', 'must be 18 characters: 17 digits, then a digit or X');
    else if (!realDate(inside)) bad('id_number', 'the birth date inside it is not a real date');
    else if (idNumberCheckChar(idNumber.slice(0, 17)) !== idNumber[17]) bad('id_number', 'the check character (18th) is wrong');
    else idBirth = inside;
  }

  let birthDate: string | null = field(v, BIRTH_DATE) || null;
  if (birthDate !== null) {
    if (!realDate(birthDate)) bad('birth_date', 'must be a real date YYYY-MM-DD (from 1900)');
    else if (birthDate > refs.today) bad('birth_date', 'is in the future');
    else if (idBirth && idBirth !== birthDate) bad('birth_date', 'does not match the birth date in id_number');
  } else birthDate = idBirth;

  const idGender = idBirth ? (Number(idNumber![16]) % 2 === 1 ? 'M' : 'F') : null;
  const rawGender = field(v, GENDER).toUpperCase();
  let gender: 'M' | 'F' | null = idGender;
  if (rawGender === 'M' || rawGender === 'F') {
    gender = rawGender;
    if (idGender && idGender !== gender) bad('gender', `${gender} contradicts id_number (its 17th digit says ${idGender})`);
  } else if (rawGender) bad('gender', 'must be M or F (or empty to take it from id_number)');

  const branchId = field(v, BRANCH_ID);
  if (!branchId) bad('branch_id', 'is required');
  else if (!refs.branches.has(branchId)) bad('branch_id', `unknown branch ${branchId}`);

  const aum = field(v, AUM);
  if (!aum) bad('aum', 'is required (0 for none)');
  else if (aum[0] === '-') bad('aum', 'must not be negative');
  else if (!AMOUNT.test(aum)) bad('aum', 'must be an amount in CNY, digits with at most 2 decimals');

  const riskLevel = field(v, RISK_LEVEL).toUpperCase() || null;
  if (riskLevel !== null && !/^R[1-5]$/.test(riskLevel)) bad('risk_level', 'must be R1–R5 or empty');

  const riskAssessedAt = field(v, RISK_ASSESSED_AT) || null;
  if (riskAssessedAt !== null && !realDate(riskAssessedAt)) bad('risk_assessed_at', 'must be a real date YYYY-MM-DD or empty');

  const held = list(v[PRODUCTS]);
  if (!held) bad('products', 'must be product ids separated by | (an array in JSON Lines)');
  else {
    const unknown = held.filter((p) => !refs.products.has(p));
    if (unknown.length) bad('products', `unknown product id(s): ${unknown.join(', ')}`);
  }
  const segments = list(v[SEGMENTS_AT]);
  if (!segments) bad('segments', 'must be segment names separated by | (an array in JSON Lines)');
  else {
    const unknown = segments.filter((s) => !SEGMENT_SET.has(s));
    if (unknown.length) bad('segments', `unknown segment(s): ${unknown.join(', ')} (allowed: ${SEGMENTS.join(', ')})`);
  }

  const rawTxn = field(v, LAST_TXN_AT);
  const lastTxnAt = rawTxn ? (timestamp(rawTxn) ?? null) : null;
  if (rawTxn && !lastTxnAt) bad('last_txn_at', 'must be an ISO 8601 timestamp (e.g. 2026-11-23T09:30:00+08:00) or empty');

  const rawConsent = field(v, CONSENT_AT);
  const consent = rawConsent ? CONSENT[rawConsent] ?? CONSENT[rawConsent.toLowerCase()] : false;
  if (consent === undefined) bad('marketing_consent', 'must be true, false, 1, 0, 是 or 否 (empty means false)');

  if (cifOk) {
    const earlier = seen.get(cifNo);
    if (earlier) bad('cif_no', `appears again: already imported from line ${earlier} of this file`);
  }
  if (reasons.length) return { cifNo: cifNo || null, reasons };
  seen.add(cifNo, record.line);
  return {
    cifNo,
    reasons,
    row: {
      cifNo, name, gender, mobile, idNumber, birthDate, branchId, aum, riskLevel, riskAssessedAt,
      products: held!.join('|'), segments: segments!.join('|'), lastTxnAt, marketingConsent: consent!,
    },
  };
}
