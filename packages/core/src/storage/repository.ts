import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BackupError } from '../errors.js';
import { FsStorage } from './fs.js';
import { LazyS3Storage } from './lazyS3.js';
import type { S3Credentials, ServerSideEncryption } from './s3.js';
import type { Storage } from './storage.js';

/** A repository in a bucket: every key lives under `<prefix>/`. */
export interface S3RepositorySpec {
  kind: 's3';
  bucket: string;
  /** Without leading or trailing slashes; empty for the bucket root. */
  prefix: string;
  region?: string;
  /** A custom endpoint (MinIO, Ceph, Swift): `http://host:port`. */
  endpoint?: string;
  forcePathStyle?: boolean;
  sse?: ServerSideEncryption;
  /** The KMS key for `sse: 'aws:kms'`; the bucket's default key when absent. */
  sseKmsKeyId?: string;
  storageClass?: string;
  /** Extra CA certificates (PEM file) trusted besides Node's roots: NODE_EXTRA_CA_CERTS, deferred. */
  extraCaCertsFile?: string;
}

/** A repository in a local directory (absolute path). */
export interface FsRepositorySpec {
  kind: 'fs';
  path: string;
}

export type RepositorySpec = S3RepositorySpec | FsRepositorySpec;

const ACCEPTED_FORMS = 'Use s3://BUCKET/PREFIX, file:///ABSOLUTE/PATH or a directory path (absolute or relative).';

/**
 * Reads a repository location as a user writes it: `s3://bucket/some/prefix`, `file:///abs/path`,
 * or a plain path (relative paths are resolved against `cwd`).
 */
export function parseRepositoryUrl(text: string, cwd: string = process.cwd()): RepositorySpec {
  const input = text.trim();
  if (input === '') throw invalidRepository(text, 'it is empty');
  if (input.includes('\0')) throw invalidRepository(text, 'it contains a NUL character');
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]+):/.exec(input)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'fs', path: resolve(cwd, input) };
  if (scheme === 's3') return parseS3Url(text, input);
  if (scheme === 'file') return { kind: 'fs', path: parseFileUrl(text, input) };
  throw invalidRepository(text, `the scheme "${scheme}:" is not supported (for a directory whose name has a colon, write ./${input})`);
}

function parseS3Url(text: string, input: string): S3RepositorySpec {
  const match = /^s3:\/\/([^/]*)(?:\/(.*))?$/i.exec(input);
  if (!match) throw invalidRepository(text, 'an S3 location starts with "s3://" and the bucket name');
  const bucket = match[1] ?? '';
  if (bucket === '') throw invalidRepository(text, 'the bucket name is missing');
  const bucketProblem = s3BucketNameProblem(bucket);
  if (bucketProblem) throw invalidRepository(text, `"${bucket}" is not a valid bucket name: ${bucketProblem}`);
  const prefix = normalizePrefix(match[2] ?? '');
  if (prefix.split('/').some((segment) => segment === '.' || segment === '..')) {
    throw invalidRepository(text, 'the prefix has a "." or ".." segment');
  }
  if (prefix.includes('\\')) throw invalidRepository(text, 'the prefix contains a backslash');
  return { kind: 's3', bucket, prefix };
}

function parseFileUrl(text: string, input: string): string {
  const urlProblem = 'a file URL is file:///ABSOLUTE/PATH (three slashes, no host)';
  // WHATWG URLs read "file:x/y" as "file:///x/y": a relative-looking path must not turn absolute.
  if (!/^file:\/\//i.test(input)) throw invalidRepository(text, urlProblem);
  let path: string;
  try {
    // Decodes %XX and refuses a host other than "localhost": a file URL names a local path.
    path = fileURLToPath(input);
  } catch {
    throw invalidRepository(text, urlProblem);
  }
  if (!isAbsolute(path)) throw invalidRepository(text, 'a file URL names an absolute path');
  return resolve(path);
}

/** Collapses repeated slashes and drops leading/trailing ones: "/a//b/" → "a/b". */
export function normalizePrefix(prefix: string): string {
  return prefix.split('/').filter(Boolean).join('/');
}

/** AWS's rules for new bucket names (general purpose buckets), which S3-compatible servers share. */
export function s3BucketNameProblem(bucket: string): string | undefined {
  if (bucket.length < 3 || bucket.length > 63) return 'it must be 3 to 63 characters long';
  if (!/^[a-z0-9.-]+$/.test(bucket)) return 'only lowercase letters, digits, dots and hyphens are allowed';
  if (!/^[a-z0-9].*[a-z0-9]$/.test(bucket)) return 'it must start and end with a letter or digit';
  if (bucket.includes('..')) return 'it must not contain two adjacent dots';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(bucket)) return 'it must not look like an IP address';
  return undefined;
}

function invalidRepository(text: string, problem: string): BackupError {
  return new BackupError('INVALID_REPOSITORY', `Invalid repository ${JSON.stringify(text)}: ${problem}.`, ACCEPTED_FORMS);
}

/** The repository as users name it, without secrets: `s3://bucket/prefix` or the directory. */
export function describeRepository(spec: RepositorySpec): string {
  if (spec.kind === 'fs') return spec.path;
  return spec.prefix ? `s3://${spec.bucket}/${spec.prefix}` : `s3://${spec.bucket}`;
}

export interface OpenStorageOptions {
  /** Explicit S3 credentials (tests, the API); otherwise the standard AWS credential chain. */
  credentials?: S3Credentials;
}

/** The Storage for a repository. Nothing is contacted until the first operation. */
export function openStorage(spec: RepositorySpec, credentials: OpenStorageOptions = {}): Storage {
  if (spec.kind === 'fs') return new FsStorage(spec.path);
  const options = {
    bucket: spec.bucket,
    prefix: spec.prefix,
    region: spec.region,
    endpoint: spec.endpoint,
    forcePathStyle: spec.forcePathStyle,
    serverSideEncryption: spec.sse,
    sseKmsKeyId: spec.sseKmsKeyId,
    storageClass: spec.storageClass,
    credentials: credentials.credentials,
    extraCaCertsFile: spec.extraCaCertsFile,
  };
  return new LazyS3Storage(options, describeRepository(spec));
}
