import type { SyntheticCustomer } from '../../demo/synthetic.js';

/**
 * Customer files as the bank's core system writes them, from synthetic customers: for tests, the
 * benchmark and demos. `faulty` produces rows with one deliberate fault each, of a rotating kind.
 */
export const CSV_COLUMNS = [
  'cif_no', 'name', 'mobile', 'id_number', 'birth_date', 'gender', 'branch_id', 'aum', 'risk_level',
  'risk_assessed_at', 'products', 'segments', 'last_txn_at', 'marketing_consent',
] as const;
export const CSV_HEADER = CSV_COLUMNS.join(',');

/** RFC 4180 quoting: only when the value needs it. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function csvValues(c: SyntheticCustomer): string[] {
  return [
    c.cifNo, c.name, c.mobile, c.idNumber, c.birthDate, c.gender, c.branchId, String(c.aum), c.riskLevel ?? '',
    c.riskAssessedAt ?? '', c.products.join('|'), c.segments.join('|'), c.lastTxnAt ?? '', c.marketingConsent ? 'true' : 'false',
  ];
}

export const csvLine = (c: SyntheticCustomer): string => csvValues(c).map(csvField).join(',');

export function jsonLine(c: SyntheticCustomer): string {
  return JSON.stringify({
    cif_no: c.cifNo, name: c.name, mobile: c.mobile, id_number: c.idNumber, birth_date: c.birthDate, gender: c.gender,
    branch_id: c.branchId, aum: c.aum, risk_level: c.riskLevel, risk_assessed_at: c.riskAssessedAt, products: c.products,
    segments: c.segments, last_txn_at: c.lastTxnAt, marketing_consent: c.marketingConsent,
  });
}

/** The fault kinds, each failing exactly one check (the field named). */
export const FAULTS = [
  ['mobile', (v: string[]) => (v[2] = '12345678901')],
  ['id_number', (v: string[]) => (v[3] = v[3]!.slice(0, 17) + (v[3]![17] === '0' ? '1' : '0'))],
  ['birth_date', (v: string[]) => (v[4] = '2001-02-30')],
  ['branch_id', (v: string[]) => (v[6] = 'br-nowhere')],
  ['aum', (v: string[]) => (v[7] = '-100')],
  ['risk_level', (v: string[]) => (v[8] = 'R9')],
  ['products', (v: string[]) => (v[10] = 'p-does-not-exist')],
  ['segments', (v: string[]) => (v[11] = '土豪')],
  ['last_txn_at', (v: string[]) => (v[12] = 'yesterday')],
  ['marketing_consent', (v: string[]) => (v[13] = 'maybe')],
] as const;

/** A CSV line for `c` with fault number `k` (mod the number of kinds); returns the field at fault too. */
export function faultyCsvLine(c: SyntheticCustomer, k: number): { line: string; field: string } {
  const [field, spoil] = FAULTS[k % FAULTS.length]!;
  const values = csvValues(c);
  spoil(values);
  return { line: values.map(csvField).join(','), field };
}
