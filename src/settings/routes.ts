import { z } from 'zod';
import type { Api } from '../platform/http/api.js';
import type { Db } from '../platform/db/database.js';
import type { EventBus } from '../platform/events.js';
import { EVENTS } from '../platform/events.js';
import { auditBy, recordAudit } from '../audit/index.js';
import { rolesFor } from '../auth/index.js';
import { checkSetting, listSettings, settingHistory, updateSetting } from './index.js';

export function registerSettingsRoutes(api: Api, deps: { db: Db; events: EventBus }): void {
  api.route({
    method: 'get',
    path: '/settings',
    summary: 'list runtime settings with their values and versions',
    tag: 'settings',
    auth: rolesFor('settings.read'),
    handler: async () => ({ items: await listSettings(deps.db) }),
  });

  api.route({
    method: 'get',
    path: '/settings/:key/history',
    summary: 'the versions of a runtime setting, newest first: who changed it, when, the value before and after (from the audit log)',
    tag: 'settings',
    auth: rolesFor('settings.read'),
    params: z.object({ key: z.string().max(100) }),
    query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }),
    handler: async ({ params, query }) => ({ items: await settingHistory(deps.db, params.key, query.limit) }),
  });

  api.route({
    method: 'post',
    path: '/settings/:key/validate',
    summary: 'check a value for a runtime setting without storing it: 200 {ok, issues} with the issues a change would answer 400 with (the console checks before it saves)',
    tag: 'settings',
    auth: rolesFor('settings.write'),
    params: z.object({ key: z.string().max(100) }),
    body: z.object({ value: z.unknown() }),
    handler: async ({ params, body }) => {
      const issues = checkSetting(params.key, body.value);
      return { ok: issues.length === 0, issues };
    },
  });

  api.route({
    method: 'put',
    path: '/settings/:key',
    summary: 'change a runtime setting; with `version` (the one the change was made from) a setting changed meanwhile answers 409',
    tag: 'settings',
    auth: rolesFor('settings.write'),
    params: z.object({ key: z.string().max(100) }),
    body: z.object({ value: z.unknown(), version: z.number().int().min(0).optional() }),
    handler: async ({ params, body, actor, ctx }) => {
      const result = await updateSetting(deps.db, params.key, body.value, actor!.id, body.version);
      await recordAudit(
        deps.db,
        auditBy(actor!, { ip: ctx.ip, requestId: ctx.state.requestId })('settings.update', {
          targetType: 'setting',
          targetId: params.key,
          outcome: 'success',
          detail: { before: result.before, after: result.after, version: result.version },
        }),
      );
      deps.events.publish(EVENTS.settingChanged, { key: params.key, version: result.version }, { type: 'member', id: actor!.id });
      return { key: params.key, value: result.after, version: result.version };
    },
  });
}
