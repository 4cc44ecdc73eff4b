/** Facts the root hooks establish for the whole run. */
export const shared: { adminUrl?: string; template?: string; counter: number } = { counter: 0 };
