import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../../core/test-support/pgCluster.js';
import { createTestBucket, type TestBucket } from '../../core/test-support/s3Server.js';
import { freePort, runCli, scratchDir } from './support/runCli.js';
import { s3RepoEnv, switchAndWaitArchived, waitArchived, walPushCommand } from './support/walArchive.js';

/** wal-push / wal-fetch as PostgreSQL uses them, and the faults the archive must survive. */
const PASSPHRASE = 'wal e2e passphrase';
let bucket: TestBucket;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let env: Record<string, string>;
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

beforeAll(async () => {
  bucket = await createTestBucket();
  scratch = await scratchDir('cli-wal-');
  env = s3RepoEnv(bucket, 'wal', PASSPHRASE);
});
afterAll(async () => {
  await bucket?.cleanup();
  await scratch?.remove();
});

describe('wal-push and wal-fetch', () => {
  const name = '000000010000000000000007';
  let original: Buffer;

  it('stores a segment, succeeds again for the same content, and refuses different content without overwriting', async () => {
    await mkdir(`${scratch.path}/pgdata/pg_wal`, { recursive: true });
    original = randomBytes(1024 * 1024);
    await writeFile(`${scratch.path}/pgdata/pg_wal/${name}`, original);
    const args = ['database', 'wal-push', '--system-id', '111', '--pgdata', `${scratch.path}/pgdata`, `pg_wal/${name}`];
    const first = await runCli(args, env);
    expect([first.exitCode, first.stderr]).toEqual([0, '']);
    const again = await runCli(args, env);
    expect(again.exitCode).toBe(0);
    expect(again.stderr).toMatch(/already archived with the same content/);

    await writeFile(`${scratch.path}/pgdata/pg_wal/${name}`, randomBytes(1024 * 1024));
    const replaced = await runCli(args, env);
    expect(replaced.exitCode).toBe(5);
    expect(replaced.stderr).toMatch(/error \[OBJECT_EXISTS\]: WAL file 000000010000000000000007 is already archived .* with DIFFERENT content; it was not overwritten/);

    const fetched = await runCli(['database', 'wal-fetch', '--system-id', '111', name, `${scratch.path}/fetched`], env);
    expect(fetched.exitCode).toBe(0);
    expect(sha(await readFile(`${scratch.path}/fetched`))).toBe(sha(original));
    for (const output of [first, again, replaced, fetched]) expect(output.stdout + output.stderr).not.toContain(PASSPHRASE);
  });

  it('exits 1 quietly for a file the archive does not have, creating nothing', async () => {
    const missing = await runCli(['database', 'wal-fetch', '--system-id', '111', '00000002.history', `${scratch.path}/history`], env);
    expect([missing.exitCode, missing.stdout, missing.stderr]).toEqual([1, '', '']);
    expect(existsSync(`${scratch.path}/history`)).toBe(false);
  });

  it('exits 126 (PostgreSQL stops recovery) with a wrong key, leaving neither the file nor a .tmp', async () => {
    await mkdir(`${scratch.path}/wrong-key`);
    const wrong = await runCli(['database', 'wal-fetch', '--system-id', '111', name, `${scratch.path}/wrong-key/${name}`], { ...env, BACKUP_ENCRYPTION_PASSPHRASE: 'not the key' });
    expect(wrong.exitCode).toBe(126);
    expect(wrong.stderr).toMatch(/error \[ENCRYPTION_KEY_WRONG\]/);
    expect(await readdir(`${scratch.path}/wrong-key`)).toEqual([]);
  });

  it('exits 126 on a usage error, so a mistyped restore_command stops recovery instead of ending it', async () => {
    const typo = await runCli(['database', 'wal-fetch', '--prefech', '8', name, `${scratch.path}/${name}`], env);
    expect(typo.exitCode).toBe(126);
    expect(typo.stderr).toMatch(/prefech/);
    expect(existsSync(`${scratch.path}/${name}`)).toBe(false);
  });

  it('refuses a name that is not a WAL file', async () => {
    const bad = await runCli(['database', 'wal-push', '--system-id', '111', '/etc/passwd'], env);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/INVALID_ARGUMENT.*not a WAL file name/);
  });
});

describe('a cluster archiving through wal-push', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    const closedPort = await freePort();
    // S3 is "down": the endpoint is a port nobody listens on.
    cluster = await startCluster({ archiveCommand: walPushCommand({ ...env, BACKUP_REPO: `s3://${bucket.bucket}/cluster`, AWS_ENDPOINT_URL: `http://127.0.0.1:${closedPort}` }) });
    await cluster.psql('CREATE TABLE t (n int); INSERT INTO t SELECT generate_series(1, 1000)');
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('keeps failing while S3 is down (PostgreSQL retries) and loses nothing once it is back', async () => {
    const segment = (await cluster.psql('select pg_walfile_name(pg_switch_wal())')).trim();
    const deadline = Date.now() + 120_000;
    let failed = 0;
    while (failed < 2 && Date.now() < deadline) {
      failed = Number((await cluster.psql('select failed_count from pg_stat_archiver')).trim());
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(failed).toBeGreaterThanOrEqual(2);
    expect((await cluster.psql('select coalesce(last_archived_wal, \'none\') from pg_stat_archiver')).trim()).toBe('none');
    expect(existsSync(`${cluster.pgdata}/pg_wal/archive_status/${segment}.ready`)).toBe(true);

    const repoEnv = { ...env, BACKUP_REPO: `s3://${bucket.bucket}/cluster` };
    await cluster.psql(`ALTER SYSTEM SET archive_command = '${walPushCommand(repoEnv).replace(/'/g, "''")}'; SELECT pg_reload_conf();`);
    await waitArchived(cluster, segment);
    await cluster.psql('INSERT INTO t SELECT generate_series(1, 1000)');
    const last = await switchAndWaitArchived(cluster);

    const status = await runCli(['database', 'archive-status', '--json'], { ...repoEnv, ...cluster.env });
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.json.clusters).toHaveLength(1);
    expect(status.json.clusters[0]).toMatchObject({ firstSegment: '000000010000000000000001', lastSegment: last, gaps: [] });
    expect(status.json.server.failedCount).toBeGreaterThanOrEqual(2);
    expect(status.json.server.lastArchivedWal).toBe(last);
  });

  it('refuses up front a PITR beyond a segment missing from the middle of the chain, and archive-status names the gap', async () => {
    const repoEnv = { ...env, BACKUP_REPO: `s3://${bucket.bucket}/cluster`, ...cluster.env };
    await cluster.psql('CREATE DATABASE app');
    const full = await runCli(['database', 'backup', '-d', 'app', '--json'], repoEnv);
    expect(full.exitCode, full.stderr).toBe(0);
    const segments: string[] = [];
    for (let i = 0; i < 3; i++) {
      await cluster.psql('INSERT INTO t SELECT generate_series(1, 1000)');
      segments.push(await switchAndWaitArchived(cluster));
    }
    const endLsn = (await cluster.psql('select pg_current_wal_lsn()')).trim();
    const keys: string[] = [];
    for await (const object of bucket.storage.list('cluster/wal/')) keys.push(object.key);
    const victim = keys.find((key) => key.includes(`/${segments[1]}.`))!;
    await bucket.storage.delete([victim]);

    const port = await freePort();
    const restore = await runCli(['database', 'restore', '-d', 'app', '--pgdata', `${scratch.path}/gap`, '--port', String(port), '--force', '--json', '--pitr-lsn', endLsn], repoEnv);
    expect(restore.exitCode).toBe(11);
    expect(restore.json.error.code).toBe('PITR_OUT_OF_RANGE');
    expect(restore.json.error.message).toContain(`WAL segment ${segments[1]} is missing from the archive`);
    expect(existsSync(`${scratch.path}/gap`)).toBe(false);

    const status = await runCli(['database', 'archive-status', '--json'], repoEnv);
    expect(status.json.clusters[0].gaps).toEqual([segments[1]]);
  });
});

describe('wal-push --parallel (push-ahead)', () => {
  let cluster: Cluster;
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('stores the ready segments ahead in parallel and archives every segment, without gaps or failures', async () => {
    const repoEnv = { ...env, BACKUP_REPO: `s3://${bucket.bucket}/ahead` };
    const spool = `${scratch.path}/spool`;
    cluster = await startCluster({ archiveCommand: walPushCommand(repoEnv).replace(' %p', ` --parallel 4 --spool ${spool} %p`) });
    await cluster.psql('CREATE TABLE t (n int)');
    // Ten segments closed at once: the archiver finds several .ready files behind the first.
    let last = '';
    for (let i = 0; i < 10; i++) last = (await cluster.psql('INSERT INTO t SELECT generate_series(1, 1000); SELECT pg_walfile_name(pg_switch_wal())')).trim().split('\n').pop()!;
    await waitArchived(cluster, last);
    expect(await cluster.serverLog()).toMatch(/wal-push: pushed ahead [0-9A-F]{24}/);
    expect(Number((await cluster.psql('select failed_count from pg_stat_archiver')).trim())).toBe(0);
    const status = await runCli(['database', 'archive-status', '--json'], repoEnv);
    expect(status.json.clusters[0]).toMatchObject({ firstSegment: '000000010000000000000001', lastSegment: last, gaps: [] });
    expect(await readdir(spool)).toEqual([]);
  });
});
