import { WeComError } from '../errors.js';

/**
 * Reading WeCom request parameters. WeCom answers a wrong type or an out-of-range value with 40058
 * ("invalid Parameter") unless the API documents a specific code, which callers pass in.
 */
export function requireString(value: unknown, missingCode = 40058, field = ''): string {
  if (value === undefined || value === null || value === '') throw new WeComError(missingCode, field ? `missing ${field}` : undefined);
  if (typeof value !== 'string') throw new WeComError(40058, field ? `invalid ${field}` : undefined);
  return value;
}

export function optionalString(value: unknown, field = ''): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new WeComError(40058, field ? `invalid ${field}` : undefined);
  return value;
}

export function stringList(value: unknown, field = '', max = Infinity): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new WeComError(40058, field ? `invalid ${field}` : undefined);
  if (value.length > max) throw new WeComError(40058, `${field || 'list'} exceeds ${max} items`);
  return value as string[];
}

export function optionalInt(value: unknown, field = '', code = 40058): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new WeComError(code, field ? `invalid ${field}` : undefined);
  return n;
}

export function optionalBool(value: unknown, field = ''): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value;
  if (value === 0 || value === 1) return value === 1;
  throw new WeComError(40058, field ? `invalid ${field}` : undefined);
}

/** WeCom counts most name limits in characters, message limits in UTF-8 bytes. */
export const chars = (s: string): number => [...s].length;
export const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

export function maxChars(value: string | undefined, max: number, field: string): void {
  if (value !== undefined && chars(value) > max) throw new WeComError(40058, `${field} exceeds ${max} characters`);
}

/** Opaque cursors carrying the last position returned, so a page never repeats or skips rows. */
export function encodeCursor(position: number, scope: string): string {
  return Buffer.from(JSON.stringify({ p: position, s: scope })).toString('base64url');
}

export function decodeCursor(cursor: unknown, scope: string): number {
  if (cursor === undefined || cursor === null || cursor === '') return 0;
  if (typeof cursor !== 'string') throw new WeComError(40058, 'invalid cursor');
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { p?: unknown; s?: unknown };
    if (typeof parsed.p === 'number' && Number.isInteger(parsed.p) && parsed.s === scope) return parsed.p;
  } catch {
    // fall through: any other text is not one of our cursors
  }
  throw new WeComError(40058, 'invalid cursor');
}

/** One page of rows ordered by a position key: the rows after the cursor and the next cursor ('' at the end). */
export function page<T>(rows: readonly T[], positionOf: (row: T) => number, cursor: unknown, limit: number, scope: string): { items: T[]; next: string } {
  const after = decodeCursor(cursor, scope);
  const rest = rows.filter((r) => positionOf(r) > after);
  const items = rest.slice(0, limit);
  const last = items[items.length - 1];
  return { items, next: rest.length > limit && last !== undefined ? encodeCursor(positionOf(last), scope) : '' };
}
