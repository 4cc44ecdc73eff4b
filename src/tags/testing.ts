import { bootApp, type TestApp } from '../../test/harness.js';
import { createLogger } from '../platform/logger.js';
import { defineTagJobs, subscribeTagEvents, type TagDeps } from './jobs.js';
import { registerTagRoutes } from './routes.js';

/**
 * Test support: the whole app in sandbox mode with the tags module wired as app.ts should wire it (routes,
 * jobs, the tags.changed subscription). When app.ts already registers the tag routes, nothing is added twice.
 */
export async function bootWithTags(overrides: Record<string, string> = {}): Promise<{ app: TestApp; deps: TagDeps }> {
  const app = await bootApp({ DEMO_CUSTOMERS: '300', ...overrides });
  const deps: TagDeps = { db: app.database.db, gateway: app.wecom.gateway, events: app.events, jobs: app.jobs, logger: createLogger({ level: 'silent' }) };
  if (!app.api.list().some((r) => r.path === '/api/v1/tags')) {
    registerTagRoutes(app.api, deps);
    defineTagJobs(app.jobs, deps);
    subscribeTagEvents(app.events, deps);
  }
  return { app, deps };
}
