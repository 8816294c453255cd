import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSql } from '../../core/src/postgres/psql.js';
import type { PgConnection } from '../../core/src/postgres/connection.js';
import { startCluster, stopClusterAt, trackDataDirectory, type Cluster } from '../../core/test-support/pgCluster.js';
import { clusterTableDigests, loadSampleData, tableDigests, type TableDigest } from '../../core/test-support/sampleData.js';
import { createTestBucket, type TestBucket } from '../../core/test-support/s3Server.js';
import { freePort, runCli, scratchDir } from './support/runCli.js';
import { s3RepoEnv, switchAndWaitArchived, walPushCommand } from './support/walArchive.js';

/**
 * Timelines and retention on one archive: restore with PITR (a new timeline), keep writing and
 * archiving on the restored server, back it up, expire the older backup and its WAL, then
 * recover again to a point inside the kept window.
 */
const PASSPHRASE = 'retention e2e passphrase';
let cluster: Cluster;
let bucket: TestBucket;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let env: Record<string, string>;
let firstPgdata: string;
let first: PgConnection;
const state: { full1?: any; full2?: any; targetTime?: string; atTarget?: TableDigest[] } = {};

const now = async (sql: (q: string) => Promise<string>) => new Date((await sql('select clock_timestamp()')).trim().replace(' ', 'T').replace(/\+00$/, 'Z')).toISOString();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitArchivedOn(connection: PgConnection, segment: string): Promise<void> {
  for (let i = 0; i < 480; i++) {
    const last = (await runSql(cluster.osHost, connection, 'postgres', "select coalesce(last_archived_wal, '') from pg_stat_archiver")).trim();
    if (last >= segment && last.length === 24) return;
    await sleep(250);
  }
  throw new Error(`${segment} not archived`);
}

beforeAll(async () => {
  bucket = await createTestBucket();
  scratch = await scratchDir('cli-retention-');
  env = s3RepoEnv(bucket, 'tl', PASSPHRASE);
  cluster = await startCluster({ archiveCommand: walPushCommand(env) });
  env = { ...env, ...cluster.env };
  await loadSampleData(cluster, { rows: 2000 });
});
afterAll(async () => {
  if (firstPgdata) await stopClusterAt(firstPgdata).catch(() => {});
  await cluster?.destroy();
  await bucket?.cleanup();
  await scratch?.remove();
});

describe('timelines', () => {
  it('a PITR restore promotes to timeline 2, archives from it, and can itself be backed up', async () => {
    const full1 = await runCli(['database', 'backup', '-d', 'llm_analytics', '--json'], env);
    expect(full1.exitCode, full1.stderr).toBe(0);
    state.full1 = full1.json;
    await cluster.psql('CREATE TABLE notes (n int, source text); INSERT INTO notes SELECT g, \'first\' FROM generate_series(1, 100) g', 'llm_analytics');
    const target = await now((q) => cluster.psql(q));
    const atTarget = await clusterTableDigests(cluster);
    await sleep(50);
    await cluster.psql("INSERT INTO notes SELECT g, 'lost on timeline 2' FROM generate_series(1, 100) g", 'llm_analytics');
    await switchAndWaitArchived(cluster);

    firstPgdata = `${scratch.path}/timeline2`;
    await trackDataDirectory(firstPgdata).catch(() => {});
    const port = await freePort();
    const restore = await runCli(['database', 'restore', '-d', 'llm_analytics', '--pgdata', firstPgdata, '--port', String(port), '--force', '--json', '--pitr-target', target], env);
    expect(restore.exitCode, restore.stderr).toBe(0);
    first = { host: '127.0.0.1', port, user: 'postgres' };
    expect(await tableDigests(cluster.osHost, first, 'llm_analytics')).toEqual(atTarget);
    expect((await runSql(cluster.osHost, first, 'postgres', 'select timeline_id from pg_control_checkpoint()')).trim()).toBe('2');

    await runSql(cluster.osHost, first, 'llm_analytics', "INSERT INTO notes SELECT g, 'timeline 2' FROM generate_series(1, 50) g");
    const full2 = await runCli(['database', 'backup', '-d', 'llm_analytics', '--json'], { ...env, PGPORT: String(port) });
    expect(full2.exitCode, full2.stderr).toBe(0);
    expect(full2.json).toMatchObject({ timeline: 2, systemIdentifier: state.full1.systemIdentifier });
    state.full2 = full2.json;
    await runSql(cluster.osHost, first, 'llm_analytics', "INSERT INTO notes SELECT g, 'after backup 2' FROM generate_series(1, 50) g");
    state.targetTime = await now((q) => runSql(cluster.osHost, first, 'postgres', q));
    state.atTarget = await tableDigests(cluster.osHost, first, 'llm_analytics');
    await sleep(50);
    await runSql(cluster.osHost, first, 'llm_analytics', "INSERT INTO notes SELECT g, 'too late' FROM generate_series(1, 50) g");
    await waitArchivedOn(first, (await runSql(cluster.osHost, first, 'postgres', 'select pg_walfile_name(pg_switch_wal())')).trim());

    const status = await runCli(['database', 'archive-status', '--json'], { ...env, PGHOST: '', PGPORT: '' });
    expect(status.json.clusters[0].timelines).toEqual([1, 2]);
  });
});

describe('expire', () => {
  it('refuses without --force when nobody can confirm, deleting nothing', async () => {
    await ageBackup(state.full1.id, 40);
    const refused = await runCli(['database', 'expire', '--json'], env);
    expect(refused.exitCode).toBe(3);
    expect(refused.json.error.code).toBe('CONFIRMATION_REQUIRED');
    expect(await keysUnder(`backups/${state.full1.id}/`)).toHaveLength(2);
  });

  it('deletes exactly the planned backups and WAL: the aged full backup and the WAL before the newest full', async () => {
    const dryRun = await runCli(['database', 'expire', '--dry-run', '--json'], env);
    expect(dryRun.exitCode, dryRun.stderr).toBe(0);
    expect(dryRun.json.delete.map((b: { id: string }) => b.id)).toEqual([state.full1.id]);
    expect(dryRun.json.keep).toEqual([{ id: state.full2.id, reason: 'newest full backup' }]);
    expect(dryRun.json.walKeptFrom).toEqual({ [state.full1.systemIdentifier]: state.full2.startWalSegment });
    const walBefore = await keysUnder('wal/');
    const planned: string[] = dryRun.json.deleteWal.map((f: { key: string }) => f.key);
    expect(planned.length).toBeGreaterThan(0);
    expect(await keysUnder(`backups/${state.full1.id}/`)).toHaveLength(2);

    const applied = await runCli(['database', 'expire', '--force', '--json'], env);
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(applied.json.applied).toMatchObject({ deletedBackups: 1, deletedWal: planned.length });
    expect(await keysUnder(`backups/${state.full1.id}/`)).toEqual([]);
    const walAfter = await keysUnder('wal/');
    expect(walAfter.sort()).toEqual(walBefore.filter((key) => !planned.includes(`${key}`.replace(/^tl\//, ''))).sort());
    expect(walAfter.some((key) => key.endsWith('00000002.history.zst.enc'))).toBe(true);
  });

  it('leaves every point in the kept window recoverable: PITR on timeline 2 gives exactly the rows at the target', async () => {
    const pgdata = `${scratch.path}/timeline3`;
    await trackDataDirectory(pgdata).catch(() => {});
    const port = await freePort();
    const restore = await runCli(['database', 'restore', '-d', 'llm_analytics', '--pgdata', pgdata, '--port', String(port), '--force', '--json', '--pitr-target', state.targetTime!], env);
    try {
      expect(restore.exitCode, restore.stderr).toBe(0);
      expect(restore.json.backupId).toBe(state.full2.id);
      expect(await tableDigests(cluster.osHost, { host: '127.0.0.1', port, user: 'postgres' }, 'llm_analytics')).toEqual(state.atTarget);
    } finally {
      await stopClusterAt(pgdata);
    }
  });
});

async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of bucket.storage.list(`tl/${prefix}`)) keys.push(object.key.replace(/^tl\//, ''));
  return keys;
}

async function ageBackup(id: string, days: number): Promise<void> {
  const key = `tl/backups/${id}/backup.json`;
  const chunks: Buffer[] = [];
  for await (const chunk of await bucket.storage.get(key)) chunks.push(chunk as Buffer);
  const metadata = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const shift = (iso: string) => new Date(Date.parse(iso) - days * 86_400_000).toISOString();
  await bucket.storage.put(key, Buffer.from(JSON.stringify({ ...metadata, startTime: shift(metadata.startTime), endTime: shift(metadata.endTime) })));
}
