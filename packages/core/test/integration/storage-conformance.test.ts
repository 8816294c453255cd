import { createCipheriv, createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackupError } from '../../src/errors.js';
import { FsStorage } from '../../src/storage/fs.js';
import { compareKeys, readAll, streamToBuffer } from '../../src/storage/objects.js';
import type { S3Storage } from '../../src/storage/s3.js';
import type { Storage } from '../../src/storage/storage.js';
import { createTestBucket, type TestBucket } from '../../test-support/s3Server.js';

const MiB = 1024 * 1024;
/** lib-storage's part size in S3Storage: objects larger than this go up in several parts. */
const PART = 16 * MiB;

interface StorageUnderTest {
  storage: Storage;
  /** Debris a failed write may have left: temp files, pending multipart uploads. */
  leftovers(): Promise<number>;
  cleanup(): Promise<void>;
}

/** Every Storage implementation passes this same suite. */
function describeStorageConformance(name: string, open: () => Promise<StorageUnderTest>): void {
  describe(`${name} conformance`, () => {
    let subject: StorageUnderTest;
    let storage: Storage;
    beforeEach(async () => {
      subject = await open();
      storage = subject.storage;
    });
    afterEach(async () => {
      await subject.cleanup();
    });

    it('returns the exact bytes of a Buffer put, and head reports its size', async () => {
      const body = Buffer.from('{"id":"20240101T000000Z-abcd"}\n');
      await expect(storage.put('backups/one/backup.json', body)).resolves.toEqual({ size: body.length });
      expect(await readAll(storage, 'backups/one/backup.json')).toEqual(body);
      const info = await storage.head('backups/one/backup.json');
      expect(info).toMatchObject({ key: 'backups/one/backup.json', size: body.length });
      expect(info?.lastModified).toBeInstanceOf(Date);
    });

    it('round-trips a 40 MiB stream (several multipart parts) with the same SHA-256', async () => {
      const size = 40 * MiB + 12345;
      let started = performance.now();
      await expect(storage.put('backups/big/base.tar', patternStream(size))).resolves.toEqual({ size });
      const putSeconds = (performance.now() - started) / 1000;
      started = performance.now();
      const digest = await sha256Of(await storage.get('backups/big/base.tar'));
      const getSeconds = (performance.now() - started) / 1000;
      expect(digest).toBe(sha256(patternBytes(0, size)));
      expect((await storage.head('backups/big/base.tar'))?.size).toBe(size);
      console.info(`${name}: put ${(size / MiB / putSeconds).toFixed(0)} MiB/s, get ${(size / MiB / getSeconds).toFixed(0)} MiB/s (40 MiB)`);
    });

    it('stores empty objects, from a Buffer and from a stream', async () => {
      await storage.put('empty/buffer', Buffer.alloc(0));
      await expect(storage.put('empty/stream', Readable.from([]))).resolves.toEqual({ size: 0 });
      for (const key of ['empty/buffer', 'empty/stream']) {
        expect((await readAll(storage, key)).length).toBe(0);
        expect((await storage.head(key))?.size).toBe(0);
      }
    });

    it('keeps keys with spaces, "+", "=", "%", "?" and non-ASCII characters exactly', async () => {
      const keys = ['dir with space/a+b=c.txt', 'ümlaut/日本語/😀.bin', 'percent%20sign', 'query?x=1&y=2'];
      for (const key of keys) await storage.put(key, Buffer.from(`content of ${key}`));
      for (const key of keys) expect((await readAll(storage, key)).toString()).toBe(`content of ${key}`);
      expect(await listKeys(storage, '')).toEqual([...keys].sort(compareKeys));
    });

    it('replaces an object that is put again under the same key', async () => {
      await storage.put('locks/db.json', Buffer.from('first'));
      await storage.put('locks/db.json', Readable.from([Buffer.from('second, longer')]));
      expect((await readAll(storage, 'locks/db.json')).toString()).toBe('second, longer');
    });

    it('reads byte ranges: in the middle, to the end, and across a multipart part boundary', async () => {
      const size = PART + 3 * MiB;
      await storage.put('ranges/data', patternStream(size));
      const read = async (start: number, end?: number): Promise<Buffer> => streamToBuffer(await storage.get('ranges/data', { range: { start, end } }));
      expect(await read(1000, 1999)).toEqual(patternBytes(1000, 1000));
      expect(await read(size - 100)).toEqual(patternBytes(size - 100, 100));
      expect(await read(PART - 4096, PART + 4095)).toEqual(patternBytes(PART - 4096, 8192));
      expect(await read(0, 0)).toEqual(patternBytes(0, 1));
      expect(await read(size - 10, size + 1000)).toEqual(patternBytes(size - 10, 10)); // end clamped
    });

    it('refuses a range that starts past the end of the object', async () => {
      await storage.put('ranges/small', Buffer.from('0123456789'));
      await expect(storage.get('ranges/small', { range: { start: 10 } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(storage.get('ranges/small', { range: { start: 5, end: 2 } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });

    it('answers head of a missing key with undefined and get with OBJECT_NOT_FOUND', async () => {
      await storage.put('present/a', Buffer.from('a'));
      expect(await storage.head('missing/key')).toBeUndefined();
      expect(await storage.head('present')).toBeUndefined(); // a "directory" is not an object
      await expect(storage.get('missing/key')).rejects.toMatchObject({ code: 'OBJECT_NOT_FOUND' });
      await expect(storage.get('present')).rejects.toMatchObject({ code: 'OBJECT_NOT_FOUND' });
    });

    it('lists every key in UTF-8 byte order, across pages, with sizes', async () => {
      // "a-c" < "a/b" < "a0" in byte order: a directory walk must not list "a/..." first or last.
      // "ｱ" (U+FF71) < "😀" (U+1F600) in UTF-8 bytes, the other way round in UTF-16 code units.
      const keys = ['b', 'a/b', 'a-c', 'a0', 'a/a/z', 'a b', 'a+b', 'A', 'é', 'ｱ', '😀', 'z/y/x/w', 'a/b0', 'a/b-'];
      for (const [index, key] of shuffled(keys).entries()) await storage.put(key, Buffer.alloc(index));
      const listed = await collect(storage.list(''));
      expect(listed.map((object) => object.key)).toEqual([...keys].sort(compareKeys));
      expect(listed.map((object) => object.key)).toEqual(['A', 'a b', 'a+b', 'a-c', 'a/a/z', 'a/b', 'a/b-', 'a/b0', 'a0', 'b', 'z/y/x/w', 'é', 'ｱ', '😀']);
      for (const object of listed) expect(object.size).toBe((await storage.head(object.key))?.size);
    });

    it('lists only the keys under a prefix, which may end inside a name', async () => {
      for (const key of ['backups/1/a', 'backups/10/b', 'backups/2/c', 'backups2/d', 'wal/1/x', 'backup']) {
        await storage.put(key, Buffer.from(key));
      }
      expect(await listKeys(storage, 'backups/')).toEqual(['backups/1/a', 'backups/10/b', 'backups/2/c']);
      expect(await listKeys(storage, 'backups/1')).toEqual(['backups/1/a', 'backups/10/b']);
      expect(await listKeys(storage, 'backups/1/')).toEqual(['backups/1/a']);
      expect(await listKeys(storage, 'backups')).toEqual(['backups/1/a', 'backups/10/b', 'backups/2/c', 'backups2/d']);
      expect(await listKeys(storage, 'nothing/')).toEqual([]);
      expect(await listKeys(storage, 'backups/1/a/')).toEqual([]);
    });

    it('deletes many keys at once, missing ones included', async () => {
      for (const key of ['wal/1/a', 'wal/1/b', 'wal/2/c', 'wal/2/d']) await storage.put(key, Buffer.from(key));
      await storage.delete(['wal/1/a', 'wal/1/b', 'wal/2/c', 'wal/never-written', 'no/such/dir/key']);
      expect(await listKeys(storage, '')).toEqual(['wal/2/d']);
      await storage.delete([]);
      await storage.delete(['wal/2/d']);
      expect(await listKeys(storage, '')).toEqual([]);
    });

    it('putIfAbsent creates a missing object, then refuses and keeps the first content', async () => {
      await expect(storage.putIfAbsent('wal/1/000000010000000000000001', Buffer.from('first'))).resolves.toBe(true);
      await expect(storage.putIfAbsent('wal/1/000000010000000000000001', Buffer.from('second'))).resolves.toBe(false);
      expect((await readAll(storage, 'wal/1/000000010000000000000001')).toString()).toBe('first');
      expect(await subject.leftovers()).toBe(0);
    });

    it('leaves no object and no debris when the body stream fails half way', async () => {
      const failure = new Error('the source failed after 20 MiB');
      await expect(storage.put('backups/failed/base.tar', failingStream(PART + 4 * MiB, failure))).rejects.toBe(failure);
      await expect(storage.get('backups/failed/base.tar')).rejects.toMatchObject({ code: 'OBJECT_NOT_FOUND' });
      expect(await listKeys(storage, '')).toEqual([]);
      expect(await subject.leftovers()).toBe(0);
    });

    it('cancels a put when its signal aborts: CANCELLED, no object, no debris, body destroyed', async () => {
      const controller = new AbortController();
      // Late enough that parts are in flight: the multipart upload exists and must be aborted.
      const body = endlessStream(3 * PART + MiB, () => controller.abort());
      const error = await storage.put('backups/cancelled/base.tar', body, { signal: controller.signal }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BackupError);
      expect(error).toMatchObject({ code: 'CANCELLED' });
      expect(body.destroyed).toBe(true);
      expect(await storage.head('backups/cancelled/base.tar')).toBeUndefined();
      expect(await listKeys(storage, '')).toEqual([]);
      expect(await subject.leftovers()).toBe(0);
    });

    it('refuses to start a put whose signal is already aborted', async () => {
      const signal = AbortSignal.abort();
      await expect(storage.put('x', Buffer.from('x'), { signal })).rejects.toMatchObject({ code: 'CANCELLED' });
      await expect(storage.put('y', Readable.from([Buffer.from('y')]), { signal })).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(await listKeys(storage, '')).toEqual([]);
    });

    it('refuses keys that could escape the repository or are ambiguous', async () => {
      for (const key of ['', '../outside', 'a/../../b', '/etc/passwd', 'a//b', 'a/', './a', 'a\\b', 'a\0b']) {
        await expect(storage.put(key, Buffer.from('x')), JSON.stringify(key)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
        await expect(storage.get(key), JSON.stringify(key)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      }
      await expect(collect(storage.list('../'))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(await listKeys(storage, '')).toEqual([]);
    });

    it('passes check() on a fresh repository', async () => {
      await expect(storage.check()).resolves.toBeUndefined();
    });
  });
}

describeStorageConformance('FsStorage', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fs-storage-'));
  const root = join(dir, 'repo'); // not created yet: the first write creates it
  return {
    storage: new FsStorage(root),
    leftovers: async () => (await readdir(join(root, '.tmp')).catch(() => [])).length,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describeStorageConformance('S3Storage (Swift s3api)', async () => {
  // A prefix and two keys a page exercise the key mapping and ListObjectsV2 pagination.
  const bucket = await createTestBucket({ prefix: '/repo//one/', pageSize: 2 });
  return { storage: bucket.storage, leftovers: bucket.pendingUploads, cleanup: bucket.cleanup };
});

describe('FsStorage specifics', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fs-storage-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates its root directory with mode 0700 on the first write', async () => {
    const root = join(dir, 'nested', 'repo');
    await new FsStorage(root).put('backups/a/backup.json', Buffer.from('{}'));
    expect((await stat(root)).mode & 0o777).toBe(0o700);
    expect((await readdir(join(root, 'backups', 'a')))).toEqual(['backup.json']);
  });

  it('removes directories a delete leaves empty', async () => {
    const storage = new FsStorage(dir);
    await storage.put('backups/a/one', Buffer.from('1'));
    await storage.put('backups/b/two', Buffer.from('2'));
    await storage.delete(['backups/a/one']);
    expect((await readdir(join(dir, 'backups'))).sort()).toEqual(['b']);
  });

  it('refuses keys in its temp directory', async () => {
    const storage = new FsStorage(dir);
    await expect(storage.put('.tmp/x', Buffer.from('x'))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await listKeys(storage, '.tmp/')).toEqual([]);
  });

  it('check() removes temp files a crashed writer left more than a day ago, and only those', async () => {
    const storage = new FsStorage(dir);
    await storage.check();
    const stale = join(dir, '.tmp', 'crashed-writer');
    const live = join(dir, '.tmp', 'writer-in-progress');
    await writeFile(stale, 'half an object');
    await writeFile(live, 'an object being written');
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    await utimes(stale, twoDaysAgo, twoDaysAgo);
    await storage.check();
    expect(await readdir(join(dir, '.tmp'))).toEqual(['writer-in-progress']);
  });

  it('fails check() with STORAGE_ERROR when the root is a file', async () => {
    const file = join(dir, 'file');
    await writeFile(file, 'not a directory');
    await expect(new FsStorage(file).check()).rejects.toMatchObject({ code: 'STORAGE_ERROR' });
  });
});

describe('S3Storage specifics', () => {
  let bucket: TestBucket;
  beforeEach(async () => {
    bucket = await createTestBucket({ prefix: 'repo' });
  });
  afterEach(async () => {
    await bucket.cleanup();
  });

  it('keeps every key under its prefix and ignores objects outside it', async () => {
    await bucket.storage.put('backups/a', Buffer.from('a'));
    for (const key of ['outside', 'repository/b', 'repo']) {
      await bucket.client.send(new PutObjectCommand({ Bucket: bucket.bucket, Key: key, Body: Buffer.from(key) }));
    }
    expect(await listKeys(bucket.storage, '')).toEqual(['backups/a']);
    await bucket.client.send(new PutObjectCommand({ Bucket: bucket.bucket, Key: 'repo/wal/x', Body: Buffer.from('x') }));
    expect((await readAll(bucket.storage, 'wal/x')).toString()).toBe('x');
    expect(bucket.storage.location).toBe(`s3://${bucket.bucket}/repo`);
  });

  it('falls back to HEAD-then-PUT for putIfAbsent where the server lacks conditional writes', async () => {
    const storage: S3Storage = bucket.storage;
    // Swift's s3api answers 501 to If-None-Match: the second call must not try it again.
    await expect(storage.putIfAbsent('a', Buffer.from('1'))).resolves.toBe(true);
    await expect(storage.putIfAbsent('b', Buffer.from('2'))).resolves.toBe(true);
    await expect(storage.putIfAbsent('a', Buffer.from('3'))).resolves.toBe(false);
    expect((await readAll(storage, 'a')).toString()).toBe('1');
  });
});

// ---- data and helpers ------------------------------------------------------------------------

const PATTERN_KEY = Buffer.alloc(32, 7);

/** Deterministic pseudo-random bytes at any offset: AES-256-CTR keystream (seekable, fast). */
function patternBytes(offset: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(Math.floor(offset / 16)), 8);
  const skip = offset % 16;
  return createCipheriv('aes-256-ctr', PATTERN_KEY, iv).update(Buffer.alloc(length + skip)).subarray(skip);
}

/** `size` pattern bytes, generated as they are read (never held whole in memory). */
function patternStream(size: number): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (offset >= size) return void this.push(null);
      const length = Math.min(MiB, size - offset);
      this.push(patternBytes(offset, length));
      offset += length;
    },
  });
}

/** Pattern bytes that fail with `error` after `failAt` bytes. */
function failingStream(failAt: number, error: Error): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (offset >= failAt) return void this.destroy(error);
      const length = Math.min(MiB, failAt - offset);
      this.push(patternBytes(offset, length));
      offset += length;
    },
  });
}

/** Never ends; calls `onMark` once after `mark` bytes were read. */
function endlessStream(mark: number, onMark: () => void): Readable {
  let offset = 0;
  return new Readable({
    read() {
      setImmediate(() => {
        if (this.destroyed) return;
        this.push(patternBytes(offset % (4 * MiB), MiB));
        offset += MiB;
        if (offset === mark) onMark();
      });
    },
  });
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

async function listKeys(storage: Storage, prefix: string): Promise<string[]> {
  return (await collect(storage.list(prefix))).map((object) => object.key);
}

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}
