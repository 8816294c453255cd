import { randomBytes } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { BackupError } from '@llm-analytics/core';
import { roleOf } from './auth.js';
import { errorResponse } from './httpErrors.js';
import type { ApiEnv, Role } from './types.js';

/** A request id on every response and log line; a sane incoming X-Request-Id is kept. */
export function requestId(): MiddlewareHandler<ApiEnv> {
  // A random prefix per process and a counter: unique, cheap, and sortable within one server.
  const prefix = randomBytes(5).toString('hex');
  let counter = 0;
  return async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const id = incoming && /^[A-Za-z0-9._-]{1,64}$/.test(incoming) ? incoming : `${prefix}${(++counter).toString(16).padStart(6, '0')}`;
    c.set('requestId', id);
    c.header('X-Request-Id', id);
    await next();
  };
}

export interface AccessLogRecord {
  method: string;
  status: number;
}

/** One JSON line per request on the log (stderr): never a header, body or query value. */
export function accessLog(log: (line: string) => void, onRecord: (record: AccessLogRecord) => void): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const status = c.res.status;
    onRecord({ method: c.req.method, status });
    const entry: Record<string, unknown> = {
      time: new Date().toISOString(),
      level: status >= 500 ? 'error' : 'info',
      requestId: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      status,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      role: c.get('role') ?? null,
    };
    if (c.get('errorCode')) entry.errorCode = c.get('errorCode');
    if (c.get('internalError')) entry.internalError = c.get('internalError');
    log(JSON.stringify(entry));
  };
}

const OPEN_PATHS = new Set(['/healthz', '/openapi.json']);

/**
 * Bearer authentication. With no tokens configured (allowed only on a loopback address, see
 * server.ts) every caller may operate; otherwise a missing or wrong token is 401.
 */
export function authenticate(tokens: Map<string, Role>): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    if (OPEN_PATHS.has(c.req.path)) return next();
    if (tokens.size === 0) {
      c.set('role', 'operate');
      return next();
    }
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    const role = match ? roleOf(tokens, match[1]!) : undefined;
    if (!role) {
      c.header('WWW-Authenticate', 'Bearer realm="llm-analytics"');
      const message = match ? 'The bearer token is not valid.' : 'This endpoint needs a bearer token.';
      return errorResponse(c, new BackupError('UNAUTHORIZED', message, 'Send "Authorization: Bearer TOKEN" with a token from BACKUP_API_TOKENS or the token file.'));
    }
    c.set('role', role);
    return next();
  };
}

/** Routes that change something need the operate role. */
export function requireOperate(): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    if (c.get('role') !== 'operate') {
      return errorResponse(c, new BackupError('FORBIDDEN', `${c.req.method} ${c.req.path} needs a token with the operate role.`, 'Use an operate token; read tokens may list, inspect and watch only.'));
    }
    return next();
  };
}
