import { readFile, writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, stopClusterAt, trackDataDirectory, type Cluster } from '../../core/test-support/pgCluster.js';
import { clusterTableDigests, loadSampleData, tableDigests } from '../../core/test-support/sampleData.js';
import { createTestBucket, type TestBucket } from '../../core/test-support/s3Server.js';
import { freePort, runCli, scratchDir } from './support/runCli.js';

/**
 * The main job end to end through the CLI: back up a real cluster, restore into a new data
 * directory, start it, and compare every table's rows with the source.
 */
const PASSPHRASE = 'e2e passphrase that must never be printed';
let cluster: Cluster;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let bucket: TestBucket;

beforeAll(async () => {
  cluster = await startCluster();
  await loadSampleData(cluster, { rows: 20_000 });
  scratch = await scratchDir('cli-e2e-');
  bucket = await createTestBucket();
});
afterAll(async () => {
  await bucket?.cleanup();
  await cluster?.destroy();
  await scratch?.remove();
});

type Storage = 'fs' | 's3';
const cases: { storage: Storage; compression: string; encrypted: boolean }[] = [
  ...['zstd', 'lz4', 'gzip', 'none'].flatMap((compression) => [true, false].map((encrypted) => ({ storage: 'fs' as Storage, compression, encrypted }))),
  { storage: 's3', compression: 'zstd', encrypted: true },
  { storage: 's3', compression: 'none', encrypted: false },
];

function repoEnv(storage: Storage, name: string): Record<string, string> {
  if (storage === 'fs') return { BACKUP_REPO: `${scratch.path}/repo-${name}` };
  const { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, AWS_REGION } = bucket.env;
  return { BACKUP_REPO: `s3://${bucket.bucket}/${name}`, AWS_ACCESS_KEY_ID: AWS_ACCESS_KEY_ID!, AWS_SECRET_ACCESS_KEY: AWS_SECRET_ACCESS_KEY!, AWS_ENDPOINT_URL: AWS_ENDPOINT_URL!, AWS_REGION: AWS_REGION! };
}

describe.each(cases)('backup → restore on $storage with $compression, encrypted $encrypted', ({ storage, compression, encrypted }) => {
  const name = `${compression}-${encrypted ? 'enc' : 'plain'}`;

  it('restores a server whose every table has the same rows as the source', async () => {
    const env = { ...cluster.env, ...repoEnv(storage, name), ...(encrypted ? { BACKUP_ENCRYPTION_PASSPHRASE: PASSPHRASE } : {}) };
    const backup = await runCli(['database', 'backup', '-d', 'llm_analytics', '--compression', compression, ...(encrypted ? [] : ['--no-encryption']), '--json'], env);
    expect(backup.stderr).toBe('');
    expect(backup.exitCode).toBe(0);
    expect(backup.json).toMatchObject({ status: 'Completed', type: 'Full', database: 'llm_analytics', compression, encrypted, formatVersion: 1 });
    expect(backup.json.id).toMatch(/^backup-llm_analytics-\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect(backup.json.startLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    if (compression === 'none') expect(backup.json.storedSizeBytes).toBeGreaterThanOrEqual(backup.json.sizeBytes);
    else expect(backup.json.sizeBytes).toBeGreaterThan(backup.json.storedSizeBytes * 1.5);

    const list = await runCli(['database', 'list-backups', '-d', 'llm_analytics', '--json'], env);
    expect(list.exitCode).toBe(0);
    expect(list.json.backups.map((b: { id: string }) => b.id)).toContain(backup.json.id);

    const pgdata = `${scratch.path}/restored-${storage}-${name}`;
    await trackDataDirectory(pgdata).catch(() => {});
    const port = await freePort();
    // One case names the target relative to the working directory, as an operator may type it.
    const relativeTarget = storage === 'fs' && compression === 'zstd' && !encrypted;
    const target = relativeTarget ? relative(scratch.path, pgdata) : pgdata;
    const restore = await runCli(['database', 'restore', '--backup-id', backup.json.id, '--pgdata', target, '--port', String(port), '--force', '--json'], env, { cwd: scratch.path });
    try {
      expect(restore.stderr).toBe('');
      expect(restore.exitCode).toBe(0);
      expect(restore.json).toMatchObject({ success: true, backupId: backup.json.id, port, tablesRestored: backup.json.tableCount, pgdata });
      const restored = await tableDigests(cluster.osHost, { host: '127.0.0.1', port, user: 'postgres' }, 'llm_analytics');
      expect(restored).toEqual(await clusterTableDigests(cluster));
      expect(restored.length).toBeGreaterThanOrEqual(10);
    } finally {
      await stopClusterAt(pgdata);
    }
    for (const output of [backup, list, restore]) expect(output.stdout + output.stderr).not.toContain(PASSPHRASE);
  });
});

describe('a zstd backup made before the frame index recorded tar positions', () => {
  it('records where each frame starts in the tar now, and without them restores the same rows (one thread walks the tar)', async () => {
    const env = { ...cluster.env, ...repoEnv('fs', 'unindexed') };
    const backup = await runCli(['database', 'backup', '-d', 'llm_analytics', '--no-encryption', '--json'], env);
    expect(backup.exitCode).toBe(0);
    const metadataFile = `${scratch.path}/repo-unindexed/backups/${backup.json.id}/backup.json`;
    const metadata = JSON.parse(await readFile(metadataFile, 'utf8'));
    const frames: { tar?: { at: string } }[] = metadata.objects[0].frames;
    expect(frames.length).toBeGreaterThan(1);
    expect(frames.every((frame) => frame.tar !== undefined)).toBe(true);
    expect(frames.some((frame) => frame.tar?.at === 'body')).toBe(true);
    for (const frame of frames) delete frame.tar;
    await writeFile(metadataFile, JSON.stringify(metadata, null, 2));

    const pgdata = `${scratch.path}/restored-unindexed`;
    await trackDataDirectory(pgdata).catch(() => {});
    const port = await freePort();
    const restore = await runCli(['database', 'restore', '--backup-id', backup.json.id, '--pgdata', pgdata, '--port', String(port), '--force', '--json'], env);
    try {
      expect(restore.exitCode).toBe(0);
      expect(restore.json).toMatchObject({ success: true, tablesRestored: backup.json.tableCount });
      expect(await tableDigests(cluster.osHost, { host: '127.0.0.1', port, user: 'postgres' }, 'llm_analytics')).toEqual(await clusterTableDigests(cluster));
    } finally {
      await stopClusterAt(pgdata);
    }
  });
});
