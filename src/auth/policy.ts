import { sql, type ExpressionBuilder, type Expression, type SqlBool } from 'kysely';
import type { Database, Role } from '../platform/db/schema.js';
import type { Actor } from '../platform/http/context.js';
import { mask } from '../platform/crypto.js';

/**
 * The role matrix. Routes name a permission, never a list of roles, so the matrix lives here and is
 * tested as a table.
 */
export const PERMISSIONS = {
  'customers.read': ['admin', 'ops', 'compliance', 'branch_manager', 'account_manager'],
  /** See a customer's record unmasked (each view audited). */
  'customers.reveal': ['admin', 'branch_manager', 'account_manager'],
  'customers.export': ['admin', 'ops', 'branch_manager'],
  'customers.write': ['admin', 'branch_manager', 'account_manager'],
  'staff.read': ['admin', 'branch_manager'],
  'staff.manage': ['admin'],
  'settings.read': ['admin', 'ops', 'compliance'],
  'settings.write': ['admin'],
  'audit.read': ['admin', 'compliance'],
  'compliance.manage': ['admin', 'compliance'],
  'sop.manage': ['admin', 'ops'],
  'content.manage': ['admin', 'ops'],
  'content.approve': ['admin', 'compliance'],
  /** Channel QR codes, corp tags, WeCom sync runs. */
  'wecom.manage': ['admin', 'ops'],
  /** The callback inbox and sync reports. */
  'wecom.read': ['admin', 'ops', 'compliance'],
  /** Tag a customer the caller follows (account managers tag their own customers). */
  'tags.assign': ['admin', 'ops', 'branch_manager', 'account_manager'],
  /** The console's dashboard (数据看板); a branch manager's covers their branch's members. */
  'dashboard.read': ['admin', 'ops', 'compliance', 'branch_manager'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

export const rolesFor = (permission: Permission): readonly Role[] => PERMISSIONS[permission];
export const can = (role: Role, permission: Permission): boolean => (PERMISSIONS[permission] as readonly Role[]).includes(role);

/**
 * Which customers an actor may see. Every customer query goes through this:
 * - admin, ops, compliance: the whole bank;
 * - branch_manager: customers of their branch;
 * - account_manager: customers who have them as a live WeCom follower.
 */
export function customerScope(actor: Actor) {
  return (eb: ExpressionBuilder<Database, 'customers'>): Expression<SqlBool> => {
    switch (actor.role) {
      case 'admin':
      case 'ops':
      case 'compliance':
        return sql<SqlBool>`true`;
      case 'branch_manager':
        return actor.branchId ? eb('customers.branch_id', '=', actor.branchId) : sql<SqlBool>`false`;
      case 'account_manager':
        if (!actor.wecomUserid || !actor.corpId) return sql<SqlBool>`false`;
        return eb.exists(
          eb
            .selectFrom('follow_relations as fr')
            .innerJoin('external_contacts as ec', (join) =>
              join.onRef('ec.corp_id', '=', 'fr.corp_id').onRef('ec.external_userid', '=', 'fr.external_userid'),
            )
            .select(sql`1`.as('one'))
            .whereRef('ec.customer_id', '=', 'customers.id')
            .where('fr.corp_id', '=', actor.corpId)
            .where('fr.userid', '=', actor.wecomUserid)
            .where('fr.deleted_at', 'is', null),
        );
    }
  };
}

/** Masks a display value unless the role may reveal it and the caller asked to. */
export function maskedFor(role: Role, reveal: boolean) {
  const full = reveal && can(role, 'customers.reveal');
  return {
    full,
    mobile: (v: string | null) => (v === null ? null : full ? v : mask.mobile(v)),
    idNumber: (v: string | null) => (v === null ? null : full ? v : mask.idNumber(v)),
  };
}
