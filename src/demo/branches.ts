import type { Role } from '../platform/db/schema.js';

/**
 * Branches and staff of the fictional 星河银行 (Xinghe Bank) used by the demo seed, tests and benchmarks.
 * Everything here is invented; names are common Chinese names, not real employees.
 */

export interface DemoBranch {
  id: string;
  name: string;
  city: string;
}

export interface DemoStaff {
  username: string;
  displayName: string;
  role: Role;
  branchId: string | null;
  wecomUserid: string | null;
  title: string | null;
}

export const BRANCHES: readonly DemoBranch[] = [
  { id: 'br-hq', name: '星河银行总行营业部', city: '杭州' },
  { id: 'br-hz-xihu', name: '星河银行杭州西湖支行', city: '杭州' },
  { id: 'br-hz-binjiang', name: '星河银行杭州滨江支行', city: '杭州' },
  { id: 'br-nb-yinzhou', name: '星河银行宁波鄞州支行', city: '宁波' },
  { id: 'br-nb-haishu', name: '星河银行宁波海曙支行', city: '宁波' },
  { id: 'br-sh-pudong', name: '星河银行上海浦东支行', city: '上海' },
];

/**
 * br-nb-haishu deliberately has no account manager, so code that assigns WeCom followers by branch
 * (and the synthetic generator) has to handle a branch without one.
 */
export const DEMO_STAFF: readonly DemoStaff[] = [
  { username: 'admin', displayName: '系统管理员', role: 'admin', branchId: null, wecomUserid: null, title: null },
  { username: 'ops', displayName: '陈晓', role: 'ops', branchId: null, wecomUserid: null, title: null },
  { username: 'compliance', displayName: '孙立', role: 'compliance', branchId: null, wecomUserid: null, title: null },
  { username: 'bm.liuyang', displayName: '刘洋', role: 'branch_manager', branchId: 'br-hz-xihu', wecomUserid: null, title: '支行行长' },
  { username: 'bm.chenjing', displayName: '陈静', role: 'branch_manager', branchId: 'br-nb-yinzhou', wecomUserid: null, title: '支行行长' },
  { username: 'am.zhangwei', displayName: '张伟', role: 'account_manager', branchId: 'br-hq', wecomUserid: 'ZhangWei', title: '理财经理' },
  { username: 'am.wangfang', displayName: '王芳', role: 'account_manager', branchId: 'br-hq', wecomUserid: 'WangFang', title: '私人银行顾问' },
  { username: 'am.lina', displayName: '李娜', role: 'account_manager', branchId: 'br-hz-xihu', wecomUserid: 'LiNa', title: '客户经理' },
  { username: 'am.liuqiang', displayName: '刘强', role: 'account_manager', branchId: 'br-hz-xihu', wecomUserid: 'LiuQiang', title: '理财经理' },
  { username: 'am.zhaomin', displayName: '赵敏', role: 'account_manager', branchId: 'br-hz-binjiang', wecomUserid: 'ZhaoMin', title: '客户经理' },
  { username: 'am.sunhao', displayName: '孙浩', role: 'account_manager', branchId: 'br-nb-yinzhou', wecomUserid: 'SunHao', title: '客户经理' },
  { username: 'am.zhoujie', displayName: '周杰', role: 'account_manager', branchId: 'br-nb-yinzhou', wecomUserid: 'ZhouJie', title: '理财经理' },
  { username: 'am.wuting', displayName: '吴婷', role: 'account_manager', branchId: 'br-sh-pudong', wecomUserid: 'WuTing', title: '客户经理' },
];
