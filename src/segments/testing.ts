import { testDatabase } from '../../test/harness.js';
import { DEMO_CORP_ID } from '../demo/seed.js';
import type { FilterNode } from '../filters/index.js';
import { NOW, TODAY, buildWorld } from '../filters/fixture.js';
import { evaluate, type OracleCustomer, type World } from '../filters/oracle.js';
import type { DatabaseHandle } from '../platform/db/database.js';
import type { Role } from '../platform/db/schema.js';
import type { Actor } from '../platform/http/context.js';
import { segmentSql, segmentSqlById } from './compile.js';
import type { WriteContext } from './store.js';

/**
 * Test support: the filter tests' world (300 synthetic customers from the demo generator plus hand-built edge
 * cases, with tags, scores, follow relations and messages, all decided in JavaScript first) in a fresh database,
 * and the oracle's answers as sets of CIF numbers, so every segment method is checked against plain set logic.
 */
export { NOW };
export const ENV = { today: TODAY, timeZone: 'Asia/Shanghai' };

export function actorOf(role: Role, extra: Partial<Actor> = {}): Actor {
  return {
    id: `00000000-0000-4000-8000-00000000000${['admin', 'ops', 'compliance', 'branch_manager', 'account_manager'].indexOf(role)}`,
    username: role, displayName: role, role, branchId: null, corpId: null, wecomUserid: null, sessionId: 's', ...extra,
  };
}

export const ADMIN = actorOf('admin');
export const OPS = actorOf('ops');
export const LINA = actorOf('account_manager', { username: 'am.lina', branchId: 'br-hz-xihu', corpId: DEMO_CORP_ID, wecomUserid: 'LiNa' });
export const XIHU_MANAGER = actorOf('branch_manager', { username: 'bm.liuyang', branchId: 'br-hz-xihu' });

export const byOps = (extra: Partial<WriteContext> = {}): WriteContext => ({ actor: OPS, ip: '127.0.0.1', requestId: 'test', now: NOW, ...extra });

export interface SegmentWorld {
  handle: DatabaseHandle;
  world: World;
  idOf: (cif: string) => string;
  cifOf: (id: string) => string;
  /** CIF numbers the filter oracle selects. */
  oracle: (tree: FilterNode, among?: (c: OracleCustomer) => boolean) => Set<string>;
  /** CIF numbers a definition (unsaved) or a stored segment (by id) selects, bank-wide. */
  select: (source: unknown) => Promise<Set<string>>;
  customer: (cif: string) => OracleCustomer;
}

export async function segmentWorld(): Promise<SegmentWorld> {
  const handle = await testDatabase();
  const world = await buildWorld(handle.db);
  const rows = await handle.db.selectFrom('customers').select(['id', 'cif_no']).execute();
  const ids = new Map(rows.map((r) => [r.cif_no, r.id]));
  const cifs = new Map(rows.map((r) => [r.id, r.cif_no]));
  const byCif = new Map(world.customers.map((c) => [c.cifNo, c]));
  return {
    handle, world,
    idOf: (cif) => ids.get(cif) ?? fail(`no customer ${cif}`),
    cifOf: (id) => cifs.get(id) ?? fail(`no customer id ${id}`),
    customer: (cif) => byCif.get(cif) ?? fail(`no customer ${cif}`),
    oracle: (tree, among = () => true) => new Set(world.customers.filter((c) => among(c) && evaluate(tree, c, world, ENV)).map((c) => c.cifNo)),
    async select(source) {
      const query = typeof source === 'string'
        ? await segmentSqlById(handle.db, source, { now: NOW })
        : await segmentSql(handle.db, source, { now: NOW });
      return new Set((await query.execute()).map((r) => cifs.get(r.id)!));
    },
  };
}

function fail(message: string): never {
  throw new Error(message);
}

/** Sorted, for readable deep-equal failures. */
export const sorted = (set: Iterable<string>) => [...set].sort();
export const union = (...sets: Set<string>[]) => new Set(sets.flatMap((s) => [...s]));
export const intersection = (a: Set<string>, b: Set<string>) => new Set([...a].filter((x) => b.has(x)));
export const difference = (a: Set<string>, b: Set<string>) => new Set([...a].filter((x) => !b.has(x)));

/** Whether the account manager has a live WeCom follow relation with the customer (customerScope's rule). */
export const followsLive = (userid: string) => (c: OracleCustomer) => c.relations.some((r) => !r.deleted && r.userid === userid);
