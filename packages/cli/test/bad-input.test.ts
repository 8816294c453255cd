import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, stopClusterAt, trackDataDirectory, type Cluster } from '../../core/test-support/pgCluster.js';
import { loadSampleData } from '../../core/test-support/sampleData.js';
import { createTestBucket, type TestBucket } from '../../core/test-support/s3Server.js';
import { freePort, runCli, scratchDir } from './support/runCli.js';

/**
 * Every bad input is a clear error with a stable code and a distinct exit code, and nothing is
 * written where it should not be. Secrets never show up in what the CLI prints.
 */
const PASSPHRASE = 'the right passphrase 1234';
const DB_PASSWORD = 'db-password-never-shown';
let cluster: Cluster;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let bucket: TestBucket;
let repo: string;
let env: Record<string, string>;
let backupId: string;

beforeAll(async () => {
  cluster = await startCluster();
  await loadSampleData(cluster, { rows: 2_000 });
  scratch = await scratchDir('cli-bad-');
  bucket = await createTestBucket();
  repo = join(scratch.path, 'repo');
  env = { ...cluster.env, BACKUP_REPO: repo, BACKUP_ENCRYPTION_PASSPHRASE: PASSPHRASE };
  const made = await runCli(['database', 'backup', '--json'], env);
  expect(made.exitCode).toBe(0);
  backupId = made.json.id;
});
afterAll(async () => {
  await bucket?.cleanup();
  await cluster?.destroy();
  await scratch?.remove();
});

function expectError(run: Awaited<ReturnType<typeof runCli>>, code: string, exitCode: number, mentions?: string) {
  expect(run.json?.error?.code, run.stdout + run.stderr).toBe(code);
  expect(run.exitCode).toBe(exitCode);
  expect(run.json.error.message.length).toBeGreaterThan(10);
  expect(run.json.error.hint).toBeTruthy();
  if (mentions) expect(run.json.error.message).toContain(mentions);
}

async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true }).catch(() => [])).map(String).sort();
}

describe('restore refuses bad input and changes nothing', () => {
  it('an unknown backup id is BACKUP_NOT_FOUND (exit 4)', async () => {
    const target = join(scratch.path, 'unknown-id');
    const run = await runCli(['database', 'restore', '--backup-id', 'backup-llm_analytics-20200101T000000Z-abcdef', '--pgdata', target, '--force', '--json'], env);
    expectError(run, 'BACKUP_NOT_FOUND', 4, 'backup-llm_analytics-20200101T000000Z-abcdef');
    expect(await filesUnder(target)).toEqual([]);
  });

  it.each(['../../etc', 'backup-abc', 'backup-llm_analytics-20261125T120000Z-zzzzzz'])('a malformed backup id %j is INVALID_BACKUP_ID (exit 2)', async (id) => {
    const run = await runCli(['database', 'restore', '--backup-id', id, '--pgdata', join(scratch.path, 'malformed'), '--force', '--json'], env);
    expectError(run, 'INVALID_BACKUP_ID', 2);
  });

  it('a non-empty target directory is TARGET_NOT_EMPTY without --force, and its files stay', async () => {
    const target = join(scratch.path, 'occupied');
    await runCli(['database', 'restore', '--pgdata', target, '--no-start', '--force', '--json'], env); // make it non-empty
    await writeFile(join(target, 'keep-me'), 'precious');
    const before = await filesUnder(target);
    const run = await runCli(['database', 'restore', '--pgdata', target, '--json'], env);
    expectError(run, 'TARGET_NOT_EMPTY', 5, target);
    expect(await filesUnder(target)).toEqual(before);
  });

  it('without --force and without a terminal it asks for nothing and refuses (exit 3)', async () => {
    const target = join(scratch.path, 'no-tty');
    const run = await runCli(['database', 'restore', '--pgdata', target, '--json'], env);
    expectError(run, 'CONFIRMATION_REQUIRED', 3);
    expect(await filesUnder(target)).toEqual([]);
  });

  it('a wrong encryption key is ENCRYPTION_KEY_WRONG (exit 8) and leaves no data directory', async () => {
    const target = join(scratch.path, 'wrong-key');
    const run = await runCli(['database', 'restore', '--pgdata', target, '--force', '--no-start', '--json'], { ...env, BACKUP_ENCRYPTION_PASSPHRASE: 'not the passphrase' });
    expectError(run, 'ENCRYPTION_KEY_WRONG', 8);
    expect(await filesUnder(target)).toEqual([]);
    expect(run.stdout + run.stderr).not.toContain('not the passphrase');
  });

  it('a byte flipped in the stored object is an error (exit 9) and leaves no data directory', async () => {
    const plainRepo = join(scratch.path, 'plain-repo');
    const made = await runCli(['database', 'backup', '--no-encryption', '--compression', 'none', '--json'], { ...env, BACKUP_REPO: plainRepo });
    expect(made.exitCode).toBe(0);
    const dataFile = join(plainRepo, made.json.objects[0].key);
    const bytes = await readFile(dataFile);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x20;
    await writeFile(dataFile, bytes);
    const target = join(scratch.path, 'flipped');
    await trackDataDirectory(target).catch(() => {});
    const run = await runCli(['database', 'restore', '--pgdata', target, '--force', '--port', String(await freePort()), '--json'], { ...env, BACKUP_REPO: plainRepo });
    await stopClusterAt(target).catch(() => {});
    expectError(run, 'CHECKSUM_MISMATCH', 9);
    expect(await filesUnder(target)).toEqual([]);
  });
});

describe('backup refuses bad input and records nothing complete', () => {
  it('a bad repository URL is INVALID_REPOSITORY (exit 2)', async () => {
    for (const url of ['http://example.com/x', 's3://', 'file://host/path']) {
      const run = await runCli(['database', 'backup', '--repo', url, '--json'], env);
      expectError(run, 'INVALID_REPOSITORY', 2);
    }
  });

  it('an unreachable database is DATABASE_UNREACHABLE (exit 7), and the password is never shown', async () => {
    const repoDir = join(scratch.path, 'unreachable-repo');
    const run = await runCli(['database', 'backup', '--json'], { ...env, BACKUP_REPO: repoDir, PGPORT: String(await freePort()), PGPASSWORD: DB_PASSWORD });
    expectError(run, 'DATABASE_UNREACHABLE', 7);
    expect(run.stdout + run.stderr).not.toContain(DB_PASSWORD);
    expect((await filesUnder(repoDir)).filter((f) => f.endsWith('backup.json'))).toEqual([]);
  });

  it('encryption without a key is ENCRYPTION_KEY_MISSING (exit 8), before anything is written', async () => {
    const repoDir = join(scratch.path, 'no-key-repo');
    const run = await runCli(['database', 'backup', '--json'], { ...env, BACKUP_REPO: repoDir, BACKUP_ENCRYPTION_PASSPHRASE: undefined });
    expectError(run, 'ENCRYPTION_KEY_MISSING', 8);
    expect(await filesUnder(repoDir)).toEqual([]);
  });

  it('wrong S3 credentials are STORAGE_ACCESS_DENIED (exit 6), and the secret key is never shown', async () => {
    const secret = 'wrong-secret-key-XYZ123';
    const run = await runCli(['database', 'backup', '--json'], {
      ...env,
      BACKUP_REPO: `s3://${bucket.bucket}/x`,
      AWS_ENDPOINT_URL: bucket.env.AWS_ENDPOINT_URL,
      AWS_ACCESS_KEY_ID: bucket.env.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: secret,
    });
    expectError(run, 'STORAGE_ACCESS_DENIED', 6);
    expect(run.stdout + run.stderr).not.toContain(secret);
  });

  it('a missing bucket is STORAGE_BUCKET_MISSING (exit 6) naming the bucket', async () => {
    const run = await runCli(['database', 'backup', '--json'], {
      ...env,
      BACKUP_REPO: 's3://no-such-bucket-here/x',
      AWS_ENDPOINT_URL: bucket.env.AWS_ENDPOINT_URL,
      AWS_ACCESS_KEY_ID: bucket.env.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: bucket.env.AWS_SECRET_ACCESS_KEY,
    });
    expectError(run, 'STORAGE_BUCKET_MISSING', 6, 'no-such-bucket-here');
  });

  it('prints the error as one line with a hint without --json', async () => {
    const run = await runCli(['database', 'restore', '--backup-id', 'nope', '--pgdata', join(scratch.path, 'x'), '--force'], env);
    expect(run.exitCode).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^error \[INVALID_BACKUP_ID\]: .+\nhint: .+\n$/);
  });
});

describe('the backup it made', () => {
  it('records no secret in its metadata', async () => {
    const metadata = await readFile(join(repo, 'backups', backupId, 'backup.json'), 'utf8');
    expect(metadata).not.toContain(PASSPHRASE);
    expect(JSON.parse(metadata)).toMatchObject({ id: backupId, status: 'Completed', encrypted: true });
  });
});
