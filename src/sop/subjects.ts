import { sql } from 'kysely';
import type { Db } from '../platform/db/database.js';
import { PRODUCTS } from '../compliance/products.js';
import { buildVariables } from './render.js';
import type { VariableName } from './definition.js';

/**
 * Who an enrollment is about, read in one statement for a batch of enrollments: the bank customer
 * (or only the WeCom contact), the member who follows them, and whether that relation is alive.
 */
export interface Subject {
  enrollmentId: string;
  templateId: string;
  versionId: string;
  occurrence: string;
  status: string;
  startedAt: Date;
  customerId: string | null;
  corpId: string | null;
  memberUserid: string | null;
  externalUserid: string | null;
  name: string | null;
  gender: 'M' | 'F' | null;
  birthDate: string | null;
  branchId: string | null;
  branchName: string | null;
  riskAssessedAt: string | null;
  marketingConsent: boolean | null;
  memberName: string | null;
  /** The member still follows the contact (false when either side deleted the other). */
  relationAlive: boolean;
  context: Record<string, unknown>;
}

interface SubjectRow {
  enrollment_id: string;
  template_id: string;
  version_id: string;
  occurrence: string;
  status: string;
  started_at: Date;
  customer_id: string | null;
  corp_id: string | null;
  member_userid: string | null;
  external_userid: string | null;
  customer_name: string | null;
  customer_gender: 'M' | 'F' | null;
  contact_name: string | null;
  contact_gender: number | null;
  birth_date: string | null;
  branch_id: string | null;
  branch_name: string | null;
  risk_assessed_at: string | null;
  marketing_consent: boolean | null;
  member_name: string | null;
  relation_alive: boolean;
  trigger: Record<string, unknown>;
}

export async function loadSubjects(db: Db, enrollmentIds: readonly string[]): Promise<Map<string, Subject>> {
  if (!enrollmentIds.length) return new Map();
  const { rows } = await sql<SubjectRow>`
    SELECT e.id AS enrollment_id, e.template_id, e.version_id, e.occurrence, e.status, e.started_at, e.customer_id, e.corp_id, e.member_userid, e.external_userid,
           c.name AS customer_name, c.gender AS customer_gender, ec.name AS contact_name, ec.gender AS contact_gender,
           to_char(c.birth_date, 'YYYY-MM-DD') AS birth_date, c.branch_id, b.name AS branch_name,
           to_char(c.risk_assessed_at, 'YYYY-MM-DD') AS risk_assessed_at, c.marketing_consent,
           COALESCE(s.display_name, m.name) AS member_name,
           (fr.external_userid IS NOT NULL AND fr.deleted_at IS NULL) AS relation_alive,
           e.trigger
      FROM sop_enrollments e
      LEFT JOIN customers c ON c.id = e.customer_id
      LEFT JOIN branches b ON b.id = c.branch_id
      LEFT JOIN external_contacts ec ON ec.corp_id = e.corp_id AND ec.external_userid = e.external_userid
      LEFT JOIN follow_relations fr ON fr.corp_id = e.corp_id AND fr.userid = e.member_userid AND fr.external_userid = e.external_userid
      LEFT JOIN wecom_members m ON m.corp_id = e.corp_id AND m.userid = e.member_userid
      LEFT JOIN LATERAL (SELECT display_name FROM staff WHERE staff.corp_id = e.corp_id AND staff.wecom_userid = e.member_userid LIMIT 1) s ON true
     WHERE e.id = ANY(${[...enrollmentIds]}::uuid[])`.execute(db);
  return new Map(
    rows.map((r) => [
      r.enrollment_id,
      {
        enrollmentId: r.enrollment_id,
        templateId: r.template_id,
        versionId: r.version_id,
        occurrence: r.occurrence,
        status: r.status,
        startedAt: new Date(r.started_at),
        customerId: r.customer_id,
        corpId: r.corp_id,
        memberUserid: r.member_userid,
        externalUserid: r.external_userid,
        name: r.customer_name ?? r.contact_name,
        // WeCom: 1 male, 2 female, 0 unknown.
        gender: r.customer_gender ?? (r.contact_gender === 1 ? 'M' : r.contact_gender === 2 ? 'F' : null),
        birthDate: r.birth_date,
        branchId: r.branch_id,
        branchName: r.branch_name,
        riskAssessedAt: r.risk_assessed_at,
        marketingConsent: r.marketing_consent,
        memberName: r.member_name,
        relationAlive: Boolean(r.relation_alive),
        context: r.trigger ?? {},
      },
    ]),
  );
}

/** The message variables for a subject on a day; a product named by the occurrence supplies 产品名称 and 到期日. */
export function subjectVariables(subject: Subject, today: Date, timezone = 'Asia/Shanghai'): Partial<Record<VariableName, string>> {
  const productId = typeof subject.context.productId === 'string' ? subject.context.productId : undefined;
  const maturityDate = typeof subject.context.maturityDate === 'string' ? subject.context.maturityDate : undefined;
  const product = productId ? PRODUCTS.get(productId) : undefined;
  return buildVariables({
    customer: { name: subject.name ?? '', gender: subject.gender, birthDate: subject.birthDate, branchName: subject.branchName, riskAssessedAt: subject.riskAssessedAt },
    memberName: subject.memberName,
    product: product && maturityDate ? { name: product.name, maturityDate } : null,
    today,
    timezone,
  });
}
