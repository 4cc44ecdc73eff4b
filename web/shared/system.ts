import { reactive } from 'vue';
import { api } from './api';

/**
 * The deployment as the pages need it (`GET /api/v1/system/info`): whether the WeCom sandbox is in
 * use and whether its simulator is served. Loaded once per page load, after login.
 */
export interface SystemInfo {
  version: string;
  sandbox: boolean;
  simulator: boolean;
}

export const system = reactive({ info: undefined as SystemInfo | undefined });

let loading: Promise<SystemInfo> | undefined;

export function loadSystemInfo(): Promise<SystemInfo> {
  loading ??= api.get<SystemInfo>('/system/info').then(
    (info) => (system.info = info),
    (error: unknown) => {
      loading = undefined;
      throw error;
    },
  );
  return loading;
}
