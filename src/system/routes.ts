import { z } from 'zod';
import type { Api } from '../platform/http/api.js';

/**
 * `GET /api/v1/system/info`: what the pages need to know about this deployment. `sandbox` says
 * the WeCom sandbox and the demo bank are in use (no real corp); `simulator` says the sandbox
 * simulator's routes (`/api/v1/sandbox/...`) are served, so the console shows its panel and its
 * shortcuts (for example "simulate a scan" beside a channel code).
 */
export interface SystemInfo {
  version: string;
  sandbox: boolean;
  simulator: boolean;
}

export function registerSystemRoutes(api: Api, info: SystemInfo): void {
  api.route({
    method: 'get',
    path: '/system/info',
    summary: 'the deployment as the pages need it: version, sandbox mode, whether the sandbox simulator is served',
    tag: 'system',
    auth: 'any',
    response: z.object({ version: z.string(), sandbox: z.boolean(), simulator: z.boolean() }),
    handler: async () => ({ ...info }),
  });
}
