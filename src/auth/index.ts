export { sessionMiddleware, registerAuthRoutes } from './routes.js';
export { PERMISSIONS, can, rolesFor, customerScope, maskedFor, type Permission } from './policy.js';
export { hashPassword, verifyPassword } from './passwords.js';
export { SESSION_COOKIE, resolveSession, cookieFromHeader, createSession } from './sessions.js';
export { loginWithPassword, type LoginLimits } from './login.js';
