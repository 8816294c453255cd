import type { Readable } from 'node:stream';
import type { S3Storage, S3StorageOptions } from './s3.js';
import type { GetOptions, ObjectInfo, PutOptions, Storage } from './storage.js';

/**
 * An S3Storage whose AWS SDK is loaded on first use. The SDK takes most of a second to import;
 * commands that never touch S3 (a local repository, --help, wal-fetch of a local archive) should
 * not pay for it, and PostgreSQL starts wal-push once per WAL segment.
 */
export class LazyS3Storage implements Storage {
  #loading?: Promise<S3Storage>;
  #loaded?: S3Storage;

  constructor(
    private readonly options: S3StorageOptions,
    readonly location: string,
  ) {}

  /** What the server really applied; false until the first write (see S3Storage). */
  get serverSideEncryptionApplied(): boolean {
    return this.#loaded?.serverSideEncryptionApplied ?? false;
  }

  private storage(): Promise<S3Storage> {
    this.#loading ??= import('./s3.js').then(({ S3Storage }) => (this.#loaded = new S3Storage(this.options)));
    return this.#loading;
  }

  async put(key: string, body: Readable | Buffer, options?: PutOptions): Promise<{ size: number }> {
    return (await this.storage()).put(key, body, options);
  }

  async putIfAbsent(key: string, body: Buffer): Promise<boolean> {
    return (await this.storage()).putIfAbsent(key, body);
  }

  async get(key: string, options?: GetOptions): Promise<Readable> {
    return (await this.storage()).get(key, options);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    return (await this.storage()).head(key);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    yield* (await this.storage()).list(prefix);
  }

  async delete(keys: readonly string[]): Promise<void> {
    return (await this.storage()).delete(keys);
  }

  async check(): Promise<void> {
    return (await this.storage()).check();
  }
}
