import { z } from 'zod';
import type { Api } from '../platform/http/api.js';
import { describeFilter, filterNodeSchema, listFields } from './index.js';

/** What the console's visual builder needs: the fields, and a Chinese reading of a tree. */
export function registerFilterRoutes(api: Api): void {
  api.route({
    method: 'get',
    path: '/filters/fields',
    summary: 'the fields, operators and values the filter grammar accepts',
    tag: 'filters',
    auth: 'any',
    handler: async () => ({ fields: listFields() }),
  });
  api.route({
    method: 'post',
    path: '/filters/describe',
    summary: 'validate a filter tree and describe it in Chinese',
    tag: 'filters',
    auth: 'any',
    body: z.object({ filter: filterNodeSchema }),
    handler: async ({ body }) => ({ description: describeFilter(body.filter) }),
  });
}
