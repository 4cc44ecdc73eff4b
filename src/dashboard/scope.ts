import { sql, type RawBuilder, type SqlBool } from 'kysely';
import type { Actor } from '../platform/http/context.js';

/**
 * Which rows a dashboard reader counts. The dashboard counts what members (account managers) did and what
 * happened to their WeCom contacts, most of whom are not (yet) linked to a bank customer, so a branch
 * manager's dashboard covers the members of their branch: a relation, enrollment, message or customer
 * message counts when the member it belongs to (by corp and WeCom userid) is staff of that branch. This
 * is customerScope's branch rule applied to the member rather than to a customer record, which an unlinked
 * contact does not have. Admin, ops and compliance see the whole bank; rows without a member (a customer
 * message no member follows) count only bank-wide.
 */
export type MemberScope = (corpColumn: string, useridColumn: string) => RawBuilder<SqlBool>;

export function memberScope(actor: Actor): MemberScope {
  switch (actor.role) {
    case 'admin':
    case 'ops':
    case 'compliance':
      return () => sql<SqlBool>`true`;
    case 'branch_manager': {
      const branch = actor.branchId;
      if (!branch) return () => sql<SqlBool>`false`;
      return (corp, userid) => sql<SqlBool>`(${sql.ref(corp)}, ${sql.ref(userid)}) IN (
        SELECT s.corp_id, s.wecom_userid FROM staff s WHERE s.branch_id = ${branch} AND s.wecom_userid IS NOT NULL)`;
    }
    default:
      return () => sql<SqlBool>`false`;
  }
}
