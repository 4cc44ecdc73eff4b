import type { CustomerFacts } from '../compliance/index.js';
import type { Db } from '../platform/db/database.js';

/**
 * The customer as the assistant may know them: what a task needs and nothing that identifies them.
 * No full name (a salutation such as 王先生 at most), no mobile, no ID number, no balance. Holdings
 * are loaded here but reach a prompt only through the `my_products` tool, and only with consent.
 */
export type RiskLevel = 'R1' | 'R2' | 'R3' | 'R4' | 'R5';

export interface CustomerContext {
  id: string;
  salutation: string;
  riskLevel: RiskLevel | null;
  riskAssessedAt: string | null;
  /** The assessment exists and is at most a year old (as the compliance gate counts it). */
  assessmentValid: boolean;
  marketingConsent: boolean;
  products: string[];
  branchId: string | null;
  /** What the compliance gate checks suitability and consent against. */
  facts: CustomerFacts;
}

export interface CustomerRef {
  customerId?: string | null;
  corpId?: string | null;
  externalUserid?: string | null;
}

const ASSESSMENT_VALID_DAYS = 365;
const COMPOUND_SURNAMES = ['欧阳', '司马', '上官', '诸葛', '东方', '皇甫', '尉迟', '公孙', '慕容', '长孙', '宇文', '司徒', '夏侯', '令狐', '轩辕', '端木'];

/** 王建国 (M) → 王先生, 欧阳娜娜 (F) → 欧阳女士; without a gender or a Chinese name, 您. */
export function salutationOf(name: string, gender: 'M' | 'F' | null): string {
  const trimmed = name.trim();
  if (!gender || !/^\p{Script=Han}{2,4}$/u.test(trimmed)) return '您';
  const surname = COMPOUND_SURNAMES.find((s) => trimmed.startsWith(s) && trimmed.length > s.length) ?? trimmed[0]!;
  return `${surname}${gender === 'M' ? '先生' : '女士'}`;
}

export function assessmentValid(riskAssessedAt: string | null, now: Date): boolean {
  if (!riskAssessedAt) return false;
  const assessed = Date.parse(riskAssessedAt.slice(0, 10));
  if (Number.isNaN(assessed)) return false;
  const today = Date.parse(new Date(now.getTime() + 8 * 3_600_000).toISOString().slice(0, 10));
  return (today - assessed) / 86_400_000 <= ASSESSMENT_VALID_DAYS;
}

/** The linked customer of a WeCom contact, when only the contact is known. */
export async function customerIdOf(db: Db, ref: CustomerRef): Promise<string | null> {
  if (ref.customerId) return ref.customerId;
  if (!ref.externalUserid) return null;
  let q = db.selectFrom('external_contacts').select('customer_id').where('external_userid', '=', ref.externalUserid);
  if (ref.corpId) q = q.where('corp_id', '=', ref.corpId);
  const rows = await q.execute();
  const ids = [...new Set(rows.map((r) => r.customer_id).filter((id): id is string => id !== null))];
  return ids.length === 1 ? ids[0]! : null;
}

export async function loadCustomerContext(db: Db, customerId: string, now = new Date()): Promise<CustomerContext | null> {
  const row = await db
    .selectFrom('customers')
    .select(['id', 'name', 'gender', 'risk_level', 'risk_assessed_at', 'marketing_consent', 'products', 'branch_id'])
    .where('id', '=', customerId)
    .executeTakeFirst();
  if (!row) return null;
  return {
    id: row.id,
    salutation: salutationOf(row.name, row.gender),
    riskLevel: row.risk_level,
    riskAssessedAt: row.risk_assessed_at,
    assessmentValid: assessmentValid(row.risk_assessed_at, now),
    marketingConsent: row.marketing_consent,
    products: row.products,
    branchId: row.branch_id,
    facts: { riskLevel: row.risk_level, riskAssessedAt: row.risk_assessed_at, marketingConsent: row.marketing_consent },
  };
}
