import type { FilterLeaf, FilterNode } from './types.js';

/**
 * Test support: the filter semantics evaluated in plain JavaScript over in-memory customers, written apart
 * from the SQL compiler (no shared helpers) so the tests compare two independent readings of the rules.
 */
export interface OracleTag { id: string; name: string; group: string; deleted: boolean }
export interface OracleRelation { userid: string; addedAt: string | null; state: string | null; contactWayId: string | null; deleted: boolean }
export interface OracleScore {
  recency: number | null; frequency: number | null; monetary: number | null;
  rfmClass: string | null; churnProbability: number | null; churnBand: string | null;
}
export interface OracleCustomer {
  cifNo: string; name: string; gender: 'M' | 'F' | null; birthDate: string | null; branchId: string | null; aum: number;
  riskLevel: string | null; riskAssessedAt: string | null; products: string[]; segments: string[]; lastTxnAt: string | null;
  marketingConsent: boolean; createdAt: string; maturities: unknown; score: OracleScore | null;
  tagIds: string[]; relations: OracleRelation[]; messages: { at: string; kind: string }[];
}
export interface World { customers: OracleCustomer[]; tags: OracleTag[] }
export interface Env { today: string; timeZone: string }

const DAY = 86_400_000;
export const dayOf = (instant: string, timeZone: string) => new Date(instant).toLocaleDateString('sv-SE', { timeZone });
const diffDays = (later: string, earlier: string) => (Date.parse(later) - Date.parse(earlier)) / DAY;
const leap = (y: number) => new Date(Date.UTC(y, 1, 29)).getUTCMonth() === 1;

function nextBirthdayIn(birth: string, today: string): number {
  const y0 = Number(today.slice(0, 4));
  for (const y of [y0, y0 + 1]) {
    const md = birth.slice(5) === '02-29' && !leap(y) ? '02-28' : birth.slice(5);
    const d = `${y}-${md}`;
    if (d >= today) return diffDays(d, today);
  }
  throw new Error('unreachable');
}

function ageOn(birth: string, today: string): number {
  return Number(today.slice(0, 4)) - Number(birth.slice(0, 4)) - (today.slice(5) < birth.slice(5) ? 1 : 0);
}

function numberOf(c: OracleCustomer, field: string, env: Env): number | null {
  switch (field) {
    case 'aum': return c.aum;
    case 'age': return c.birthDate ? ageOn(c.birthDate, env.today) : null;
    case 'churn_probability': return c.score?.churnProbability ?? null;
    case 'recency_score': return c.score?.recency ?? null;
    case 'frequency_score': return c.score?.frequency ?? null;
    case 'monetary_score': return c.score?.monetary ?? null;
  }
  throw new Error(`oracle: no number field ${field}`);
}

function textOf(c: OracleCustomer, field: string): string | null {
  const values: Record<string, string | null> = {
    risk_level: c.riskLevel, gender: c.gender, branch_id: c.branchId, rfm_class: c.score?.rfmClass ?? null,
    churn_band: c.score?.churnBand ?? null, name: c.name, cif_no: c.cifNo,
  };
  if (!(field in values)) throw new Error(`oracle: no text field ${field}`);
  return values[field]!;
}

/** Every calendar day the field has for this customer (a date field has at most one; follow_added one per live relation). */
function daysOf(c: OracleCustomer, field: string, env: Env): string[] {
  const local = (ts: string | null) => (ts ? [dayOf(ts, env.timeZone)] : []);
  switch (field) {
    case 'last_txn_at': return local(c.lastTxnAt);
    case 'created_at': return local(c.createdAt);
    case 'risk_assessed_at': return c.riskAssessedAt ? [c.riskAssessedAt] : [];
    case 'birth_date': return c.birthDate ? [c.birthDate] : [];
    case 'follow_added': return c.relations.filter((r) => !r.deleted && r.addedAt).map((r) => dayOf(r.addedAt!, env.timeZone));
    case 'last_contact_at': {
      const stamps = [...c.relations.map((r) => r.addedAt), ...c.messages.filter((m) => m.kind === 'message_in' || m.kind === 'message_out').map((m) => m.at)]
        .filter((s): s is string => s !== null)
        .sort((a, b) => Date.parse(b) - Date.parse(a));
      return local(stamps[0] ?? null);
    }
  }
  throw new Error(`oracle: no date field ${field}`);
}

function tagMatches(tag: OracleTag, ref: string): boolean {
  if (tag.deleted) return false;
  return tag.name === ref || `${tag.group}:${tag.name}` === ref || tag.id.toLowerCase() === ref.toLowerCase();
}

function leaf(node: FilterLeaf, c: OracleCustomer, world: World, env: Env): boolean {
  const { field, op, value } = node;
  const values = (Array.isArray(value) ? value : [value]) as string[];
  const withinLast = (day: string, n: number) => diffDays(env.today, day) >= 0 && diffDays(env.today, day) <= n;
  switch (field) {
    case 'aum': case 'age': case 'churn_probability': case 'recency_score': case 'frequency_score': case 'monetary_score': {
      const v = numberOf(c, field, env);
      const x = value as number, [lo, hi] = (Array.isArray(value) ? value : []) as number[];
      const holds: Record<string, boolean> = {
        eq: v !== null && v === x, ne: !(v !== null && v === x), gt: v !== null && v > x, gte: v !== null && v >= x,
        lt: v !== null && v < x, lte: v !== null && v <= x, between: v !== null && v >= lo! && v <= hi!, is_null: v === null, not_null: v !== null,
      };
      return holds[op]!;
    }
    case 'risk_level': case 'gender': case 'branch_id': case 'rfm_class': case 'churn_band': {
      const v = textOf(c, field);
      const inList = v !== null && values.includes(v);
      return op === 'ne' || op === 'not_in' ? !inList : inList;
    }
    case 'name': case 'cif_no': {
      const v = textOf(c, field)!, x = value as string;
      return op === 'eq' ? v === x : op === 'contains' ? v.includes(x) : v.startsWith(x);
    }
    case 'marketing_consent': return c.marketingConsent === (op === 'is_true');
    case 'is_wecom_contact': return c.relations.some((r) => !r.deleted) === (op === 'is_true');
    case 'risk_assessment_valid': return (c.riskAssessedAt !== null && withinLast(c.riskAssessedAt, 365)) === (op === 'is_true');
    case 'segments': case 'products': {
      if (op === 'matures_within_days') {
        const end = new Date(Date.parse(env.today) + (value as number) * DAY).toISOString().slice(0, 10);
        return Array.isArray(c.maturities) && c.maturities.some((m: unknown) => {
          const d = typeof m === 'object' && m !== null && !Array.isArray(m) ? (m as { date?: unknown }).date : undefined;
          if (typeof d !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(d.slice(0, 10))) return false;
          return d.slice(0, 10) >= env.today && d.slice(0, 10) <= end;
        });
      }
      const held = field === 'segments' ? c.segments : c.products;
      if (op === 'has' || op === 'has_all') return values.every((v) => held.includes(v));
      return values.some((v) => held.includes(v)) === (op === 'has_any');
    }
    case 'tags': {
      const mine = world.tags.filter((t) => c.tagIds.includes(t.id));
      const hasRef = (ref: string) => mine.some((t) => tagMatches(t, ref));
      if (op === 'has' || op === 'has_all') return values.every(hasRef);
      return values.some(hasRef) === (op === 'has_any');
    }
    case 'follow_member': return c.relations.some((r) => !r.deleted && values.includes(r.userid));
    case 'follow_channel':
      return c.relations.some((r) => !r.deleted && ((r.state !== null && values.includes(r.state)) || (r.contactWayId !== null && values.includes(r.contactWayId))));
  }
  const days = daysOf(c, field, env);
  const some = (test: (day: string) => boolean) => days.some(test);
  const [from, to] = (Array.isArray(value) ? value : []) as string[];
  switch (op) {
    case 'before': return some((d) => d < (value as string));
    case 'after': return some((d) => d > (value as string));
    case 'between': return some((d) => d >= from! && d <= to!);
    case 'within_last_days': return some((d) => withinLast(d, value as number));
    case 'not_within_last_days': return !some((d) => withinLast(d, value as number));
    case 'birthday_within_next_days': return some((d) => nextBirthdayIn(d, env.today) <= (value as number));
  }
  throw new Error(`oracle: no rule for ${field} ${op}`);
}

export function evaluate(node: FilterNode, c: OracleCustomer, world: World, env: Env): boolean {
  if ('all' in node) return node.all.every((n) => evaluate(n, c, world, env));
  if ('any' in node) return node.any.some((n) => evaluate(n, c, world, env));
  if ('not' in node) return !evaluate(node.not, c, world, env);
  return leaf(node, c, world, env);
}

/** CIF numbers the oracle selects, sorted. */
export function expectedCifs(node: FilterNode, world: World, env: Env): string[] {
  return world.customers.filter((c) => evaluate(node, c, world, env)).map((c) => c.cifNo).sort();
}
