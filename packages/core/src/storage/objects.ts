import type { Readable } from 'node:stream';
import { BackupError } from '../errors.js';
import type { Storage } from './storage.js';

/**
 * Helpers every Storage implementation and its callers share: the rules for keys, the order of
 * listings, and reading/writing small objects (metadata, locks) whole.
 */

/**
 * A key is a relative `/`-separated path: no empty, `.` or `..` segments, no leading `/`, no
 * backslash or NUL. The same rules for every backend keep a repository portable between a
 * directory and a bucket, and keep an fs key from ever escaping its root.
 */
export function assertValidKey(key: string): void {
  const problem = keyProblem(key, false);
  if (problem) throw invalidKey(key, problem);
}

/** A listing prefix: the empty string, a directory (`backups/`) or the start of a name (`backups/2024`). */
export function assertValidPrefix(prefix: string): void {
  const problem = keyProblem(prefix, true);
  if (problem) throw invalidKey(prefix, problem, 'prefix');
}

function keyProblem(key: string, isPrefix: boolean): string | undefined {
  if (typeof key !== 'string') return 'it is not a string';
  if (key === '') return isPrefix ? undefined : 'it is empty';
  if (key.includes('\0')) return 'it contains a NUL character';
  if (key.includes('\\')) return 'it contains a backslash';
  if (key.startsWith('/')) return 'it starts with "/"';
  const segments = key.split('/');
  // A prefix may end with "/" (a directory): its last, empty segment is allowed.
  if (isPrefix && segments.at(-1) === '') segments.pop();
  for (const segment of segments) {
    if (segment === '') return 'it has an empty path segment ("//" or a trailing "/")';
    if (segment === '.' || segment === '..') return `it has a "${segment}" segment`;
  }
  return undefined;
}

function invalidKey(key: string, problem: string, what = 'key'): BackupError {
  return new BackupError(
    'INVALID_ARGUMENT',
    `Invalid object ${what} ${JSON.stringify(key)}: ${problem}.`,
    'Object keys are relative paths like "backups/<id>/backup.json"; this is a bug in the caller.',
  );
}

/** S3 lists keys in the order of their UTF-8 bytes; every backend does the same. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The error every backend raises when an AbortSignal stops an operation. */
export function cancelledError(what: string): BackupError {
  return new BackupError('CANCELLED', `${what} was cancelled.`, 'Run the command again when you want it to finish.');
}

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw cancelledError(what);
}

/** Collects a stream into one Buffer: only for objects known to be small. */
export async function streamToBuffer(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** Reads a small object (backup.json, a lock) whole. Throws OBJECT_NOT_FOUND if it is missing. */
export async function readAll(storage: Storage, key: string): Promise<Buffer> {
  return streamToBuffer(await storage.get(key));
}

export async function exists(storage: Storage, key: string): Promise<boolean> {
  return (await storage.head(key)) !== undefined;
}

/** Writes a value as pretty JSON with a final newline (humans read these objects too). */
export async function putJson(storage: Storage, key: string, value: unknown): Promise<void> {
  await storage.put(key, jsonBytes(value));
}

export function jsonBytes(value: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(value, null, 2)}\n`, 'utf8');
}

/**
 * Reads and parses a JSON object. Unparseable content is DATA_CORRUPT: the object exists but is
 * not what was written (validation against a schema is the caller's job).
 */
export async function getJson(storage: Storage, key: string): Promise<unknown> {
  const text = (await readAll(storage, key)).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new BackupError(
      'DATA_CORRUPT',
      `The object ${key} in ${storage.location} is not valid JSON.`,
      'It was damaged or written by something else; restore it from a copy or remove it.',
    );
  }
}
