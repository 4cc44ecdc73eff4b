import { bootApp, type TestApp } from '../../test/harness.js';
import { createLogger } from '../platform/logger.js';
import type { TagDeps } from './jobs.js';

/**
 * Test support: the whole app in sandbox mode (app.ts wires the tags module: routes, jobs, the tags.changed
 * subscription) and the deps the module's functions take.
 */
export async function bootWithTags(overrides: Record<string, string> = {}): Promise<{ app: TestApp; deps: TagDeps }> {
  const app = await bootApp({ DEMO_CUSTOMERS: '300', ...overrides });
  const deps: TagDeps = { db: app.database.db, gateway: app.wecom.gateway, events: app.events, jobs: app.jobs, logger: createLogger({ level: 'silent' }) };
  return { app, deps };
}
