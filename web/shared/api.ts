/**
 * The pages' one way to the API (/api/v1, same origin, session cookie). Failures become ApiError
 * with a Chinese message that says what went wrong and what to do, naming the field at fault.
 */
export interface FieldIssue {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly kind: string,
    /** The server's English message, for logs. */
    readonly detail: string,
    readonly issues: FieldIssue[] = [],
    readonly requestId?: string,
  ) {
    super(describeError(status, kind, detail, issues));
    this.name = 'ApiError';
  }
}

/** The field name as a person reads it: `body.rule.all.0.value` → `rule.all.0.value`. */
export function fieldOf(issue: FieldIssue): string {
  return issue.path.replace(/^(body|query|params)\.?/, '') || issue.path;
}

export function describeError(status: number, kind: string, detail: string, issues: FieldIssue[] = []): string {
  if (status === 0) return '无法连接服务器，请检查网络后重试。';
  if (issues.length) {
    const list = issues.slice(0, 3).map((i) => `「${fieldOf(i)}」${i.message}`).join('；');
    return `输入有误：${list}。请修改后重试。`;
  }
  switch (kind) {
    case 'unauthenticated':
      return '登录已失效，请重新登录。';
    case 'forbidden':
      return '您的角色无权执行此操作，如需权限请联系管理员。';
    case 'not_found':
      return '要找的记录不存在，可能已被删除，请刷新后重试。';
    case 'conflict':
      return `操作与当前状态冲突（${detail}），请刷新后重试。`;
    case 'too_large':
      return '提交的内容过大，请缩小后重试。';
    case 'rate_limited':
      return '操作过于频繁，请稍后再试。';
    case 'unavailable':
      return '服务暂时不可用，请稍后重试。';
    case 'invalid':
      return `输入有误（${detail}），请检查后重试。`;
    default:
      return status >= 500 ? '服务器出错了，请稍后重试；若反复出现请联系管理员。' : `请求失败（${detail}）。`;
  }
}

export type Query = Record<string, string | number | boolean | undefined | null>;

function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const s = params.toString();
  return s ? `${path}${path.includes('?') ? '&' : '?'}${s}` : path;
}

/** Called when any request answers 401, so the page can send the user to log in. */
let onUnauthenticated: (() => void) | undefined;
export function whenUnauthenticated(handler: () => void): void {
  onUnauthenticated = handler;
}

export async function request<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`/api/v1${withQuery(path, query)}`, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json', accept: 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', 'network error');
  }
  const text = await response.text();
  let parsed: unknown = undefined;
  if (text && (response.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text);
  if (!response.ok) {
    const error = (parsed as { error?: { kind?: string; message?: string; issues?: FieldIssue[]; requestId?: string } } | undefined)?.error;
    if (response.status === 401 && onUnauthenticated && !path.startsWith('/auth/')) onUnauthenticated();
    throw new ApiError(response.status, error?.kind ?? 'http', error?.message ?? response.statusText, error?.issues ?? [], error?.requestId);
  }
  return parsed as T;
}

export const api = {
  get: <T>(path: string, query?: Query) => request<T>('GET', path, undefined, query),
  post: <T>(path: string, body: unknown = {}) => request<T>('POST', path, body),
  put: <T>(path: string, body: unknown = {}) => request<T>('PUT', path, body),
  patch: <T>(path: string, body: unknown = {}) => request<T>('PATCH', path, body),
  delete: <T>(path: string) => request<T>('DELETE', path),
};

export interface Me {
  id: string;
  username: string;
  displayName: string;
  role: 'admin' | 'ops' | 'compliance' | 'branch_manager' | 'account_manager';
  branchId: string | null;
  wecomUserid: string | null;
}

export const ROLE_NAMES: Record<Me['role'], string> = {
  admin: '系统管理员',
  ops: '运营',
  compliance: '合规',
  branch_manager: '支行行长',
  account_manager: '客户经理',
};
