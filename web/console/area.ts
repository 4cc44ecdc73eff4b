import type { RouteRecordRaw } from 'vue-router';
import type { Me } from '@shared/api';

/**
 * A console area: a folder under pages/ whose index.ts default-exports one of these. The router and
 * the side menu are built from every area found, so adding a page means adding a folder.
 */
export interface ConsoleArea {
  /** Sort key of the menu (lower first). */
  order: number;
  /** Menu group title; areas with the same group share a submenu. */
  group?: string;
  /** Routes, with paths relative to /console/. */
  routes: RouteRecordRaw[];
  /**
   * Menu entries: path (as in routes) and Chinese title; `feature` shows the entry only when the
   * deployment has it (`GET /api/v1/system/info`, e.g. the sandbox simulator).
   */
  menu: { path: string; title: string; roles?: Me['role'][]; feature?: 'sandbox' | 'simulator' }[];
}

export function defineArea(area: ConsoleArea): ConsoleArea {
  return area;
}
