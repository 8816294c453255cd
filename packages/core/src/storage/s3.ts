import { createHash, randomUUID } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type PutObjectCommandInput,
  type S3ClientConfig,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { BackupError } from '../errors.js';
import { trustWithExtraCaCerts } from '../config/extraCaCerts.js';
import { assertValidKey, assertValidPrefix, cancelledError, throwIfAborted } from './objects.js';
import type { GetOptions, ObjectInfo, PutOptions, Storage } from './storage.js';

export type ServerSideEncryption = 'AES256' | 'aws:kms';
export type S3Credentials = NonNullable<S3ClientConfig['credentials']>;

export interface S3StorageOptions {
  bucket: string;
  /** Every key lives under `<prefix>/`; slashes are normalised, empty means the bucket root. */
  prefix?: string;
  /** Otherwise the standard AWS chain (AWS_REGION, the profile's config). */
  region?: string;
  /** A custom endpoint (MinIO, Ceph, Swift, a proxy): `http://host:port`. */
  endpoint?: string;
  /** Bucket in the path instead of the host name; default: true when an endpoint is set. */
  forcePathStyle?: boolean;
  /** Otherwise the standard AWS credential chain (environment, profile, SSO, IMDS, ...). */
  credentials?: S3Credentials;
  /** Asked of the server; see `serverSideEncryptionApplied` for what it did. */
  serverSideEncryption?: ServerSideEncryption;
  sseKmsKeyId?: string;
  storageClass?: string;
  /** Keys per ListObjectsV2 page (S3's maximum and default: 1000); small values for tests. */
  pageSize?: number;
  /** Multipart part size in bytes (default 16 MiB; S3's minimum is 5 MiB). */
  partSize?: number;
  /** Parts uploaded at once (default 4): memory is about partSize × (queueSize + 1). */
  queueSize?: number;
  /** Extra CA certificates (PEM file) trusted besides Node's roots (config/extraCaCerts.ts). */
  extraCaCertsFile?: string;
}

const MiB = 1024 * 1024;
const DEFAULT_PART_SIZE = 16 * MiB;
const MIN_PART_SIZE = 5 * MiB; // S3's minimum for every part but the last
const MAX_PARTS = 10_000;
const DELETE_BATCH = 1000; // DeleteObjects takes at most 1000 keys

/**
 * A repository in an S3 bucket (AWS or a compatible server). Small bodies go up with one
 * PutObject; streams with lib-storage's multipart Upload, which S3 publishes only on
 * CompleteMultipartUpload, so a failed or cancelled upload never shows a partial object (the
 * upload is aborted, leaving no parts behind).
 */
export class S3Storage implements Storage {
  readonly bucket: string;
  readonly prefix: string;
  readonly location: string;
  private readonly client: S3Client;
  private readonly rootPrefix: string;
  private readonly endpointText: string;
  /** undefined: not yet known; false: the server answered 501 to If-None-Match (Swift's s3api). */
  private conditionalWrites: boolean | undefined;
  private sseProbe: Promise<boolean> | undefined;
  private sseApplied = false;

  constructor(private readonly options: S3StorageOptions) {
    if (options.partSize !== undefined && !(Number.isSafeInteger(options.partSize) && options.partSize >= MIN_PART_SIZE)) {
      throw new BackupError('INVALID_ARGUMENT', `Invalid S3 part size ${options.partSize}: S3 needs parts of at least 5 MiB.`, 'Leave partSize unset (16 MiB) or give a whole number of bytes >= 5242880.');
    }
    this.bucket = options.bucket;
    this.prefix = options.prefix?.split('/').filter(Boolean).join('/') ?? '';
    this.rootPrefix = this.prefix ? `${this.prefix}/` : '';
    this.location = this.prefix ? `s3://${this.bucket}/${this.prefix}` : `s3://${this.bucket}`;
    this.endpointText = describeEndpoint(options.endpoint, options.region);
    this.client = new S3Client({
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
      credentials: options.credentials,
      // The SDK's default (WHEN_SUPPORTED) sends stream bodies aws-chunked with a CRC32 trailer,
      // which S3-compatible servers (Swift 2.30) reject with 501; integrity comes from our SHA-256.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // An unreachable endpoint must fail in seconds, not minutes.
      maxAttempts: 3,
      requestHandler: { connectionTimeout: 3_000, socketTimeout: 120_000, ...httpsTrust(options) },
    });
    this.client.middlewareStack.add(
      (next) => async (args) => {
        addDeleteObjectsContentMd5(args.request);
        return next(args);
      },
      { step: 'build', name: 'deleteObjectsContentMd5', priority: 'low' },
    );
  }

  /**
   * Whether the objects written are encrypted by the server as asked. False when no encryption
   * was asked, or when the server does not implement it (501, as Swift's s3api) and the writes
   * went on without it. Known after the first write or `resolveServerSideEncryption()`.
   */
  get serverSideEncryptionApplied(): boolean {
    return this.sseApplied;
  }

  async put(key: string, body: Readable | Buffer, options: PutOptions = {}): Promise<{ size: number }> {
    const what = `Writing ${key} to ${this.location}`;
    throwIfAborted(options.signal, what);
    const params = await this.writeParams(key);
    if (Buffer.isBuffer(body)) {
      await this.call('PutObject', key, options.signal, () =>
        this.client.send(new PutObjectCommand({ ...params, Body: body, ContentLength: body.length }), { abortSignal: options.signal }),
      );
      return { size: body.length };
    }
    return this.upload(params, key, body, options);
  }

  async putIfAbsent(key: string, body: Buffer): Promise<boolean> {
    const params = await this.writeParams(key);
    if (this.conditionalWrites !== false) {
      try {
        await this.client.send(new PutObjectCommand({ ...params, Body: body, ContentLength: body.length, IfNoneMatch: '*' }));
        this.conditionalWrites = true;
        return true;
      } catch (error) {
        const { code, status } = describeServiceError(error);
        // 412: the key exists. 409: a concurrent conditional write to the key is in progress.
        if (status === 412 || code === 'PreconditionFailed' || status === 409) return false;
        if (status !== 501 && code !== 'NotImplemented') throw this.error(error, 'PutObject', key);
        this.conditionalWrites = false;
      }
    }
    // The server has no conditional PUT (Swift's s3api answers 501). Check, then write: two
    // writers that both pass the HEAD before either PUT lands both "win", and the later PUT
    // replaces the earlier object. Callers must tolerate that window (write identical content,
    // as WAL archiving does, or read the object back after writing, as a lock must).
    if (await this.head(key)) return false;
    await this.call('PutObject', key, undefined, () => this.client.send(new PutObjectCommand({ ...params, Body: body, ContentLength: body.length })));
    return true;
  }

  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    const Key = this.objectKey(key);
    throwIfAborted(options.signal, `Reading ${key}`);
    const Range = options.range ? rangeHeader(options.range, key) : undefined;
    const response = await this.call('GetObject', key, options.signal, () =>
      this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key, Range }), { abortSignal: options.signal }),
    );
    const body = response.Body;
    if (!(body instanceof Readable)) throw this.error(new Error('GetObject returned no body stream'), 'GetObject', key);
    return Readable.from(this.relay(body, key, options.signal), { objectMode: false });
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const Key = this.objectKey(key);
    try {
      const response = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return { key, size: response.ContentLength ?? 0, lastModified: response.LastModified };
    } catch (error) {
      const { code, status } = describeServiceError(error);
      // A HEAD answer has no body: a missing bucket is a bare 404 too, reported by the next write.
      if (status === 404 && code !== 'NoSuchBucket') return undefined;
      throw this.error(error, 'HeadObject', key);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    let ContinuationToken: string | undefined;
    do {
      const page = await this.call('ListObjectsV2', undefined, undefined, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.rootPrefix + prefix, ContinuationToken, MaxKeys: this.options.pageSize })),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue;
        yield { key: object.Key.slice(this.rootPrefix.length), size: object.Size ?? 0, lastModified: object.LastModified };
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  async delete(keys: readonly string[]): Promise<void> {
    const objects = keys.map((key) => ({ Key: this.objectKey(key) }));
    for (let start = 0; start < objects.length; start += DELETE_BATCH) {
      const batch = objects.slice(start, start + DELETE_BATCH);
      const result = await this.call('DeleteObjects', undefined, undefined, () =>
        this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch, Quiet: true } })),
      );
      const failures = (result.Errors ?? []).filter((failure) => failure.Code !== 'NoSuchKey');
      const first = failures[0];
      if (first) {
        const key = first.Key?.slice(this.rootPrefix.length) ?? '?';
        const denied = first.Code === 'AccessDenied';
        throw new BackupError(
          denied ? 'STORAGE_ACCESS_DENIED' : 'STORAGE_ERROR',
          `S3 did not delete ${failures.length} of ${batch.length} objects in ${this.location}, e.g. ${key} (${first.Code ?? 'unknown error'}).`,
          denied ? 'Allow s3:DeleteObject on the bucket for these credentials.' : 'Run the command again; deleting is safe to repeat.',
        );
      }
    }
  }

  async check(): Promise<void> {
    await this.call('HeadBucket', undefined, undefined, () => this.client.send(new HeadBucketCommand({ Bucket: this.bucket })));
    await this.call('ListObjectsV2', undefined, undefined, () =>
      this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.rootPrefix, MaxKeys: 1 })),
    );
  }

  /**
   * Finds out once whether the server applies the requested encryption. A stream cannot be sent
   * twice, so instead of retrying a failed write this asks with a multipart upload that is
   * aborted at once (no object is created). Swift's s3api answers 501 NotImplemented: the writes
   * then go on without encryption, and `serverSideEncryptionApplied` says so.
   */
  async resolveServerSideEncryption(): Promise<boolean> {
    if (!this.options.serverSideEncryption) return false;
    this.sseProbe ??= this.probeServerSideEncryption().catch((error: unknown) => {
      this.sseProbe = undefined; // a failed probe (network, credentials) is asked again next time
      throw error;
    });
    return this.sseProbe;
  }

  private async probeServerSideEncryption(): Promise<boolean> {
    const Key = this.objectKey(`.sse-probe-${randomUUID()}`);
    let uploadId: string | undefined;
    try {
      const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key, ...this.encryptionParams() }));
      uploadId = created.UploadId;
      this.sseApplied = true;
    } catch (error) {
      const { code, status } = describeServiceError(error);
      if (status !== 501 && code !== 'NotImplemented') throw this.error(error, 'CreateMultipartUpload', Key);
      this.sseApplied = false;
    }
    if (uploadId) {
      // Best effort: a leftover empty upload costs nothing and bucket lifecycle rules expire it.
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId: uploadId })).catch(() => {});
    }
    return this.sseApplied;
  }

  private encryptionParams(): Pick<PutObjectCommandInput, 'ServerSideEncryption' | 'SSEKMSKeyId'> {
    const sse = this.options.serverSideEncryption;
    if (!sse) return {};
    return { ServerSideEncryption: sse, ...(sse === 'aws:kms' && this.options.sseKmsKeyId ? { SSEKMSKeyId: this.options.sseKmsKeyId } : {}) };
  }

  private async writeParams(key: string): Promise<PutObjectCommandInput & { Bucket: string; Key: string }> {
    const Key = this.objectKey(key);
    const encrypted = await this.resolveServerSideEncryption();
    return {
      Bucket: this.bucket,
      Key,
      ...(encrypted ? this.encryptionParams() : {}),
      ...(this.options.storageClass ? { StorageClass: this.options.storageClass as StorageClass } : {}),
    };
  }

  private async upload(params: PutObjectCommandInput, key: string, body: Readable, options: PutOptions): Promise<{ size: number }> {
    const what = `Writing ${key} to ${this.location}`;
    const { signal } = options;
    let size = 0;
    let bodyError: unknown;
    body.once('error', (error) => (bodyError ??= error));
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        done(null, chunk);
      },
    });
    // A failing body destroys `counted` with the same error, which fails the upload.
    pipeline(body, counted).catch(() => {});
    const partSize = this.options.partSize ?? Math.max(DEFAULT_PART_SIZE, Math.ceil((options.contentLength ?? 0) / MAX_PARTS));
    const upload = new Upload({ client: this.client, params: { ...params, Body: counted }, partSize, queueSize: this.options.queueSize ?? 4, leavePartsOnError: false });
    const onAbort = (): void => {
      // Failing the body makes lib-storage abort the multipart upload before done() rejects.
      counted.destroy(cancelledError(what));
      // Once all data is read only the Upload's own abort stops the completion (its cleanup then
      // runs after done() has rejected: a short window in which the parts still exist).
      if (counted.readableEnded) void upload.abort();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await upload.done();
      return { size };
    } catch (error) {
      body.destroy();
      if (signal?.aborted) throw cancelledError(what);
      if (error === bodyError) throw error; // the caller's stream failed: its error, unchanged
      if (error instanceof Error && /Exceeded \d+ parts/.test(error.message)) {
        throw new BackupError('STORAGE_ERROR', `${what} needs more than ${MAX_PARTS} parts of ${partSize / MiB} MiB.`, 'Pass the expected size (contentLength) so the part size can grow, or raise partSize.', { cause: error });
      }
      throw this.error(error, 'Upload', key);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Passes a GetObject body through, turning a failure mid-stream into a BackupError. */
  private async *relay(body: Readable, key: string, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of body) yield chunk as Buffer;
    } catch (error) {
      throw signal?.aborted ? cancelledError(`Reading ${key}`) : this.error(error, 'GetObject', key);
    }
  }

  private objectKey(key: string): string {
    assertValidKey(key);
    return this.rootPrefix + key;
  }

  private async call<T>(operation: string, key: string | undefined, signal: AbortSignal | undefined, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (signal?.aborted) throw cancelledError(`${operation} of ${key ?? this.location}`);
      throw this.error(error, operation, key);
    }
  }

  /**
   * A BackupError for a failed S3 call. Messages are built here from the error's code and HTTP
   * status only: SDK messages can echo request details, and none of this may carry credentials.
   */
  private error(error: unknown, operation: string, key?: string): BackupError {
    if (error instanceof BackupError) return error;
    const { code, status, network, tlsCertificate } = describeServiceError(error);
    const where = key === undefined ? this.location : `${this.location}/${key}`;
    const cause = { cause: error };
    if ((error as Error)?.name === 'AbortError') return cancelledError(`${operation} of ${where}`);
    if (network) {
      return new BackupError(
        'STORAGE_UNREACHABLE',
        `Cannot reach S3 endpoint ${this.endpointText} (${network}) for ${this.location}.`,
        'Check the endpoint URL (--s3-endpoint or AWS_ENDPOINT_URL), that the S3 service is running, and that the network or proxy lets this machine reach it.',
        cause,
      );
    }
    if (tlsCertificate) {
      return new BackupError(
        'STORAGE_UNREACHABLE',
        `The TLS certificate of S3 endpoint ${this.endpointText} is not trusted (${tlsCertificate}) for ${this.location}.`,
        'If a private CA signed it, name that CA\'s PEM file in NODE_EXTRA_CA_CERTS; otherwise check the endpoint\'s host name and the certificate\'s dates.',
        cause,
      );
    }
    if ((error as Error)?.name === 'CredentialsProviderError') {
      return new BackupError('STORAGE_ACCESS_DENIED', `No AWS credentials found for ${this.location}.`, CREDENTIALS_HINT, cause);
    }
    if (error instanceof Error && error.message === 'Region is missing') {
      return new BackupError('STORAGE_ERROR', `No AWS region configured for ${this.location}.`, 'Set AWS_REGION (or pass --aws-region).', cause);
    }
    if (status === 403 || ACCESS_DENIED_CODES.has(code)) {
      const why = code === 'SignatureDoesNotMatch' ? 'the secret access key does not match the access key id' : code === 'InvalidAccessKeyId' ? 'the access key id is unknown' : `${code}, HTTP ${status ?? 403}`;
      return new BackupError('STORAGE_ACCESS_DENIED', `S3 denied ${operation} on ${where} at ${this.endpointText}: ${why}.`, CREDENTIALS_HINT, cause);
    }
    if (code === 'NoSuchBucket' || (operation === 'HeadBucket' && status === 404)) {
      return new BackupError('STORAGE_BUCKET_MISSING', `The bucket "${this.bucket}" does not exist at ${this.endpointText}.`, `Create it (e.g. \`aws s3 mb s3://${this.bucket}\`) or fix the bucket name of the repository.`, cause);
    }
    if (code === 'NoSuchKey' || status === 404) {
      return new BackupError('OBJECT_NOT_FOUND', `No object ${key ?? ''} in ${this.location}.`, 'Check the backup id or list the repository with `llm-analytics database list-backups`.', cause);
    }
    if (code === 'InvalidRange' || status === 416) {
      return new BackupError('INVALID_ARGUMENT', `The byte range asked of ${where} is outside the object.`, 'Read within the object: this is a bug in the caller.', cause);
    }
    if (code === 'InvalidStorageClass') {
      return new BackupError('STORAGE_ERROR', `The S3 server does not accept the storage class "${this.options.storageClass}" for ${this.location}.`, 'Choose a storage class the server supports (e.g. STANDARD), or none.', cause);
    }
    if (code === 'NotImplemented' || status === 501) {
      return new BackupError('STORAGE_ERROR', `The S3 server at ${this.endpointText} does not implement ${operation} as sent for ${where}.`, 'Use an S3 server that supports it, or turn off the option that needs it.', cause);
    }
    const detail = [code, status ? `HTTP ${status}` : undefined].filter(Boolean).join(', ');
    return new BackupError('STORAGE_ERROR', `S3 ${operation} of ${where} failed (${detail || 'unknown error'}).`, 'Try again; if it persists, check the S3 service status and its logs.', cause);
  }
}

const CREDENTIALS_HINT =
  'Check the AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (see `aws configure list`), and that their policy allows this bucket.';
const ACCESS_DENIED_CODES = new Set(['AccessDenied', 'SignatureDoesNotMatch', 'InvalidAccessKeyId', 'InvalidToken', 'ExpiredToken', 'Forbidden']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED']);

/** Node's codes for a server certificate it does not trust. */
const TLS_CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_REVOKED', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The S3 error code, HTTP status, or the network or TLS certificate failure of an SDK error. */
function describeServiceError(error: unknown): { code: string; status?: number; network?: string; tlsCertificate?: string } {
  const e = error as { name?: string; Code?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode;
  const code = e?.Code ?? e?.name ?? 'Error';
  const network = typeof e?.code === 'string' && NETWORK_CODES.has(e.code) ? e.code : e?.name === 'TimeoutError' ? 'timeout' : undefined;
  const tlsCertificate = typeof e?.code === 'string' && TLS_CERTIFICATE_CODES.has(e.code) ? e.code : undefined;
  return { code, status, network, tlsCertificate };
}

function rangeHeader(range: NonNullable<GetOptions['range']>, key: string): string {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0 || (end !== undefined && (!Number.isSafeInteger(end) || end < start))) {
    throw new BackupError('INVALID_ARGUMENT', `Invalid byte range ${start}-${end ?? ''} for ${key}.`, 'A range is start..end, inclusive, with 0 <= start <= end.');
  }
  return `bytes=${start}-${end ?? ''}`;
}

/** The endpoint for messages: scheme, host and path, never user info from the URL. */
function describeEndpoint(endpoint: string | undefined, region: string | undefined): string {
  if (!endpoint) return region ? `AWS S3 (${region})` : 'AWS S3';
  try {
    const url = new URL(endpoint);
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    return '(invalid endpoint URL)';
  }
}

/**
 * DeleteObjects needs a Content-MD5 header on S3-compatible servers (Swift: 400 "Missing required
 * header for this request: Content-MD5"); the SDK sends only a CRC32 checksum. AWS accepts both.
 */
function addDeleteObjectsContentMd5(request: unknown): void {
  const http = request as { query?: Record<string, unknown>; headers?: Record<string, string>; body?: unknown } | undefined;
  if (http?.query && 'delete' in http.query && typeof http.body === 'string' && http.headers) {
    http.headers['content-md5'] = createHash('md5').update(http.body).digest('base64');
  }
}

/** The HTTPS agent options that add NODE_EXTRA_CA_CERTS (deferred) to what the client trusts. */
function httpsTrust(options: S3StorageOptions): { httpsAgent?: { ca: string[] } } {
  const usesTls = !options.endpoint?.toLowerCase().startsWith('http:');
  return options.extraCaCertsFile && usesTls ? { httpsAgent: { ca: trustWithExtraCaCerts(options.extraCaCertsFile) } } : {};
}
