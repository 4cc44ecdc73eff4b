import { sql } from 'kysely';
import catalogue from '../../data/bank/products.json' with { type: 'json' };
import type { Db } from '../platform/db/database.js';
import { RFM_CLASSES } from '../scoring/index.js';
import { fieldNamed, type EnumValue } from './fields.js';

/**
 * Values the console's visual builder offers for a field: the closed values of the registry, or the bank's
 * own lists (branches, products, tags, members, channels, RFM classes, customer segment labels). They are
 * suggestions for the value editor; validation still accepts any id string where the registry does.
 */
const PRODUCTS: readonly EnumValue[] = (catalogue as readonly { id: string; name: string }[]).map((p) => ({ value: p.id, label: p.name }));

/** Rows read to suggest customer segment labels (代发, 社保, ...): enough to see every label a bank uses. */
const SEGMENT_SAMPLE = 50_000;

export async function fieldValues(db: Db, name: string): Promise<EnumValue[] | undefined> {
  const field = fieldNamed(name);
  if (!field) return undefined;
  if (field.values) return field.values.map((v) => ({ ...v }));
  switch (field.name) {
    case 'branch_id':
      return (await db.selectFrom('branches').select(['id', 'name']).orderBy('id').execute()).map((b) => ({ value: b.id, label: b.name }));
    case 'products':
      return PRODUCTS.map((p) => ({ ...p }));
    case 'rfm_class':
      return RFM_CLASSES.map((c) => ({ value: c, label: c }));
    case 'tags': {
      // `group:name` names a tag unambiguously and reads well in describeFilter.
      const rows = await db.selectFrom('tags as t').innerJoin('tag_groups as g', 'g.id', 't.group_id')
        .select(['t.name', 'g.name as group']).where('t.deleted_at', 'is', null).orderBy('g.name').orderBy('t.name').execute();
      return rows.map((t) => ({ value: `${t.group}:${t.name}`, label: `${t.group} · ${t.name}` }));
    }
    case 'follow_member': {
      const rows = await sql<{ userid: string; name: string }>`
        SELECT DISTINCT ON (m.userid) m.userid, coalesce(s.display_name, m.name) AS name
          FROM (SELECT userid, name FROM wecom_members WHERE deleted_at IS NULL
                UNION ALL SELECT wecom_userid, display_name FROM staff WHERE wecom_userid IS NOT NULL AND active) m
          LEFT JOIN staff s ON s.wecom_userid = m.userid
         ORDER BY m.userid`.execute(db);
      return rows.rows.map((m) => ({ value: m.userid, label: `${m.name}（${m.userid}）` }));
    }
    case 'follow_channel': {
      const rows = await db.selectFrom('wecom_contact_ways').select(['state', 'name']).where('deleted_at', 'is', null).orderBy('name').execute();
      return rows.map((w) => ({ value: w.state, label: w.name }));
    }
    case 'segments': {
      const rows = await sql<{ label: string }>`
        SELECT DISTINCT unnest(segments) AS label FROM (SELECT segments FROM customers LIMIT ${SEGMENT_SAMPLE}) c ORDER BY 1`.execute(db);
      return rows.rows.map((r) => ({ value: r.label, label: r.label }));
    }
    default:
      return [];
  }
}
