import { execFile, spawn } from 'node:child_process';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsStorage, walObjectKey, type BackupMetadata, type Storage } from '@llm-analytics/core';
import { S3Storage } from '../../core/src/storage/s3.js';
import { segmentRange } from '../../core/src/catalog/walArchive.js';
import { nextWalSegmentName } from '../../core/src/postgres/lsn.js';
import { runsAsRoot } from '../../core/src/host/osUser.js';
import { startCluster, type Cluster } from '../../core/test-support/pgCluster.js';
import { loadSampleData } from '../../core/test-support/sampleData.js';
import { createTestBucket, testStorageOptions, type TestBucket } from '../../core/test-support/s3Server.js';
import { CLI, runCli, scratchDir } from './support/runCli.js';
import { flipByte, readBackupJson, readObject, sha256, tarMemberOffset, whileDamaged, writeBackupJson } from './support/tamper.js';

/**
 * verify-backup against real backups of a real cluster, on both storages, and a tampering suite:
 * every check must be able to fail, be the one that reports the damage, name the object, and make
 * the command exit non-zero (13 = invalid). The intact backup passes all.
 */
const execFileAsync = promisify(execFile);
const PASSPHRASE = 'verify e2e passphrase';
const INVALID = 13;
let cluster: Cluster;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let bucket: TestBucket;
/** The file of the `devices` table, relative to the data directory (base/<db oid>/<relfilenode>). */
let devicesFile: string;

beforeAll(async () => {
  cluster = await startCluster({ dataChecksums: true });
  await loadSampleData(cluster, { rows: 20_000 });
  devicesFile = (await cluster.psql(`select pg_relation_filepath('devices')`, 'llm_analytics')).trim();
  scratch = await scratchDir('cli-verify-');
  bucket = await createTestBucket();
});
afterAll(async () => {
  await bucket?.cleanup();
  await cluster?.destroy();
  await scratch?.remove();
});

type Kind = 'fs' | 's3';
interface Repo {
  env: Record<string, string>;
  storage: Storage;
}
function repo(kind: Kind, name: string): Repo {
  if (kind === 'fs') {
    const path = `${scratch.path}/repo-${name}`;
    return { env: { ...cluster.env, BACKUP_REPO: path, BACKUP_ENCRYPTION_PASSPHRASE: PASSPHRASE }, storage: new FsStorage(path) };
  }
  const { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, AWS_REGION } = bucket.env;
  return {
    env: { ...cluster.env, BACKUP_REPO: `s3://${bucket.bucket}/${name}`, BACKUP_ENCRYPTION_PASSPHRASE: PASSPHRASE, AWS_ACCESS_KEY_ID: AWS_ACCESS_KEY_ID!, AWS_SECRET_ACCESS_KEY: AWS_SECRET_ACCESS_KEY!, AWS_ENDPOINT_URL: AWS_ENDPOINT_URL!, AWS_REGION: AWS_REGION! },
    storage: new S3Storage({ ...testStorageOptions(bucket.bucket, bucket.env), prefix: name }),
  };
}

async function takeBackup(r: Repo, compression: string, encrypted: boolean): Promise<BackupMetadata> {
  const run = await runCli(['database', 'backup', '-d', 'llm_analytics', '--compression', compression, ...(encrypted ? [] : ['--no-encryption']), '--json'], r.env);
  expect(run.exitCode, run.stderr).toBe(0);
  return run.json as BackupMetadata;
}

async function verify(r: Repo, id: string, extra: string[] = []) {
  const run = await runCli(['database', 'verify-backup', '--backup-id', id, '--json', ...extra], r.env);
  const checks = Object.fromEntries(((run.json?.checks ?? []) as { name: string; status: string; message: string }[]).map((c) => [c.name, c]));
  return { ...run, checks };
}

/** Archived WAL objects for a backup, as wal-push names them (contents do not matter to verify). */
async function archiveSegments(r: Repo, metadata: BackupMetadata, extraAfterEnd: number): Promise<string[]> {
  let names = segmentRange(metadata.startWalSegment!, metadata.endWalSegment!);
  let next = metadata.endWalSegment!;
  for (let i = 0; i < extraAfterEnd; i++) names = [...names, (next = nextWalSegmentName(next))];
  for (const name of names) await r.storage.put(walObjectKey(metadata.systemIdentifier!, name, 'zstd', false), Buffer.from(`segment ${name}`));
  return names;
}
async function clearArchive(r: Repo, metadata: BackupMetadata): Promise<void> {
  const keys: string[] = [];
  for await (const object of r.storage.list(`wal/${metadata.systemIdentifier}/`)) keys.push(object.key);
  await r.storage.delete(keys);
}

describe.each(['fs', 's3'] as Kind[])('verify-backup on %s storage', (kind) => {
  let r: Repo;
  let zstdPlain: BackupMetadata;
  let zstdEncrypted: BackupMetadata;
  let uncompressed: BackupMetadata;
  const dataKey = (m: BackupMetadata) => m.objects[0]!.key;
  const jsonKey = (m: BackupMetadata) => `backups/${m.id}/backup.json`;

  beforeAll(async () => {
    r = repo(kind, 'verify');
    zstdPlain = await takeBackup(r, 'zstd', false);
    zstdEncrypted = await takeBackup(r, 'zstd', true);
    uncompressed = await takeBackup(r, 'none', false);
  });

  it('passes every check of an intact backup, exits 0 and records the backup as Verified', async () => {
    for (const backup of [zstdPlain, zstdEncrypted, uncompressed]) {
      const before = await readObject(r.storage, jsonKey(backup));
      try {
        const run = await verify(r, backup.id);
        expect(run.exitCode, run.stdout + run.stderr).toBe(0);
        expect(run.json).toMatchObject({ valid: true, status: 'Verified', recorded: true });
        for (const name of ['Objects present', 'Metadata', 'Checksum', 'Decrypt & decompress', 'Files vs manifest']) expect(run.checks[name]?.status, name).toBe('pass');
        expect(run.checks['Files vs manifest']!.message).toMatch(/^\d{3,} files match backup_manifest by size and SHA-256/);
        const recorded = await readBackupJson(r.storage, backup.id);
        expect(recorded.status).toBe('Verified');
        expect(recorded.verification).toMatchObject({ valid: true });
        expect(recorded.verification!.checks.map((c) => c.name)).toEqual(run.json.checks.map((c: { name: string }) => c.name));
      } finally {
        await r.storage.put(jsonKey(backup), before);
      }
    }
  });

  it('prints the check table with a VALID headline without --json', async () => {
    const run = await runCli(['database', 'verify-backup', '--backup-id', zstdPlain.id, '--no-record'], r.env);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain('✓ Backup verification: VALID');
    expect(run.stdout).toMatch(/│ Checksum\s+│ ✓\s+│ SHA-256 of backups\//);
  });

  it('fails the objects check, naming the object, when the data object is deleted', async () => {
    await whileDamaged(r.storage, [dataKey(zstdPlain), jsonKey(zstdPlain)], () => r.storage.delete([dataKey(zstdPlain)]), async () => {
      const run = await verify(r, zstdPlain.id);
      expect(run.exitCode).toBe(INVALID);
      expect(run.checks['Objects present']).toMatchObject({ status: 'fail' });
      expect(run.checks['Objects present']!.message).toContain(`${dataKey(zstdPlain)} is missing`);
      expect(run.json).toMatchObject({ valid: false, status: 'Completed' });
      expect((await readBackupJson(r.storage, zstdPlain.id)).verification).toMatchObject({ valid: false });
    });
  });

  it('fails the objects, checksum and decode checks when the data object is truncated', async () => {
    const key = dataKey(zstdPlain);
    await whileDamaged(r.storage, [key, jsonKey(zstdPlain)], async () => {
      const bytes = await readObject(r.storage, key);
      await r.storage.put(key, bytes.subarray(0, Math.floor(bytes.length / 2)));
    }, async () => {
      const run = await verify(r, zstdPlain.id);
      expect(run.exitCode).toBe(INVALID);
      expect(run.checks['Objects present']!.message).toContain(`${key} is ${Math.floor(zstdPlain.storedSizeBytes / 2)} bytes, the backup recorded ${zstdPlain.storedSizeBytes}`);
      expect(run.checks['Checksum']).toMatchObject({ status: 'fail' });
      expect(run.checks['Decrypt & decompress']).toMatchObject({ status: 'fail' });
      expect(run.checks['Decrypt & decompress']!.message).toContain(key);
    });
  });

  for (const encrypted of [true, false]) {
    it(`fails the checksum and decode checks when one byte in the middle of ${encrypted ? 'an encrypted' : 'a compressed, unencrypted'} object flips`, async () => {
      const backup = encrypted ? zstdEncrypted : zstdPlain;
      const key = dataKey(backup);
      await whileDamaged(r.storage, [key, jsonKey(backup)], async () => {
        const bytes = await readObject(r.storage, key);
        await r.storage.put(key, flipByte(bytes, Math.floor(bytes.length / 2)));
      }, async () => {
        const run = await verify(r, backup.id);
        expect(run.exitCode).toBe(INVALID);
        expect(run.checks['Objects present']).toMatchObject({ status: 'pass' });
        expect(run.checks['Checksum']).toMatchObject({ status: 'fail' });
        expect(run.checks['Checksum']!.message).toContain(`SHA-256 of ${key} is`);
        expect(run.checks['Decrypt & decompress']).toMatchObject({ status: 'fail' });
        expect(run.checks['Decrypt & decompress']!.message).toContain(key);
      });
    });
  }

  it('fails only the manifest check when a data file inside the tar changes and the recorded SHA-256 is rewritten to match', async () => {
    const key = dataKey(uncompressed);
    await whileDamaged(r.storage, [key, jsonKey(uncompressed)], async () => {
      const tar = await readObject(r.storage, key);
      const member = tarMemberOffset(tar, devicesFile);
      const damaged = flipByte(tar, member.offset + 6000);
      await r.storage.put(key, damaged);
      const metadata = await readBackupJson(r.storage, uncompressed.id);
      metadata.sha256 = metadata.objects[0]!.sha256 = sha256(damaged);
      await writeBackupJson(r.storage, metadata);
    }, async () => {
      const run = await verify(r, uncompressed.id);
      expect(run.exitCode).toBe(INVALID);
      const failed = Object.values(run.checks).filter((c) => c.status === 'fail').map((c) => c.name);
      expect(failed).toEqual(['Files vs manifest']);
      expect(run.checks['Files vs manifest']!.message).toContain(`${key}: ${devicesFile}: SHA-256`);
    });
  });

  it('fails the metadata check when backup.json records a wrong start LSN', async () => {
    await whileDamaged(r.storage, [jsonKey(zstdPlain)], async () => {
      const metadata = await readBackupJson(r.storage, zstdPlain.id);
      metadata.startLsn = '0/1000028';
      metadata.startWalSegment = undefined;
      await writeBackupJson(r.storage, metadata);
    }, async () => {
      const run = await verify(r, zstdPlain.id);
      expect(run.exitCode).toBe(INVALID);
      expect(run.checks['Metadata']).toMatchObject({ status: 'fail' });
      expect(run.checks['Metadata']!.message).toContain(`${jsonKey(zstdPlain)}: startLsn 0/1000028 differs from backup_manifest's Start-LSN ${zstdPlain.startLsn}`);
      expect(run.checks['Checksum']).toMatchObject({ status: 'pass' });
    });
  });

  it('fails the metadata check when backup.json records a wrong size', async () => {
    await whileDamaged(r.storage, [jsonKey(zstdPlain)], async () => {
      const metadata = await readBackupJson(r.storage, zstdPlain.id);
      metadata.sizeBytes += 4096;
      await writeBackupJson(r.storage, metadata);
    }, async () => {
      const run = await verify(r, zstdPlain.id);
      expect(run.exitCode).toBe(INVALID);
      expect(run.checks['Metadata']!.message).toContain(`${jsonKey(zstdPlain)}: sizeBytes ${zstdPlain.sizeBytes + 4096} differs from the data object's raw size ${zstdPlain.sizeBytes}`);
    });
  });

  it('warns, not fails, about WAL when the archive holds none and the backup carries its own pg_wal', async () => {
    const before = await readObject(r.storage, jsonKey(zstdPlain));
    try {
      const run = await verify(r, zstdPlain.id);
      expect(run.exitCode).toBe(0);
      expect(run.checks['WAL for consistency']).toMatchObject({ status: 'warn' });
      expect(run.checks['WAL for consistency']!.message).toContain('self-contained');
      expect(run.checks['WAL for PITR']).toMatchObject({ status: 'warn' });
    } finally {
      await r.storage.put(jsonKey(zstdPlain), before);
    }
  });

  it('passes both WAL checks and reports the restorable window when the archive holds an unbroken chain', async () => {
    const before = await readObject(r.storage, jsonKey(zstdPlain));
    try {
      const names = await archiveSegments(r, zstdPlain, 3);
      const run = await verify(r, zstdPlain.id);
      expect(run.exitCode).toBe(0);
      expect(run.checks['WAL for consistency']).toMatchObject({ status: 'pass' });
      expect(run.checks['WAL for PITR']!.message).toContain(`WAL through ${names[names.length - 1]}`);
      expect(run.json.restorableWindow).toMatchObject({ from: zstdPlain.endTime, lastSegment: names[names.length - 1] });
    } finally {
      await clearArchive(r, zstdPlain);
      await r.storage.put(jsonKey(zstdPlain), before);
    }
  });

  it('fails the WAL consistency check, naming the segment, when a segment the backup needs is missing from the archive', async () => {
    const before = await readObject(r.storage, jsonKey(zstdPlain));
    try {
      await archiveSegments(r, zstdPlain, 2);
      const missing = walObjectKey(zstdPlain.systemIdentifier!, zstdPlain.startWalSegment!, 'zstd', false);
      await r.storage.delete([missing]);
      const run = await verify(r, zstdPlain.id);
      expect(run.exitCode).toBe(INVALID);
      expect(run.checks['WAL for consistency']).toMatchObject({ status: 'fail' });
      expect(run.checks['WAL for consistency']!.message).toContain(`wal/${zstdPlain.systemIdentifier}/${zstdPlain.startWalSegment} is missing`);
    } finally {
      await clearArchive(r, zstdPlain);
      await r.storage.put(jsonKey(zstdPlain), before);
    }
  });

  it('fails only the WAL PITR check when a segment after the backup is missing from the archive', async () => {
    const before = await readObject(r.storage, jsonKey(zstdPlain));
    try {
      const names = await archiveSegments(r, zstdPlain, 3);
      const gap = names[names.length - 2]!;
      await r.storage.delete([walObjectKey(zstdPlain.systemIdentifier!, gap, 'zstd', false)]);
      const run = await verify(r, zstdPlain.id);
      expect(run.exitCode).toBe(INVALID);
      expect(run.checks['WAL for consistency']).toMatchObject({ status: 'pass' });
      expect(run.checks['WAL for PITR']).toMatchObject({ status: 'fail' });
      expect(run.checks['WAL for PITR']!.message).toContain(`wal/${zstdPlain.systemIdentifier}/${gap} is missing`);
    } finally {
      await clearArchive(r, zstdPlain);
      await r.storage.put(jsonKey(zstdPlain), before);
    }
  });

  it('shows the last verification, the restorable window and the repository split data/WAL in backup-stats and list-backups --stats', async () => {
    const before = await readObject(r.storage, jsonKey(zstdPlain));
    try {
      const names = await archiveSegments(r, zstdPlain, 2);
      const verified = await verify(r, zstdPlain.id);
      expect(verified.exitCode).toBe(0);
      const stats = await runCli(['database', 'backup-stats', '-d', 'llm_analytics', '--json'], r.env);
      expect(stats.exitCode, stats.stderr).toBe(0);
      expect(stats.json.stats.totalBackups).toBe(3);
      expect(stats.json.walObjects).toBe(names.length);
      expect(stats.json.walBytes).toBe(names.reduce((sum, name) => sum + `segment ${name}`.length, 0));
      expect(stats.json.dataBytes).toBeGreaterThan(zstdPlain.storedSizeBytes + uncompressed.storedSizeBytes);
      const entry = stats.json.backups.find((b: { id: string }) => b.id === zstdPlain.id);
      expect(entry).toMatchObject({ status: 'Verified', lastVerified: verified.json.time, lastVerificationValid: true, restorableWindow: { from: zstdPlain.endTime, lastSegment: names[names.length - 1] } });
      const list = await runCli(['database', 'list-backups', '-d', 'llm_analytics', '--stats'], r.env);
      expect(list.exitCode).toBe(0);
      expect(list.stdout).toMatch(new RegExp(`Archived WAL\\s+│ \\d+ B in ${names.length} objects`));
      expect(list.stdout).toMatch(new RegExp(`${zstdPlain.id} │ Verified\\s+│ ${verified.json.time.replace(/\./g, '\\.')}`));
    } finally {
      await clearArchive(r, zstdPlain);
      await r.storage.put(jsonKey(zstdPlain), before);
    }
  });

  it('writes nothing to the repository but backup.json', async () => {
    const snapshot = async () => {
      const objects: string[] = [];
      for await (const object of r.storage.list('')) if (!object.key.endsWith('/backup.json')) objects.push(`${object.key}:${object.size}`);
      return objects;
    };
    const before = await snapshot();
    const run = await runCli(['database', 'verify-backup', '--all', '-d', 'llm_analytics', '--json'], r.env);
    expect(run.exitCode).toBe(0);
    expect(run.json.summary).toEqual({ total: 3, valid: 3, invalid: 0, couldNotCheck: 0 });
    expect(await snapshot()).toEqual(before);
  });
});

describe('verify-backup when it cannot check', () => {
  it('exits with the storage code (6), not the invalid code, when the repository is unreachable', async () => {
    const run = await runCli(['database', 'verify-backup', '--backup-id', 'backup-llm_analytics-20261125T120000Z-1a2b3c', '--json'], {
      BACKUP_REPO: 's3://nowhere/prefix', AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_REGION: 'us-east-1',
    });
    expect(run.exitCode).toBe(6);
    expect(run.json.error.code).toBe('STORAGE_UNREACHABLE');
  });

  it('reports the decode check as "could not check" with exit 8 when the encryption key is missing', async () => {
    const r = repo('fs', 'nokey');
    const backup = await takeBackup(r, 'zstd', true);
    const { BACKUP_ENCRYPTION_PASSPHRASE: _, ...noKey } = r.env;
    const run = await runCli(['database', 'verify-backup', '--backup-id', backup.id, '--json'], noKey);
    expect(run.exitCode).toBe(8);
    expect(run.json).toMatchObject({ valid: false, recorded: false, couldNotCheck: { code: 'ENCRYPTION_KEY_MISSING' } });
    expect(run.json.checks.find((c: { name: string }) => c.name === 'Checksum')).toMatchObject({ status: 'pass' });
  });
});

describe('verify-backup --test-restore and pg_verifybackup', () => {
  let r: Repo;
  let uncompressed: BackupMetadata;
  beforeAll(async () => {
    r = repo('fs', 'restore');
    uncompressed = await takeBackup(r, 'none', false);
  });

  async function leftovers(dir: string): Promise<{ entries: string[]; processes: string[] }> {
    const { stdout } = await execFileAsync('ps', ['-eo', 'args']);
    return { entries: await readdir(dir), processes: stdout.split('\n').filter((line) => line.includes(dir)) };
  }

  it('restores an intact backup into a scratch directory, reads every table, and leaves no directory or process', async () => {
    const dir = `${scratch.path}/test-restore-intact`;
    await mkdir(dir);
    if (runsAsRoot()) await execFileAsync('chown', ['postgres', dir]);
    const run = await verify(r, uncompressed.id, ['--test-restore', '--scratch-dir', dir]);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.checks['Test restore']).toMatchObject({ status: 'pass' });
    expect(run.checks['Test restore']!.message).toMatch(/\d+ tables \(\d+ rows\) read in full/);
    expect(run.json.testRestore).toMatchObject({ cleanedUp: true, tableCount: uncompressed.tableCount });
    expect(run.json.testRestore.rowsScanned).toBeGreaterThanOrEqual(22_100);
    expect(await leftovers(dir)).toEqual({ entries: [], processes: [] });
  });

  it('fails the test restore of a backup with a damaged table page and still removes everything', async () => {
    const dir = `${scratch.path}/test-restore-corrupt`;
    await mkdir(dir);
    if (runsAsRoot()) await execFileAsync('chown', ['postgres', dir]);
    const key = uncompressed.objects[0]!.key;
    await whileDamaged(r.storage, [key, `backups/${uncompressed.id}/backup.json`], async () => {
      const tar = await readObject(r.storage, key);
      const damaged = flipByte(tar, tarMemberOffset(tar, devicesFile).offset + 6000);
      await r.storage.put(key, damaged);
      const metadata = await readBackupJson(r.storage, uncompressed.id);
      metadata.sha256 = metadata.objects[0]!.sha256 = sha256(damaged);
      await writeBackupJson(r.storage, metadata);
    }, async () => {
      const run = await verify(r, uncompressed.id, ['--test-restore', '--scratch-dir', dir]);
      expect(run.exitCode).toBe(INVALID);
      expect(run.checks['Test restore']).toMatchObject({ status: 'fail' });
      expect(run.checks['Test restore']!.message).toMatch(/checksum|invalid page/i);
      expect(run.json.testRestore).toMatchObject({ cleanedUp: true });
      expect(await leftovers(dir)).toEqual({ entries: [], processes: [] });
    });
  });

  it('removes the scratch directory and stops the server when the test restore is interrupted with Ctrl-C', async () => {
    const dir = `${scratch.path}/test-restore-interrupted`;
    await mkdir(dir);
    if (runsAsRoot()) await execFileAsync('chown', ['postgres', dir]);
    const child = spawn(CLI, ['database', 'verify-backup', '--backup-id', uncompressed.id, '--test-restore', '--scratch-dir', dir, '--json'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...r.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    // Interrupt once PostgreSQL is running on the scratch data directory (its postmaster.pid exists).
    const deadline = Date.now() + 120_000;
    let started = false;
    while (!started && Date.now() < deadline) {
      const [entry] = await readdir(dir);
      started = entry !== undefined && (await readdir(`${dir}/${entry}`).catch((): string[] => [])).includes('postmaster.pid');
      if (!started) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(started).toBe(true);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(JSON.parse(stdout).error.code).toBe('CANCELLED');
    expect(await leftovers(dir)).toEqual({ entries: [], processes: [] });
  });

  it('agrees with pg_verifybackup on the intact backup and on a damaged data file', async () => {
    const key = uncompressed.objects[0]!.key;
    const pgVerify = async (tar: Buffer, name: string) => {
      const dir = `${scratch.path}/pgverify-${name}`;
      await mkdir(dir, { recursive: true });
      const tarFile = `${scratch.path}/pgverify-${name}.tar`;
      await import('node:fs/promises').then((fs) => fs.writeFile(tarFile, tar));
      await execFileAsync('tar', ['-x', '-f', tarFile, '-C', dir]);
      const result = await execFileAsync('/usr/lib/postgresql/15/bin/pg_verifybackup', ['-n', dir]).then(
        (ok) => ({ code: 0, output: ok.stdout + ok.stderr }),
        (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, output: error.stdout + error.stderr }),
      );
      await rm(dir, { recursive: true, force: true });
      await rm(tarFile, { force: true });
      return result;
    };
    const intact = await readObject(r.storage, key);
    const ours = await verify(r, uncompressed.id, ['--no-record']);
    const theirs = await pgVerify(intact, 'intact');
    expect({ ours: ours.checks['Files vs manifest']!.status, theirs: theirs.code }).toEqual({ ours: 'pass', theirs: 0 });

    const damaged = flipByte(intact, tarMemberOffset(intact, devicesFile).offset + 6000);
    await whileDamaged(r.storage, [key, `backups/${uncompressed.id}/backup.json`], async () => {
      await r.storage.put(key, damaged);
      const metadata = await readBackupJson(r.storage, uncompressed.id);
      metadata.sha256 = metadata.objects[0]!.sha256 = sha256(damaged);
      await writeBackupJson(r.storage, metadata);
    }, async () => {
      const ours = await verify(r, uncompressed.id, ['--no-record']);
      const theirs = await pgVerify(damaged, 'damaged');
      expect(ours.checks['Files vs manifest']!.status).toBe('fail');
      expect(theirs.code).not.toBe(0);
      expect(theirs.output).toContain(`checksum mismatch for file "${devicesFile}"`);
      expect(ours.checks['Files vs manifest']!.message).toContain(devicesFile);
    });
  });
});
