export { WeComClient, WeComGateway, type CallOptions, type ClientOptions, type SecretKind } from './client.js';
export { RateBudget } from './budget.js';
export { TokenStore } from './tokens.js';
export { WeComApiError, WeComDeadlineError, WeComUnavailableError, ERRCODES } from './errors.js';
