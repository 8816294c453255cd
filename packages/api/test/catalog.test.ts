import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStorage, acquireBackupLock, readBackupLock, writeMetadata, lockKey, type Storage } from '@llm-analytics/core';
import { CatalogIndex } from '../src/catalogIndex.js';
import { metadataFixture, writeCatalog } from './support/fixtures.js';

/** The catalog index (cache) and the repository lock, on a real fs repository. */
let dir: string;
afterEach(async () => dir && rm(dir, { recursive: true, force: true }));

async function countingStorage(): Promise<{ storage: Storage; counts: { get: number; list: number } }> {
  dir = await mkdtemp(join(tmpdir(), 'api-catalog-'));
  const inner = new FsStorage(join(dir, 'repo'));
  const counts = { get: 0, list: 0 };
  const storage = Object.assign(Object.create(Object.getPrototypeOf(inner)), inner) as Storage;
  storage.get = (key, options) => (counts.get++, inner.get(key, options));
  storage.list = (prefix) => (counts.list++, inner.list(prefix));
  return { storage, counts };
}

describe('the catalog index', () => {
  it('serves repeated pages of a 1,000-backup catalog with one LIST per TTL and each metadata object read once', async () => {
    const { storage, counts } = await countingStorage();
    await writeCatalog(storage, 1000);
    let clock = 0;
    const index = new CatalogIndex(storage, { listTtlMs: 2000, now: () => clock });
    const first = await index.all();
    expect(first).toHaveLength(1000);
    expect(counts).toEqual({ get: 1000, list: 1 });
    await Promise.all(Array.from({ length: 50 }, () => index.all()));
    expect(counts).toEqual({ get: 1000, list: 1 });
    clock = 2500;
    await Promise.all(Array.from({ length: 50 }, () => index.ids()));
    expect(counts).toEqual({ get: 1000, list: 2 });
  });

  it('rereads a backup whose metadata the CLI rewrote and forgets one that was deleted', async () => {
    const { storage, counts } = await countingStorage();
    const [newest, older] = await writeCatalog(storage, 2);
    let clock = 0;
    const index = new CatalogIndex(storage, { listTtlMs: 1000, now: () => clock });
    expect((await index.get(newest!))?.status).toBe('Completed');
    await writeMetadata(storage, metadataFixture(newest!, { status: 'Verified', storedSizeBytes: 12_345, startTime: (await index.get(newest!))!.startTime }));
    await storage.delete([`backups/${older}/backup.json`]);
    clock = 1500;
    // Past the TTL the previous listing answers while a new LIST runs (stale-while-revalidate).
    expect((await index.get(newest!))?.status).toBe('Completed');
    await index.settled();
    expect((await index.get(newest!))?.status).toBe('Verified');
    expect(await index.get(older!)).toBeUndefined();
    expect(await index.ids()).toEqual([newest]);
    expect(counts.get).toBe(2);
  });
});

describe('the repository lock', () => {
  it('lets one of two concurrent takers win and names the holder to the other', async () => {
    const { storage } = await countingStorage();
    const results = await Promise.allSettled([
      acquireBackupLock(storage, 'llm_analytics', { owner: { tool: 'api', jobId: 'job-a' } }),
      acquireBackupLock(storage, 'llm_analytics', { owner: { tool: 'cli', pid: 99 } }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost[0]!.reason).toMatchObject({ code: 'BACKUP_IN_PROGRESS' });
    expect(lost[0]!.reason.message).toMatch(/API job job-a|cli process 99/);
    await (won[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
    expect(await readBackupLock(storage, 'llm_analytics')).toBeUndefined();
  });

  it('takes over an expired lock left by a crashed process, and only one of two contenders does', async () => {
    const { storage } = await countingStorage();
    let clock = new Date('2026-01-01T00:00:00Z').getTime();
    const now = () => new Date(clock);
    await acquireBackupLock(storage, 'llm_analytics', { owner: { tool: 'cli', pid: 1 }, ttlMs: 60_000, now });
    await expect(acquireBackupLock(storage, 'llm_analytics', { now })).rejects.toMatchObject({ code: 'BACKUP_IN_PROGRESS' });
    clock += 61_000;
    const contenders = await Promise.allSettled([1, 2, 3].map((pid) => acquireBackupLock(storage, 'llm_analytics', { owner: { tool: 'cli', pid: 100 + pid }, now })));
    expect(contenders.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const holder = await readBackupLock(storage, 'llm_analytics');
    expect(holder?.owner.pid).toBeGreaterThan(100);
    const leftovers: string[] = [];
    for await (const object of storage.list('locks/')) leftovers.push(object.key);
    expect(leftovers).toEqual([lockKey('llm_analytics')]);
    for (const r of contenders) if (r.status === 'fulfilled') await r.value.release();
  });

  it('treats a damaged lock object as expired instead of blocking backups forever', async () => {
    const { storage } = await countingStorage();
    await storage.put(lockKey('llm_analytics'), Buffer.from('{not json'));
    const lock = await acquireBackupLock(storage, 'llm_analytics');
    expect(lock.record.owner.pid).toBe(process.pid);
    await lock.release();
  });
});
