import type { Readable } from 'node:stream';

/** One object in a repository. Keys are relative to the repository root, `/`-separated. */
export interface ObjectInfo {
  key: string;
  size: number;
  lastModified?: Date;
}

export interface PutOptions {
  signal?: AbortSignal;
  /** Exact size when known up front (lets S3 use a single PUT for small bodies). */
  contentLength?: number;
}

export interface GetOptions {
  signal?: AbortSignal;
  /** Inclusive byte range; `end` omitted means to the end of the object. */
  range?: { start: number; end?: number };
}

/**
 * Where backups live: a local directory or an S3 bucket + prefix. A handful of methods, every
 * implementation passing the same conformance suite (test/storage-conformance).
 *
 * Rules every implementation keeps:
 * - `put` is atomic: a reader sees the whole new object or nothing (no half-written object ever
 *   becomes visible under its key, also when the body stream fails or the signal aborts).
 * - `get`/`head` of a missing key: `get` throws BackupError OBJECT_NOT_FOUND, `head` returns
 *   undefined.
 * - `list` yields every key under the prefix in lexicographic order, across pages.
 * - `delete` of a missing key succeeds.
 * - Errors are BackupErrors (STORAGE_UNREACHABLE, STORAGE_ACCESS_DENIED, STORAGE_BUCKET_MISSING,
 *   STORAGE_ERROR) whose messages never contain credentials.
 */
export interface Storage {
  /** Where this is, for humans and metadata, without secrets: `s3://bucket/prefix` or a path. */
  readonly location: string;
  put(key: string, body: Readable | Buffer, options?: PutOptions): Promise<{ size: number }>;
  /**
   * Creates the object only if no object has that key; returns false (and writes nothing) if one
   * exists. Uses the server's conditional write where it has one (AWS: If-None-Match), otherwise
   * a check before the write: the small window is documented in the implementation.
   */
  putIfAbsent(key: string, body: Buffer): Promise<boolean>;
  get(key: string, options?: GetOptions): Promise<Readable>;
  head(key: string): Promise<ObjectInfo | undefined>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  delete(keys: readonly string[]): Promise<void>;
  /** Proves the repository is reachable and writable-looking: credentials, bucket, directory. */
  check(): Promise<void>;
}
