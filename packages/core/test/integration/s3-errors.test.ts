import { createServer } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupError } from '../../src/errors.js';
import { readAll } from '../../src/storage/objects.js';
import { S3Storage } from '../../src/storage/s3.js';
import { createTestBucket, s3TestEnv, testStorageOptions, type S3TestEnv, type TestBucket } from '../../test-support/s3Server.js';

/** What a user sees of an error: its message, hint and JSON (as the CLI and the API print it). */
function shown(error: BackupError): string {
  return [error.message, error.hint ?? '', JSON.stringify(error), String(error)].join('\n');
}

async function failure(promise: Promise<unknown>): Promise<BackupError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BackupError);
  return error as BackupError;
}

describe('S3Storage errors', () => {
  let env: S3TestEnv;
  let bucket: TestBucket;
  beforeAll(async () => {
    env = await s3TestEnv();
    bucket = await createTestBucket();
    await bucket.storage.put('backups/a/backup.json', Buffer.from('{}'));
  });
  afterAll(async () => {
    await bucket?.cleanup();
  });

  it('reports a wrong secret key as STORAGE_ACCESS_DENIED without ever showing the secret', async () => {
    const secret = 'Wr0ngSecretKey/ThatMustNeverBePrinted+42';
    const storage = new S3Storage({
      ...testStorageOptions(bucket.bucket, env),
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: secret },
    });
    const errors = [
      await failure(storage.check()),
      await failure(storage.get('backups/a/backup.json')),
      await failure(storage.put('x', Buffer.from('x'))),
      await failure(storage.put('y', Readable.from([Buffer.alloc(1024)]))),
    ];
    for (const error of errors) {
      expect(error.code).toBe('STORAGE_ACCESS_DENIED');
      expect(error.hint).toMatch(/AWS_ACCESS_KEY_ID/);
      expect(shown(error)).not.toContain(secret);
      expect(shown(error)).not.toContain('Wr0ngSecret');
    }
    expect(errors[1]?.message).toMatch(/secret access key does not match/);
  });

  it('reports an unknown access key id as STORAGE_ACCESS_DENIED', async () => {
    const storage = new S3Storage({ ...testStorageOptions(bucket.bucket, env), credentials: { accessKeyId: 'nobody:unknown', secretAccessKey: 'whatever-secret' } });
    const error = await failure(storage.check());
    expect(error.code).toBe('STORAGE_ACCESS_DENIED');
    expect(shown(error)).not.toContain('whatever-secret');
  });

  it('reports a missing bucket as STORAGE_BUCKET_MISSING naming the bucket, for check, list and put', async () => {
    const storage = new S3Storage({ ...testStorageOptions('no-such-bucket-for-tests', env), prefix: 'repo' });
    const errors = [
      await failure(storage.check()),
      await failure((async () => {
        for await (const object of storage.list('')) void object;
      })()),
      await failure(storage.put('backups/a/backup.json', Buffer.from('{}'))),
    ];
    for (const error of errors) {
      expect(error.code).toBe('STORAGE_BUCKET_MISSING');
      expect(error.message).toContain('"no-such-bucket-for-tests"');
      expect(error.hint).toMatch(/Create it/);
    }
  });

  it('reports a closed port as STORAGE_UNREACHABLE within a few seconds, naming the endpoint', async () => {
    const port = await closedLoopbackPort();
    const storage = new S3Storage({ ...testStorageOptions('any-bucket', env), endpoint: `http://127.0.0.1:${port}` });
    const started = performance.now();
    const error = await failure(storage.check());
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(error.code).toBe('STORAGE_UNREACHABLE');
    expect(error.message).toContain(`Cannot reach S3 endpoint http://127.0.0.1:${port}`);
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('reports a host name that does not resolve as STORAGE_UNREACHABLE', async () => {
    const storage = new S3Storage({ ...testStorageOptions('any-bucket', env), endpoint: 'http://s3.invalid:9000' });
    const error = await failure(storage.head('x'));
    expect(error.code).toBe('STORAGE_UNREACHABLE');
    expect(error.message).toContain('http://s3.invalid:9000');
  });

  it('never shows user info of an endpoint URL', async () => {
    const port = await closedLoopbackPort();
    const storage = new S3Storage({ ...testStorageOptions('any-bucket', env), endpoint: `http://user:url-password@127.0.0.1:${port}` });
    const error = await failure(storage.check());
    expect(shown(error)).not.toContain('url-password');
  });

  it('writes without server-side encryption where the server lacks it (Swift: 501), and says so', async () => {
    const storage = new S3Storage({ ...testStorageOptions(bucket.bucket, env), prefix: 'sse', serverSideEncryption: 'AES256' });
    expect(storage.serverSideEncryptionApplied).toBe(false);
    await storage.put('buffer', Buffer.from('small'));
    await storage.put('stream', Readable.from([Buffer.from('streamed')]));
    await expect(storage.putIfAbsent('once', Buffer.from('once'))).resolves.toBe(true);
    expect(storage.serverSideEncryptionApplied).toBe(false);
    expect((await readAll(storage, 'buffer')).toString()).toBe('small');
    expect((await readAll(storage, 'stream')).toString()).toBe('streamed');
    expect(await bucket.pendingUploads()).toBe(0); // the probe's multipart upload was aborted
  });

  it('reports a storage class the server refuses as STORAGE_ERROR naming the class', async () => {
    const storage = new S3Storage({ ...testStorageOptions(bucket.bucket, env), storageClass: 'STANDARD_IA' });
    const error = await failure(storage.put('classy', Buffer.from('x')));
    expect(error.code).toBe('STORAGE_ERROR');
    expect(error.message).toContain('STANDARD_IA');
  });
});

/** A loopback port nobody listens on: bound, then closed. */
async function closedLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise((done) => server.close(done));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
