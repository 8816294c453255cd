import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, mkdir, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, stopClusterAt, trackDataDirectory, type Cluster } from '../../core/test-support/pgCluster.js';
import { clusterTableDigests, loadSampleData, tableDigests, type TableDigest } from '../../core/test-support/sampleData.js';
import { createTestBucket, type TestBucket } from '../../core/test-support/s3Server.js';
import { freePort, runCli, scratchDir } from './support/runCli.js';
import { s3RepoEnv, switchAndWaitArchived, walPushCommand } from './support/walArchive.js';

/**
 * wal-fetch prefetch through the real CLI: the background prefetcher fills the spool, following
 * calls are served from it with the repository's exact bytes, and nothing doubtful is ever served.
 * Segments here are 1 MiB (the smallest WAL segment size PostgreSQL allows) of random bytes.
 */
const PASSPHRASE = 'prefetch e2e passphrase';
const SYSTEM_ID = '7300000000000000042';
const SPOOL = '.llm-analytics-prefetch';
let bucket: TestBucket;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const segment = (n: number) => `00000001000000000000${n.toString(16).toUpperCase().padStart(4, '0')}`;

beforeAll(async () => {
  bucket = await createTestBucket();
  scratch = await scratchDir('cli-wal-prefetch-');
});
afterAll(async () => {
  await bucket?.cleanup();
  // Removing the spools also stops any prefetcher still running (it finds its lock gone).
  await scratch?.remove();
});

/** The one spool directory under a destination directory (its name is a key of repository and cluster). */
async function spoolDir(destinationDir: string): Promise<string> {
  const keys = await readdir(join(destinationDir, SPOOL));
  expect(keys).toHaveLength(1);
  return join(destinationDir, SPOOL, keys[0]!);
}

async function spooled(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).filter((name) => /^[0-9A-F]{24}\.[0-9a-f]{64}$/.test(name)).map((name) => name.slice(0, 24)).sort();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

for (const kind of ['local directory', 'S3'] as const) {
  describe(`wal-fetch prefetch, ${kind} repository`, () => {
    const originals = new Map<string, Buffer>();
    let env: Record<string, string>;
    let out: string;
    const fetch = (name: string, extra: string[] = [], destination = join(out, name)) =>
      runCli(['database', 'wal-fetch', '--system-id', SYSTEM_ID, ...extra, name, destination], env);

    beforeAll(async () => {
      const tag = kind === 'S3' ? 's3' : 'fs';
      env = kind === 'S3' ? s3RepoEnv(bucket, 'prefetch', PASSPHRASE) : { BACKUP_REPO: join(scratch.path, 'repo'), BACKUP_ENCRYPTION_PASSPHRASE: PASSPHRASE };
      out = join(scratch.path, `out-${tag}`);
      const source = join(scratch.path, `in-${tag}`);
      await mkdir(join(source, 'pg_wal'), { recursive: true });
      await mkdir(out);
      for (let n = 1; n <= 12; n++) {
        const bytes = randomBytes(1024 * 1024);
        originals.set(segment(n), bytes);
        await writeFile(join(source, 'pg_wal', segment(n)), bytes);
        const push = await runCli(['database', 'wal-push', '--system-id', SYSTEM_ID, '--pgdata', source, `pg_wal/${segment(n)}`], env);
        expect([push.exitCode, push.stderr]).toEqual([0, '']);
      }
      await writeFile(join(source, 'pg_wal', '00000002.history'), '1\t0/3000000\tno recovery target specified\n');
      expect((await runCli(['database', 'wal-push', '--system-id', SYSTEM_ID, '--pgdata', source, 'pg_wal/00000002.history'], env)).exitCode).toBe(0);
    });

    it('fetches a segment and fills the spool with exactly the next 8 segments, checked and complete', async () => {
      const first = await fetch(segment(1));
      expect([first.exitCode, first.stdout, first.stderr]).toEqual([0, '', '']);
      expect(sha(await readFile(join(out, segment(1))))).toBe(sha(originals.get(segment(1))!));
      const dir = await spoolDir(out);
      const names = await waitFor('8 spooled segments', async () => ((await spooled(dir)).length === 8 ? spooled(dir) : undefined));
      expect(names).toEqual([2, 3, 4, 5, 6, 7, 8, 9].map(segment));
      for (const entry of (await readdir(dir)).filter((name) => name.length === 24 + 1 + 64)) {
        // The name records the SHA-256 of the bytes, which are the repository's.
        const bytes = await readFile(join(dir, entry));
        expect(entry.slice(25)).toBe(sha(bytes));
        expect(sha(bytes)).toBe(sha(originals.get(entry.slice(0, 24))!));
      }
      expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    });

    it('serves the next fetch from the spool (the same file, moved) with identical bytes, and keeps the spool filled and bounded', async () => {
      const dir = await spoolDir(out);
      const entry = (await readdir(dir)).find((name) => name.startsWith(`${segment(2)}.`))!;
      const inode = (await stat(join(dir, entry))).ino;
      const second = await fetch(segment(2));
      expect([second.exitCode, second.stderr]).toEqual([0, '']);
      expect((await stat(join(out, segment(2)))).ino).toBe(inode);
      expect(sha(await readFile(join(out, segment(2))))).toBe(sha(originals.get(segment(2))!));
      // The window moved on: 3..10 ready, 2 gone, never more than 8 entries.
      const names = await waitFor('the window after segment 2', async () => ((await spooled(dir)).includes(segment(10)) ? spooled(dir) : undefined));
      expect(names).toEqual([3, 4, 5, 6, 7, 8, 9, 10].map(segment));
    });

    it('does not serve a tampered entry: the segment comes from the repository and the entry is deleted', async () => {
      const dir = await spoolDir(out);
      const entry = (await readdir(dir)).find((name) => name.startsWith(`${segment(3)}.`))!;
      const bytes = await readFile(join(dir, entry));
      bytes[1000] = bytes[1000]! ^ 0xff;
      await writeFile(join(dir, entry), bytes);
      const third = await fetch(segment(3));
      expect([third.exitCode, third.stderr]).toEqual([0, '']);
      expect(sha(await readFile(join(out, segment(3))))).toBe(sha(originals.get(segment(3))!));
      expect(await readdir(dir)).not.toContain(entry);
    });

    it('does not serve an entry older than an hour (a spool left by an earlier recovery)', async () => {
      const dir = await spoolDir(out);
      const entry = (await readdir(dir)).find((name) => name.startsWith(`${segment(4)}.`))!;
      // A second name keeps the entry's inode alive: once deleted, its number cannot be reused by
      // the file the direct fetch writes, so "not the same inode" really means "not served".
      const witness = join(out, 'witness-of-the-old-entry');
      await link(join(dir, entry), witness);
      const old = new Date(Date.now() - 2 * 3600_000);
      await utimes(join(dir, entry), old, old);
      const fourth = await fetch(segment(4));
      expect(fourth.exitCode).toBe(0);
      expect((await stat(join(out, segment(4)))).ino).not.toBe((await stat(witness)).ino);
      await rm(witness);
      expect(sha(await readFile(join(out, segment(4))))).toBe(sha(originals.get(segment(4))!));
    });

    it('never serves a segment of another timeline or another cluster from the spool', async () => {
      const dir = await spoolDir(out);
      await waitFor('segment 5 spooled', async () => ((await spooled(dir)).includes(segment(5)) ? true : undefined));
      const otherTimeline = `00000002${segment(5).slice(8)}`;
      const missing = await fetch(otherTimeline);
      expect([missing.exitCode, missing.stdout, missing.stderr]).toEqual([1, '', '']);
      expect(existsSync(join(out, otherTimeline))).toBe(false);
      // Another system identifier is another spool (and another archive, which lacks the segment).
      const otherCluster = await runCli(['database', 'wal-fetch', '--system-id', '7300000000000000043', segment(5), join(out, 'other-cluster')], env);
      expect(otherCluster.exitCode).toBe(1);
      expect(existsSync(join(out, 'other-cluster'))).toBe(false);
      expect(await spooled(dir)).toContain(segment(5));
    });

    it('fails fast and quietly for a segment the archive does not have, creating nothing', async () => {
      const started = Date.now();
      const missing = await fetch(segment(40));
      expect([missing.exitCode, missing.stdout, missing.stderr]).toEqual([1, '', '']);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(existsSync(join(out, segment(40)))).toBe(false);
    });

    it('fetches .history files directly and does not prefetch with --prefetch 0 or BACKUP_WAL_PREFETCH=0', async () => {
      const plain = join(scratch.path, `plain-${kind === 'S3' ? 's3' : 'fs'}`);
      await mkdir(plain);
      const history = await fetch('00000002.history', [], join(plain, 'history'));
      expect(history.exitCode).toBe(0);
      expect(await readFile(join(plain, 'history'), 'utf8')).toMatch(/^1\t0\/3000000/);
      expect((await fetch(segment(6), ['--prefetch', '0'], join(plain, 'a'))).exitCode).toBe(0);
      const byEnv = await runCli(['database', 'wal-fetch', '--system-id', SYSTEM_ID, segment(7), join(plain, 'b')], { ...env, BACKUP_WAL_PREFETCH: '0' });
      expect(byEnv.exitCode).toBe(0);
      expect(sha(await readFile(join(plain, 'b')))).toBe(sha(originals.get(segment(7))!));
      expect((await readdir(plain)).sort()).toEqual(['a', 'b', 'history']);
    });

    it('serves every remaining segment in order with identical bytes, and --clear-spool removes the spool and stops the prefetcher', async () => {
      for (let n = 5; n <= 12; n++) {
        const run = await fetch(segment(n));
        expect([run.exitCode, run.stderr]).toEqual([0, '']);
        expect(sha(await readFile(join(out, segment(n))))).toBe(sha(originals.get(segment(n))!));
      }
      expect((await fetch(segment(13))).exitCode).toBe(1);
      const dir = await spoolDir(out);
      expect(await spooled(dir)).toEqual([]);
      const pid = Number((await readFile(join(dir, 'lock'), 'utf8')).trim());
      expect(alive(pid)).toBe(true);
      const clear = await runCli(['database', 'wal-fetch', '--system-id', SYSTEM_ID, '--spool', join(out, SPOOL), '--clear-spool'], env);
      expect([clear.exitCode, clear.stderr]).toEqual([0, '']);
      expect(await readdir(join(out, SPOOL))).toEqual([]);
      await waitFor('the prefetcher to stop', async () => (alive(pid) ? undefined : true), 10_000);
    });
  });
}

describe('a spool left by a fetch from another repository', () => {
  it('is never read: the same name from another repository gives that repository’s bytes', async () => {
    const dest = join(scratch.path, 'shared');
    const source = join(scratch.path, 'in-shared');
    await mkdir(join(source, 'pg_wal'), { recursive: true });
    await mkdir(dest);
    const repos = [join(scratch.path, 'repo-a'), join(scratch.path, 'repo-b')];
    const contents = new Map<string, Buffer[]>();
    for (const repo of repos) {
      for (const n of [1, 2]) {
        const bytes = randomBytes(1024 * 1024);
        contents.set(`${repo}:${n}`, [bytes]);
        await writeFile(join(source, 'pg_wal', segment(n)), bytes);
        expect((await runCli(['database', 'wal-push', '--no-encryption', '--system-id', SYSTEM_ID, '--pgdata', source, `pg_wal/${segment(n)}`], { BACKUP_REPO: repo })).exitCode).toBe(0);
      }
    }
    const fromA = await runCli(['database', 'wal-fetch', '--system-id', SYSTEM_ID, segment(1), join(dest, 'a1')], { BACKUP_REPO: repos[0] });
    expect(fromA.exitCode).toBe(0);
    const dirA = await spoolDir(dest);
    await waitFor('segment 2 of repository A spooled', async () => ((await spooled(dirA)).includes(segment(2)) ? true : undefined));
    const fromB = await runCli(['database', 'wal-fetch', '--system-id', SYSTEM_ID, segment(2), join(dest, 'b2')], { BACKUP_REPO: repos[1] });
    expect(fromB.exitCode).toBe(0);
    expect(sha(await readFile(join(dest, 'b2')))).toBe(sha(contents.get(`${repos[1]}:2`)![0]!));
    expect(await spooled(dirA)).toContain(segment(2));
  });
});

describe('point-in-time restore with prefetch', () => {
  let cluster: Cluster;
  let env: Record<string, string>;
  let target: { lsn: string; digests: TableDigest[] };

  beforeAll(async () => {
    env = s3RepoEnv(bucket, 'prefetch-pitr', PASSPHRASE);
    cluster = await startCluster({ archiveCommand: walPushCommand(env) });
    env = { ...env, ...cluster.env };
    await loadSampleData(cluster, { rows: 2000 });
    await cluster.psql('CREATE TABLE prefetch_batches (batch int, n int, v text)', 'llm_analytics');
    const backup = await runCli(['database', 'backup', '-d', 'llm_analytics', '--json'], env);
    expect(backup.exitCode, backup.stderr).toBe(0);
    // Twelve segments of changes after the backup, the target in the middle of the tenth.
    for (let n = 1; n <= 12; n++) {
      await cluster.psql(`UPDATE metrics SET value = value + ${n} WHERE device_id % 5 = ${n % 5}; INSERT INTO prefetch_batches SELECT ${n}, g, md5(g::text) FROM generate_series(1, 500) g`, 'llm_analytics');
      if (n === 10) {
        const lsn = (await cluster.psql('select pg_current_wal_insert_lsn()')).trim();
        target = { lsn, digests: await clusterTableDigests(cluster) };
      }
      await switchAndWaitArchived(cluster);
    }
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  async function restoreTo(label: string, extraEnv: Record<string, string>): Promise<{ pgdata: string; digests: TableDigest[]; json: any }> {
    const pgdata = join(scratch.path, `restored-${label}`);
    await trackDataDirectory(pgdata).catch(() => {});
    const port = await freePort();
    const run = await runCli(['database', 'restore', '-d', 'llm_analytics', '--pgdata', pgdata, '--port', String(port), '--force', '--json', '--pitr-lsn', target.lsn], { ...env, ...extraEnv });
    expect(run.exitCode, run.stderr).toBe(0);
    try {
      return { pgdata, json: run.json, digests: await tableDigests(cluster.osHost, { host: '127.0.0.1', port, user: 'postgres' }, 'llm_analytics') };
    } finally {
      await stopClusterAt(pgdata);
    }
  }

  it('gives exactly the data at the target, as without prefetch, and leaves no spool behind', async () => {
    const without = await restoreTo('no-prefetch', { BACKUP_WAL_PREFETCH: '0' });
    const withPrefetch = await restoreTo('prefetch', {});
    expect(without.digests).toEqual(target.digests);
    expect(withPrefetch.digests).toEqual(target.digests);
    // recovery_end_command (wal-fetch --clear-spool) removed the spool when recovery ended; after
    // promotion the restore removed the recovery settings it had written.
    expect(withPrefetch.json.messages.join('\n')).toMatch(/Recovery settings \(restore_command, recovery_target_\*\) removed from .*postgresql\.auto\.conf/);
    expect(await readFile(join(withPrefetch.pgdata, 'postgresql.auto.conf'), 'utf8')).not.toMatch(/^(restore_command|recovery_end_command) =/m);
    expect((await readdir(join(withPrefetch.pgdata, 'pg_wal'))).filter((name) => name.startsWith('.llm'))).toEqual([]);
  });

  it('writes recovery_end_command --clear-spool, and replays from the spool: kept, it holds the last segment PostgreSQL asked for', async () => {
    const pgdata = join(scratch.path, 'restored-kept-spool');
    await trackDataDirectory(pgdata).catch(() => {});
    const port = await freePort();
    const run = await runCli(['database', 'restore', '-d', 'llm_analytics', '--pgdata', pgdata, '--port', String(port), '--force', '--json', '--no-start', '--pitr-lsn', target.lsn], env);
    expect(run.exitCode, run.stderr).toBe(0);
    const settings = await readFile(join(pgdata, 'postgresql.auto.conf'), 'utf8');
    expect(settings).toMatch(/^recovery_end_command = '.* database wal-fetch .*--clear-spool'$/m);
    // Later lines of postgresql.auto.conf win: recover without removing the spool at the end.
    await writeFile(join(pgdata, 'postgresql.auto.conf'), `${settings}recovery_end_command = ''\n`);
    await cluster.osHost.exec([cluster.osHost.pgTool('pg_ctl'), '-D', pgdata, '-l', join(pgdata, 'server.log'), '-w', '-t', '300', 'start'], { env: env as any });
    try {
      const connection = { host: '127.0.0.1', port, user: 'postgres' } as const;
      await waitFor('promotion', async () => ((await cluster.osHost.exec([cluster.osHost.pgTool('psql'), '-X', '-At', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-c', 'select pg_is_in_recovery()'])).stdout.trim() === 'f' ? true : undefined), 120_000);
      expect(await tableDigests(cluster.osHost, connection, 'llm_analytics')).toEqual(target.digests);
      const root = join(pgdata, 'pg_wal', SPOOL);
      const [key] = await readdir(root);
      expect(await readFile(join(root, key!, 'wanted'), 'utf8')).toMatch(/^[0-9A-F]{24} 16777216\n$/);
    } finally {
      await stopClusterAt(pgdata);
    }
    const clear = await runCli(['database', 'wal-fetch', '--pgdata', pgdata, '--clear-spool'], env);
    expect([clear.exitCode, clear.stderr]).toEqual([0, '']);
    expect(existsSync(join(pgdata, 'pg_wal', SPOOL))).toBe(false);
  });
});
