import { z } from 'zod';
import { rolesFor } from '../auth/index.js';
import type { Db } from '../platform/db/database.js';
import { notFound } from '../platform/errors.js';
import type { Api } from '../platform/http/api.js';
import { describeFilter, filterNodeSchema, listFields } from './index.js';
import { fieldValues } from './values.js';

/** What the console's visual builder needs: the fields, the values to pick from, and a Chinese reading of a tree. */
export function registerFilterRoutes(api: Api, deps: { db: Db }): void {
  api.route({
    method: 'get',
    path: '/filters/fields',
    summary: 'the fields, operators and values the filter grammar accepts',
    tag: 'filters',
    auth: 'any',
    handler: async () => ({ fields: listFields() }),
  });
  api.route({
    method: 'get',
    path: '/filters/fields/:name/values',
    summary: 'values to offer for a field: its closed values, or the bank’s branches, products, tags, members, channels, RFM classes or segment labels',
    tag: 'filters',
    auth: rolesFor('customers.read'),
    params: z.object({ name: z.string().min(1).max(64) }),
    handler: async ({ params }) => {
      const values = await fieldValues(deps.db, params.name);
      if (!values) throw notFound('filter field');
      return { field: params.name, values };
    },
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
