import { reactive } from 'vue';
import { api, type Me } from '@shared/api';

/** Who is logged in, loaded once per page load and after login. */
export const session = reactive({
  me: undefined as Me | undefined,
  loaded: false,
  async load(): Promise<Me | undefined> {
    if (this.loaded) return this.me;
    this.me = (await api.get<{ staff: Me | null }>('/auth/session')).staff ?? undefined;
    this.loaded = true;
    return this.me;
  },
  async login(username: string, password: string): Promise<Me> {
    const r = await api.post<{ staff: Me }>('/auth/login', { username, password });
    this.me = r.staff;
    this.loaded = true;
    return r.staff;
  },
  async logout(): Promise<void> {
    await api.post('/auth/logout');
    this.me = undefined;
  },
});
