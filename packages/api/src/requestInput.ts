import type { Context } from 'hono';
import type { z } from 'zod';
import { BackupError } from '@llm-analytics/core';
import { ValidationFailure, validationError } from './httpErrors.js';
import type { ApiEnv } from './types.js';

/** The JSON body validated by a strict schema; an empty body is `{}` (all defaults). */
export async function jsonBody<T extends z.ZodType>(c: Context<ApiEnv>, schema: T): Promise<z.infer<T>> {
  const text = await c.req.text();
  let json: unknown = {};
  if (text.trim() !== '') {
    try {
      json = JSON.parse(text);
    } catch {
      throw new ValidationFailure(new BackupError('INVALID_ARGUMENT', 'The request body is not valid JSON.', 'Send a JSON object with Content-Type: application/json.'), ['body']);
    }
  }
  return parseWith(schema, json, 'body');
}

export function queryParams<T extends z.ZodType>(c: Context<ApiEnv>, schema: T): z.infer<T> {
  return parseWith(schema, c.req.query(), 'query');
}

function parseWith<T extends z.ZodType>(schema: T, value: unknown, where: 'body' | 'query'): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const { error, path } = validationError(where, result.error);
    throw new ValidationFailure(error, path);
  }
  return result.data;
}
