/**
 * Typed errors. One middleware (http/errors) maps `kind` to an HTTP status; unknown errors become
 * a plain 500 that leaks nothing.
 */
export type ErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'rate_limited'
  | 'unavailable';

export interface FieldIssue {
  /** Where the problem is, e.g. `body.items.2.mobile`. */
  path: string;
  message: string;
}

export class AppError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly details: { issues?: FieldIssue[]; retryAfterSeconds?: number; code?: string } = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const invalid = (message: string, issues: FieldIssue[] = []) => new AppError('invalid', message, { issues });
export const notFound = (what: string) => new AppError('not_found', `${what} not found`);
export const forbidden = (message = 'forbidden') => new AppError('forbidden', message);
export const unauthenticated = (message = 'login required') => new AppError('unauthenticated', message);
export const conflict = (message: string) => new AppError('conflict', message);
export const rateLimited = (retryAfterSeconds: number) =>
  new AppError('rate_limited', 'too many requests', { retryAfterSeconds });

export const HTTP_STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  rate_limited: 429,
  unavailable: 503,
};
