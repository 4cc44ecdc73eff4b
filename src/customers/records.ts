import { sql } from 'kysely';
import type { Db } from '../platform/db/database.js';
import type { FieldCipher } from '../platform/crypto.js';
import type { Actor } from '../platform/http/context.js';
import { notFound } from '../platform/errors.js';
import { customerScope, maskedFor } from '../auth/index.js';
import { compileFilter, resolveTagNumbers, tagReferences, type FilterNode } from '../filters/index.js';

/** A bank customer as the core system sends it (see DESIGN "Bank data in"). */
export interface CustomerInput {
  cifNo: string;
  name: string;
  gender?: 'M' | 'F' | null;
  mobile?: string | null;
  idNumber?: string | null;
  birthDate?: string | null;
  branchId?: string | null;
  aum?: number;
  riskLevel?: 'R1' | 'R2' | 'R3' | 'R4' | 'R5' | null;
  riskAssessedAt?: string | null;
  products?: string[];
  segments?: string[];
  lastTxnAt?: string | null;
  marketingConsent?: boolean;
  attrs?: Record<string, unknown>;
}

/** Row values with the sensitive fields encrypted and hashed for lookup. */
export function customerRow(cipher: FieldCipher, c: CustomerInput) {
  return {
    cif_no: c.cifNo,
    name: c.name,
    gender: c.gender ?? null,
    mobile_enc: c.mobile ? cipher.encrypt(c.mobile) : null,
    mobile_hash: c.mobile ? cipher.lookupHash('mobile', c.mobile) : null,
    id_number_enc: c.idNumber ? cipher.encrypt(c.idNumber) : null,
    id_number_hash: c.idNumber ? cipher.lookupHash('id_number', c.idNumber) : null,
    birth_date: c.birthDate ?? null,
    branch_id: c.branchId ?? null,
    aum: c.aum ?? 0,
    risk_level: c.riskLevel ?? null,
    risk_assessed_at: c.riskAssessedAt ?? null,
    products: c.products ?? [],
    segments: c.segments ?? [],
    last_txn_at: c.lastTxnAt ?? null,
    marketing_consent: c.marketingConsent ?? false,
    attrs: JSON.stringify(c.attrs ?? {}),
  };
}

/** Upsert by CIF number, in batches; returns how many rows were inserted or changed. */
export async function upsertCustomers(db: Db, cipher: FieldCipher, customers: CustomerInput[]): Promise<number> {
  if (!customers.length) return 0;
  const rows = customers.map((c) => customerRow(cipher, c));
  const result = await db
    .insertInto('customers')
    .values(rows)
    .onConflict((oc) =>
      oc.column('cif_no').doUpdateSet((eb) => ({
        name: eb.ref('excluded.name'),
        gender: eb.ref('excluded.gender'),
        mobile_enc: eb.ref('excluded.mobile_enc'),
        mobile_hash: eb.ref('excluded.mobile_hash'),
        id_number_enc: eb.ref('excluded.id_number_enc'),
        id_number_hash: eb.ref('excluded.id_number_hash'),
        birth_date: eb.ref('excluded.birth_date'),
        branch_id: eb.ref('excluded.branch_id'),
        aum: eb.ref('excluded.aum'),
        risk_level: eb.ref('excluded.risk_level'),
        risk_assessed_at: eb.ref('excluded.risk_assessed_at'),
        products: eb.ref('excluded.products'),
        segments: eb.ref('excluded.segments'),
        last_txn_at: eb.ref('excluded.last_txn_at'),
        marketing_consent: eb.ref('excluded.marketing_consent'),
        attrs: eb.ref('excluded.attrs'),
        updated_at: new Date(),
      })),
    )
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0);
}

export interface CustomerQuery {
  q?: string;
  branchId?: string;
  /** A tree in the filter grammar (src/filters), already validated. */
  filter?: FilterNode;
  limit: number;
  offset: number;
}

const MOBILE = /^(\+?86)?1[3-9]\d{9}$/;

/** Scoped, masked list. A query that looks like a mobile or ID number is matched through the keyed hash. */
export async function listCustomers(db: Db, cipher: FieldCipher, actor: Actor, query: CustomerQuery) {
  let q = db.selectFrom('customers').where(customerScope(actor));
  if (query.branchId) q = q.where('branch_id', '=', query.branchId);
  if (query.filter) {
    // Tags resolved first, as segments do: a fact tag is then counted from its own index (src/tags/indexes.ts).
    const tagNumbers = await resolveTagNumbers(db, tagReferences([query.filter]));
    q = q.where(compileFilter(query.filter, { alias: 'customers', tagNumbers }));
  }
  if (query.q) {
    const term = query.q.trim();
    if (MOBILE.test(term.replace(/[\s-]/g, ''))) q = q.where('mobile_hash', '=', cipher.lookupHash('mobile', term));
    else if (/^\d{17}[\dXx]$/.test(term)) q = q.where('id_number_hash', '=', cipher.lookupHash('id_number', term));
    else q = q.where((eb) => eb.or([eb('cif_no', '=', term), eb('name', 'like', term.replace(/[%_\\]/g, '\\$&') + '%')]));
  }
  const [rows, total] = await Promise.all([
    q
      .select(['id', 'cif_no', 'name', 'gender', 'mobile_enc', 'branch_id', 'aum', 'risk_level', 'risk_assessed_at', 'segments', 'marketing_consent'])
      .orderBy('cif_no')
      .limit(query.limit)
      .offset(query.offset)
      .execute(),
    q.select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow(),
  ]);
  const m = maskedFor(actor.role, false);
  return {
    total: total.n,
    items: rows.map(({ mobile_enc, ...r }) => ({ ...r, mobile: m.mobile(mobile_enc ? cipher.decrypt(mobile_enc) : null) })),
  };
}

/** One full record; unmasked only when asked for and the role may reveal (the caller audits it). */
export async function getCustomer(db: Db, cipher: FieldCipher, actor: Actor, id: string, reveal: boolean) {
  const row = await db.selectFrom('customers').selectAll().where('id', '=', id).where(customerScope(actor)).executeTakeFirst();
  if (!row) throw notFound('customer');
  const m = maskedFor(actor.role, reveal);
  // tag_nos is the segment index's copy of the tags listed below, by internal number: not part of the record.
  const { mobile_enc, mobile_hash: _mh, id_number_enc, id_number_hash: _ih, tag_nos: _tn, ...rest } = row;
  const contacts = await db
    .selectFrom('external_contacts as ec')
    .leftJoin('follow_relations as fr', (j) => j.onRef('fr.corp_id', '=', 'ec.corp_id').onRef('fr.external_userid', '=', 'ec.external_userid'))
    .select(['ec.corp_id', 'ec.external_userid', 'ec.name', 'fr.userid', 'fr.state', 'fr.added_at', 'fr.deleted_at'])
    .where('ec.customer_id', '=', id)
    .execute();
  const [tags, scores] = await Promise.all([
    db
      .selectFrom('customer_tags as ct')
      .innerJoin('tags as t', 't.id', 'ct.tag_id')
      .innerJoin('tag_groups as g', 'g.id', 't.group_id')
      .select(['t.id', 't.name', 'g.name as group', 'g.layer', 'ct.source', 'ct.cause', 'ct.assigned_at'])
      .where('ct.customer_id', '=', id)
      .where('t.deleted_at', 'is', null)
      .orderBy('g.name')
      .execute(),
    db.selectFrom('customer_scores').selectAll().where('customer_id', '=', id).executeTakeFirst(),
  ]);
  return {
    ...rest,
    mobile: m.mobile(mobile_enc ? cipher.decrypt(mobile_enc) : null),
    idNumber: m.idNumber(id_number_enc ? cipher.decrypt(id_number_enc) : null),
    revealed: m.full,
    contacts,
    tags,
    scores: scores ?? null,
  };
}

/** Streams every customer in scope as CSV lines (masked unless the role may reveal). */
export async function* exportCustomers(db: Db, cipher: FieldCipher, actor: Actor, reveal: boolean): AsyncGenerator<string> {
  const m = maskedFor(actor.role, reveal);
  yield 'cif_no,name,mobile,branch_id,aum,risk_level,segments,marketing_consent\n';
  let after = '';
  const csv = (v: unknown) => {
    const s = v === null || v === undefined ? '' : String(v);
    // Leading = + - @ would be formulas in a spreadsheet.
    const safe = /^[=+\-@]/.test(s) ? `'${s}` : s;
    return /[",\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  for (;;) {
    const rows = await db
      .selectFrom('customers')
      .select(['cif_no', 'name', 'mobile_enc', 'branch_id', 'aum', 'risk_level', 'segments', 'marketing_consent'])
      .where(customerScope(actor))
      .where('cif_no', '>', after)
      .orderBy('cif_no')
      .limit(1000)
      .execute();
    if (!rows.length) return;
    yield rows
      .map((r) =>
        [r.cif_no, r.name, m.mobile(r.mobile_enc ? cipher.decrypt(r.mobile_enc) : null), r.branch_id, r.aum, r.risk_level, r.segments.join('|'), r.marketing_consent]
          .map(csv)
          .join(',') + '\n',
      )
      .join('');
    after = rows[rows.length - 1]!.cif_no;
  }
}
