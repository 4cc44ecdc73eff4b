import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router';
import type { Me } from '@shared/api';
import type { ConsoleArea } from './area';
import { session } from './session';
import Login from './Login.vue';
import Layout from './Layout.vue';

const modules = import.meta.glob<{ default: ConsoleArea }>('./pages/*/index.ts', { eager: true });
export const areas: ConsoleArea[] = Object.values(modules)
  .map((m) => m.default)
  .sort((a, b) => a.order - b.order);

const children: RouteRecordRaw[] = areas.flatMap((a) => a.routes);

/** The first menu entry the role may open: where "/" leads. */
export function homeFor(role: Me['role']): string {
  for (const area of areas) for (const m of area.menu) if (!m.roles || m.roles.includes(role)) return `/${m.path}`;
  return '/';
}

export const router = createRouter({
  history: createWebHistory('/console/'),
  routes: [
    { path: '/login', name: 'login', component: Login, meta: { public: true, title: '登录' } },
    { path: '/', component: Layout, children },
    { path: '/:rest(.*)*', redirect: '/' },
  ],
});

router.beforeEach(async (to) => {
  if (to.meta.public) return true;
  const me = await session.load();
  if (!me) return { name: 'login', query: { next: to.fullPath } };
  if (to.path === '/') {
    const home = homeFor(me.role);
    if (home !== '/') return home;
  }
  return true;
});

router.afterEach((to) => {
  const title = to.meta.title as string | undefined;
  document.title = title ? `${title} · 星河银行 SCRM` : '星河银行 SCRM 运营台';
});
