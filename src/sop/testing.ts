import type { Db } from '../platform/db/database.js';
import { DEMO_CORP_ID } from '../demo/seed.js';
import { templateSchema, type SopTemplate } from './definition.js';
import { publishTemplate, saveDraft } from './store.js';

/** Fixtures for the SOP tests: customers who follow a member, and published templates. */
let counter = 0;

export interface FixtureCustomer {
  id: string;
  externalUserid: string;
  userid: string;
}

export async function customerWithContact(
  db: Db,
  over: { name?: string; gender?: 'M' | 'F' | null; birthDate?: string | null; branchId?: string; consent?: boolean; riskLevel?: 'R1' | 'R2' | 'R3' | 'R4' | 'R5'; riskAssessedAt?: string | null; attrs?: Record<string, unknown>; userid?: string; products?: string[]; segments?: string[]; aum?: number; addedAt?: Date; contact?: boolean } = {},
): Promise<FixtureCustomer> {
  const n = ++counter;
  const userid = over.userid ?? 'LiNa';
  const row = await db
    .insertInto('customers')
    .values({
      cif_no: `SOP-${process.pid}-${n}`,
      name: over.name ?? '王建国',
      gender: over.gender === undefined ? 'M' : over.gender,
      birth_date: over.birthDate ?? '1970-05-20',
      branch_id: over.branchId ?? 'br-hz-xihu',
      aum: over.aum ?? 300_000,
      risk_level: over.riskLevel ?? 'R3',
      risk_assessed_at: over.riskAssessedAt === undefined ? '2026-09-01' : over.riskAssessedAt,
      products: over.products ?? [],
      segments: over.segments ?? [],
      marketing_consent: over.consent ?? true,
      attrs: JSON.stringify(over.attrs ?? {}),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const externalUserid = `wmSop${process.pid}x${n}`;
  if (over.contact !== false) {
    await db.insertInto('external_contacts').values({ corp_id: DEMO_CORP_ID, external_userid: externalUserid, name: over.name ?? '王建国', gender: 1, unionid: null, avatar: null, customer_id: row.id }).execute();
    await db
      .insertInto('follow_relations')
      .values({ corp_id: DEMO_CORP_ID, userid, external_userid: externalUserid, remark: null, description: null, remark_mobiles: [], add_way: 1, state: null, added_at: over.addedAt ?? new Date('2026-06-01T02:00:00Z'), deleted_at: null, deleted_by: null })
      .execute();
  }
  return { id: row.id, externalUserid, userid };
}

/** Saves and publishes a template given as data (defaults filled by the schema). */
export async function publish(db: Db, input: unknown, now = new Date()): Promise<{ templateId: string; versionId: string; template: SopTemplate }> {
  const template = templateSchema.parse(input);
  const saved = await saveDraft(db, template, { source: 'console' });
  const version = await publishTemplate(db, saved.id, null, now);
  return { templateId: saved.id, versionId: version.id, template };
}

export const CORP = DEMO_CORP_ID;
