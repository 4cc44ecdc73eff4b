import type { ApiCall, ApiRoute } from '../core.js';
import { WeComError } from '../errors.js';
import type { Department, Member } from '../types.js';
import type { World } from '../world.js';
import { optionalInt, page, requireString } from './params.js';

/** Departments and members (SHAPES §2). */

function subtree(world: World, rootId: number | undefined): Department[] {
  if (rootId === undefined) return world.departments;
  if (!world.departments.some((d) => d.id === rootId)) throw new WeComError(60003);
  const ids = new Set([rootId]);
  // Departments are stored parents first, so one pass collects a whole subtree.
  for (const d of world.departments) if (ids.has(d.parentid)) ids.add(d.id);
  return world.departments.filter((d) => ids.has(d.id));
}

function departmentList({ world, query }: ApiCall) {
  return { department: subtree(world, optionalInt(query.id, 'id')).map((d) => ({ ...d })) };
}

function departmentSimpleList({ world, query }: ApiCall) {
  return { department_id: subtree(world, optionalInt(query.id, 'id')).map((d) => ({ id: d.id, parentid: d.parentid, order: d.order })) };
}

function membersOf(world: World, departmentId: unknown): Member[] {
  const id = optionalInt(departmentId, 'department_id');
  if (id === undefined) throw new WeComError(40058, 'missing department_id');
  if (!world.departments.some((d) => d.id === id)) throw new WeComError(60003);
  // Not recursive, as WeCom: a caller walks sub-departments itself.
  return [...world.members.values()].filter((m) => m.department.includes(id));
}

const memberJson = (m: Member) => {
  const { branchId: _branch, ...json } = m;
  return { ...json, extattr: { attrs: [] }, external_profile: { external_corp_name: '星河银行', external_attr: [] } };
};

function userList({ world, query }: ApiCall) {
  return { userlist: membersOf(world, query.department_id).map(memberJson) };
}

function userSimpleList({ world, query }: ApiCall) {
  return { userlist: membersOf(world, query.department_id).map((m) => ({ userid: m.userid, name: m.name, department: m.department, open_userid: m.open_userid })) };
}

function userGet({ world, query }: ApiCall) {
  const member = world.member(requireString(query.userid, 41009));
  if (!member) throw new WeComError(60111);
  return memberJson(member);
}

function userListId({ world, body }: ApiCall) {
  const limit = optionalInt(body.limit, 'limit') ?? 10_000;
  if (limit < 1 || limit > 10_000) throw new WeComError(40058, 'limit must be 1-10000');
  const rows = [...world.members.values()].flatMap((m) => m.department.map((department) => ({ userid: m.userid, department })));
  const indexed = rows.map((row, i) => ({ row, position: i + 1 }));
  const { items, next } = page(indexed, (r) => r.position, body.cursor, limit, 'list_id');
  return { next_cursor: next, dept_user: items.map((r) => r.row) };
}

export const directoryRoutes: ApiRoute[] = [
  { path: 'department/list', method: 'GET', handler: departmentList },
  { path: 'department/simplelist', method: 'GET', handler: departmentSimpleList },
  { path: 'user/list', method: 'GET', handler: userList },
  { path: 'user/simplelist', method: 'GET', handler: userSimpleList },
  { path: 'user/get', method: 'GET', handler: userGet },
  // Only the contact-sync secret may list ids (SHAPES §2.4).
  { path: 'user/list_id', method: 'POST', handler: userListId, secrets: ['contact'] },
];
