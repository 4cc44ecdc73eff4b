import { ApiError } from '@shared/api';

/** Chinese names and helpers shared by the content and compliance pages. */
export type Verdict = 'pass' | 'warn' | 'block';

export const VERDICTS: Record<Verdict, string> = { pass: '通过', warn: '需人工确认', block: '拦截' };
export const VERDICT_TAGS: Record<Verdict, 'success' | 'warning' | 'danger'> = { pass: 'success', warn: 'warning', block: 'danger' };

export interface Finding {
  rule: string;
  match: string;
  start: number;
  end: number;
  kind: 'block' | 'warn';
  severity: 'high' | 'medium';
  message: string;
  /** Materials only: where the finding is (the text, or what the attachment shows). */
  field?: 'text' | 'attachment';
}

export const time = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString('zh-CN', { hour12: false }) : '');

/** The message to show for a failed request. */
export const errorText = (error: unknown, fallback = '操作失败，请重试。'): string => (error instanceof ApiError ? error.message : fallback);

/** Bytes of a text in UTF-8, as WeCom counts its limits. */
export const utf8Bytes = (text: string): number => new TextEncoder().encode(text).length;
