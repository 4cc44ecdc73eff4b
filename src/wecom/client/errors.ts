/** An errcode WeCom answered that the client does not handle itself (REFERENCE §2). */
export class WeComApiError extends Error {
  constructor(
    readonly api: string,
    readonly errcode: number,
    readonly errmsg: string,
  ) {
    // errmsg carries WeCom's hint and the caller's IP, never the token.
    super(`WeCom ${api} failed with ${errcode}: ${errmsg.split(',')[0]}`);
    this.name = 'WeComApiError';
  }
}

/** The call did not get a WeCom answer (timeout, reset, 5xx) after its retries. */
export class WeComUnavailableError extends Error {
  constructor(
    readonly api: string,
    readonly reason: string,
  ) {
    super(`WeCom ${api} unavailable: ${reason}`);
    this.name = 'WeComUnavailableError';
  }
}

/** The call's deadline (CallOptions.notAfter) passed before an attempt could start: nothing was sent. */
export class WeComDeadlineError extends Error {
  constructor(readonly api: string) {
    super(`WeCom ${api} not sent: its deadline passed before the call could start`);
    this.name = 'WeComDeadlineError';
  }
}

export const ERRCODES = {
  busy: -1,
  invalidToken: 40014,
  tokenExpired: 42001,
  frequencyLimit: 45009,
  concurrencyLimit: 45033,
  chatStarted: 41051,
  welcomeCodeInvalid: 41050,
  noRelationship: 84061,
} as const;
