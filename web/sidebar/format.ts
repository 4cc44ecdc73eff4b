/** Dates and amounts as the sidebar shows them (China time, Chinese units). */
const zone = { timeZone: 'Asia/Shanghai' } as const;

export function date(value: string | Date | null | undefined): string {
  if (!value) return '—';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : d.toLocaleDateString('zh-CN', { ...zone, year: 'numeric', month: '2-digit', day: '2-digit' });
}

export function dateTime(value: string | Date | null | undefined): string {
  if (!value) return '—';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : d.toLocaleString('zh-CN', { ...zone, month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false });
}

/** 1234567 → 123.46万 */
export function yuan(value: string | number | null | undefined): string {
  const n = Number(value ?? 0);
  if (!Number.isFinite(n)) return '—';
  return n >= 10_000 ? `${(n / 10_000).toLocaleString('zh-CN', { maximumFractionDigits: 2 })}万元` : `${n.toLocaleString('zh-CN')}元`;
}
