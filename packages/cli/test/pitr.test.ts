import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { startCluster, stopClusterAt, trackDataDirectory, type Cluster } from '../../core/test-support/pgCluster.js';
import { clusterTableDigests, loadSampleData, tableDigests, type TableDigest } from '../../core/test-support/sampleData.js';
import { createTestBucket, type TestBucket } from '../../core/test-support/s3Server.js';
import { freePort, runCli, scratchDir } from './support/runCli.js';
import { s3RepoEnv, switchAndWaitArchived, walPushCommand } from './support/walArchive.js';

/**
 * Point-in-time recovery end to end: a real PostgreSQL 15 cluster archives its WAL through the
 * real CLI (archive_command = wal-push) into the real S3 API server; restores to time, LSN, xid
 * and named targets must give exactly the rows recorded at that target.
 */
const PASSPHRASE = 'pitr e2e passphrase, never printed';
let cluster: Cluster;
let bucket: TestBucket;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let env: Record<string, string>;
let fullBackup: { id: string; endTime: string };

interface Batch {
  time: string;
  lsn: string;
  xid: string;
  name: string;
  digests: TableDigest[];
}
const batches: Batch[] = [];
let beforeBackup: string;

async function writeBatch(n: number): Promise<Batch> {
  const out = await cluster.psql(
    `BEGIN;
     INSERT INTO pitr_batches SELECT ${n}, g, md5(${n} || '-' || g) FROM generate_series(1, 300) g;
     UPDATE metrics SET value = value + ${n} WHERE device_id % 7 = ${n % 7};
     DELETE FROM events WHERE id % 11 = ${n};
     SELECT txid_current();
     COMMIT;`,
    'llm_analytics',
  );
  const xid = out.trim().split('\n').filter((line) => /^\d+$/.test(line)).pop()!;
  const name = `batch-${n}`;
  const point = await cluster.psql(`select clock_timestamp(), pg_current_wal_insert_lsn(), pg_create_restore_point('${name}')`);
  const [time, lsn] = point.trim().split('|');
  const batch = { time: new Date(time!.replace(' ', 'T').replace(/\+00$/, 'Z')).toISOString(), lsn: lsn!, xid, name, digests: await clusterTableDigests(cluster) };
  await new Promise((resolve) => setTimeout(resolve, 50)); // commits of the next batch are strictly later
  return batch;
}

async function restoreTo(args: string[], label: string): Promise<{ run: Awaited<ReturnType<typeof runCli>>; digests?: TableDigest[] }> {
  const pgdata = `${scratch.path}/restored-${label}`;
  await trackDataDirectory(pgdata).catch(() => {});
  const port = await freePort();
  const run = await runCli(['database', 'restore', '-d', 'llm_analytics', '--pgdata', pgdata, '--port', String(port), '--force', '--json', ...args], env);
  try {
    if (run.exitCode !== 0) return { run };
    return { run, digests: await tableDigests(cluster.osHost, { host: '127.0.0.1', port, user: 'postgres' }, 'llm_analytics') };
  } finally {
    await stopClusterAt(pgdata);
  }
}

beforeAll(async () => {
  bucket = await createTestBucket();
  scratch = await scratchDir('cli-pitr-');
  env = s3RepoEnv(bucket, 'pitr', PASSPHRASE);
  cluster = await startCluster({ archiveCommand: walPushCommand(env) });
  env = { ...env, ...cluster.env };
  await loadSampleData(cluster, { rows: 3000 });
  await cluster.psql('CREATE TABLE pitr_batches (batch int, n int, v text)', 'llm_analytics');
  beforeBackup = new Date().toISOString();
  const backup = await runCli(['database', 'backup', '-d', 'llm_analytics', '--json'], env);
  expect(backup.stderr).toBe('');
  expect(backup.exitCode).toBe(0);
  fullBackup = backup.json;
  for (let n = 1; n <= 4; n++) batches.push(await writeBatch(n));
  await switchAndWaitArchived(cluster);
});
afterAll(async () => {
  await cluster?.destroy();
  await bucket?.cleanup();
  await scratch?.remove();
});

describe('restore --pitr-*', () => {
  it('recovers to a time target with exactly the rows committed by then', async () => {
    const { run, digests } = await restoreTo(['--pitr-target', batches[1]!.time], 'time');
    expect(run.stderr).toBe('');
    expect(run.json).toMatchObject({ success: true, backupId: fullBackup.id, recoverTo: `time ${batches[1]!.time}` });
    expect(digests).toEqual(batches[1]!.digests);
    expect(digests).not.toEqual(batches[2]!.digests);
  });

  it('recovers to an LSN target with exactly the rows written before it, then removes the recovery settings it wrote (the port stays)', async () => {
    const { run, digests } = await restoreTo(['--pitr-lsn', batches[0]!.lsn], 'lsn');
    expect(run.exitCode, run.stderr).toBe(0);
    expect(digests).toEqual(batches[0]!.digests);
    expect(run.json.messages.join('\n')).toMatch(/Recovery settings \(restore_command, recovery_target_\*\) removed from .*postgresql\.auto\.conf: recovery is over/);
    const conf = readFileSync(`${scratch.path}/restored-lsn/postgresql.auto.conf`, 'utf8');
    expect(conf).not.toMatch(/^(restore_command|recovery_end_command|recovery_target_\w+) =/m);
    expect(conf).toMatch(/^port = \d+$/m);
  });

  it('recovers to a transaction id, inclusive by default and just before it with --no-pitr-inclusive', async () => {
    const inclusive = await restoreTo(['--pitr-xid', batches[2]!.xid], 'xid');
    expect(inclusive.run.exitCode, inclusive.run.stderr).toBe(0);
    expect(inclusive.digests).toEqual(batches[2]!.digests);
    const exclusive = await restoreTo(['--pitr-xid', batches[2]!.xid, '--no-pitr-inclusive'], 'xid-exclusive');
    expect(exclusive.run.exitCode, exclusive.run.stderr).toBe(0);
    expect(exclusive.digests).toEqual(batches[1]!.digests);
  });

  it('recovers to a named restore point', async () => {
    const { run, digests } = await restoreTo(['--pitr-name', batches[3]!.name], 'name');
    expect(run.exitCode, run.stderr).toBe(0);
    expect(digests).toEqual(batches[3]!.digests);
  });

  it('refuses up front a time before the backup ended, naming the restorable window', async () => {
    const { run } = await restoreTo(['--pitr-target', beforeBackup], 'too-early');
    expect(run.exitCode).toBe(11);
    expect(run.json.error.code).toBe('PITR_OUT_OF_RANGE');
    expect(run.json.error.message).toMatch(/No completed full backup .* ended before/);
  });

  it('refuses up front a time in the future and a time after the last archived WAL', async () => {
    const future = await restoreTo(['--pitr-target', new Date(Date.now() + 3_600_000).toISOString()], 'future');
    expect(future.run.exitCode).toBe(11);
    expect(future.run.json.error.message).toMatch(/in the future.*Restorable: backup .* can be recovered from LSN/);
    const beyond = await restoreTo(['--pitr-lsn', 'FF/0'], 'beyond');
    expect(beyond.run.exitCode).toBe(11);
    expect(beyond.run.json.error.message).toMatch(/after the last archived WAL/);
  });

  it('refuses a malformed timestamp as INVALID_TIMESTAMP (exit 2)', async () => {
    const { run } = await restoreTo(['--pitr-target', '2026-11-24 10:00'], 'malformed');
    expect(run.exitCode).toBe(2);
    expect(run.json.error.code).toBe('INVALID_TIMESTAMP');
  });
});

describe('incremental backups', () => {
  it('restore exactly the data at their time: the full backup plus WAL replayed to the restore point', async () => {
    const incremental = await runCli(['database', 'backup', '-d', 'llm_analytics', '-t', 'incremental', '--json'], env);
    expect(incremental.exitCode, incremental.stderr).toBe(0);
    expect(incremental.json).toMatchObject({ type: 'Incremental', status: 'Completed', parentId: fullBackup.id, objects: [] });
    const atIncremental = await clusterTableDigests(cluster);
    await writeBatch(5);
    await switchAndWaitArchived(cluster);
    const { run, digests } = await restoreTo(['--backup-id', incremental.json.id], 'incremental');
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json).toMatchObject({ backupId: incremental.json.id, baseBackupId: fullBackup.id, recoverTo: `restore point "${incremental.json.id}"` });
    expect(digests).toEqual(atIncremental);
    expect(digests).not.toEqual(await clusterTableDigests(cluster));

    const differential = await runCli(['database', 'backup', '-d', 'llm_analytics', '-t', 'differential', '--json'], env);
    expect(differential.exitCode, differential.stderr).toBe(0);
    expect(differential.json).toMatchObject({ type: 'Differential', parentId: fullBackup.id });
  });
});

describe('restore without a target', () => {
  it('replays the whole archive and promotes: the rows equal the source at its last archived segment', async () => {
    await switchAndWaitArchived(cluster);
    const { run, digests } = await restoreTo(['--backup-id', fullBackup.id], 'to-end');
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json.recoverTo).toBe('the end of the archived WAL');
    expect(digests).toEqual(await clusterTableDigests(cluster));
  });
});
