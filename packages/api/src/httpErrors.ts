import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import { BackupError, ERROR_CODES, asBackupError } from '@llm-analytics/core';
import type { ApiEnv } from './types.js';

/**
 * Every error answer is `{"error": {code, message, hint}}` with the status from core's one table
 * (ERROR_CODES). Never a stack trace: unexpected errors become INTERNAL with a generic message,
 * and the details go to the access log under the request id.
 */
export function errorResponse(c: Context<ApiEnv>, caught: unknown, extra: { path?: (string | number)[] } = {}): Response {
  const error = asBackupError(caught);
  const status = (ERROR_CODES[error.code]?.http ?? 500) as ContentfulStatusCode;
  c.set('errorCode', error.code);
  const safe = error.code === 'INTERNAL' ? { code: 'INTERNAL', message: 'Internal error.', hint: `Report request ${c.get('requestId')} to the operator; details are in the server log.` } : error.toJSON();
  if (error.code === 'INTERNAL') c.set('internalError', error.message);
  return c.json({ error: { ...safe, ...extra, requestId: c.get('requestId') } }, status);
}

/** A zod failure as a 400 naming where it is ("body.type", "query.limit"). */
export function validationError(where: 'body' | 'query' | 'path', error: z.ZodError): { error: BackupError; path: (string | number)[] } {
  const issue = error.issues[0]!;
  const path = [where, ...issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part))];
  const unknownKeys = issue.code === 'unrecognized_keys' ? `: unknown field ${issue.keys.map((key) => JSON.stringify(key)).join(', ')}` : '';
  const message = `Invalid ${path.join('.')}: ${issue.message}${unknownKeys}.`;
  return { error: new BackupError('INVALID_ARGUMENT', message, 'See /openapi.json for the accepted fields and values.'), path };
}

export class ValidationFailure extends Error {
  constructor(readonly error: BackupError, readonly path: (string | number)[]) {
    super(error.message);
  }
}
