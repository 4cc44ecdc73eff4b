import { z } from 'zod';
import type { Api } from '../platform/http/api.js';
import type { Db } from '../platform/db/database.js';
import type { EventBus } from '../platform/events.js';
import { EVENTS } from '../platform/events.js';
import { auditBy, recordAudit } from '../audit/index.js';
import { rolesFor } from '../auth/index.js';
import { listSettings, updateSetting } from './index.js';

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
    method: 'put',
    path: '/settings/:key',
    summary: 'change a runtime setting',
    tag: 'settings',
    auth: rolesFor('settings.write'),
    params: z.object({ key: z.string().max(100) }),
    body: z.object({ value: z.unknown() }),
    handler: async ({ params, body, actor, ctx }) => {
      const result = await updateSetting(deps.db, params.key, body.value, actor!.id);
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
