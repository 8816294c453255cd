import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { backup } from '../../src/backup/backup.js';
import { resolveConfig, type ResolvedConfig } from '../../src/config/resolve.js';
import { LocalHost } from '../../src/host/local.js';
import { lookupOsUser, runsAsRoot } from '../../src/host/osUser.js';
import type { ProgressEvent } from '../../src/progress.js';
import { openStorage } from '../../src/storage/repository.js';
import type { Storage } from '../../src/storage/storage.js';
import type { BackupMetadata, VerificationCheck } from '../../src/types/metadata.js';
import { CHECK_ORDER } from '../../src/verify/checks.js';
import { verifyBackup, type VerifyResult } from '../../src/verify/verify.js';
import { startCluster, type Cluster } from '../../test-support/pgCluster.js';
import { loadSampleData } from '../../test-support/sampleData.js';

/**
 * verifyBackup's check sink (`deps.onCheck`): what the TUI's table and the API's `check` events
 * are drawn from. Each row arrives once, top to bottom, while the rest still runs, and the rows
 * handed out are exactly the result's — on an intact backup with a test restore, and on runs that
 * end early.
 */
let cluster: Cluster;
let scratch: string;
let config: ResolvedConfig;
let storage: Storage;
let metadata: BackupMetadata;
const host = new LocalHost();

beforeAll(async () => {
  cluster = await startCluster();
  await loadSampleData(cluster, { rows: 2_000 });
  scratch = await mkdtemp(join(tmpdir(), 'verify-check-sink-'));
  // The test restore runs as postgres and makes its data directory inside scratch/restores.
  const restores = join(scratch, 'restores');
  await mkdir(restores);
  await chmod(scratch, 0o755);
  if (runsAsRoot()) await chown(restores, lookupOsUser('postgres').uid, lookupOsUser('postgres').gid);
  config = resolveConfig({ repo: join(scratch, 'repo'), database: 'llm_analytics', pgHost: '127.0.0.1', pgPort: cluster.port, pgUser: 'postgres', compression: 'zstd', encryption: false }, {});
  storage = openStorage(config.repository);
  metadata = (await backup({ config, type: 'Full' }, { storage, host })).metadata;
});
afterAll(async () => {
  await cluster?.destroy();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Runs verify and keeps one timeline of what it reported: check rows and progress events. */
async function verifyWithTimeline(options: { testRestore?: boolean } = {}) {
  const timeline: ({ kind: 'check'; check: VerificationCheck; backupId: string } | { kind: 'progress'; event: ProgressEvent })[] = [];
  const result: VerifyResult = await verifyBackup(
    { config, backupId: metadata.id, testRestore: options.testRestore, scratchDir: join(scratch, 'restores'), record: false },
    { storage, host, progress: (event) => timeline.push({ kind: 'progress', event }), onCheck: (check, backupId) => timeline.push({ kind: 'check', check, backupId }) },
  );
  const checks = timeline.flatMap((entry) => (entry.kind === 'check' ? [entry.check] : []));
  const at = (predicate: (entry: (typeof timeline)[number]) => boolean) => timeline.findIndex(predicate);
  return { result, timeline, checks, at };
}

describe('verifyBackup reports each check row as it is decided', () => {
  test('an intact backup with a test restore: the rows arrive in table order, each once, equal to result.checks, before the work after them', async () => {
    const { result, timeline, checks, at } = await verifyWithTimeline({ testRestore: true });
    expect(result.valid).toBe(true);
    expect(checks).toEqual(result.checks);
    expect(checks.map((check) => check.name)).toEqual([...CHECK_ORDER]);
    expect(timeline.every((entry) => entry.kind !== 'check' || entry.backupId === metadata.id)).toBe(true);

    const objectsRow = at((e) => e.kind === 'check' && e.check.name === 'Objects present');
    const reading = at((e) => e.kind === 'progress' && /^Reading /.test(e.event.message ?? ''));
    const walPitrRow = at((e) => e.kind === 'check' && e.check.name === 'WAL for PITR');
    const testRestoreStarts = at((e) => e.kind === 'progress' && e.event.phase === 'test-restore');
    const testRestoreRow = at((e) => e.kind === 'check' && e.check.name === 'Test restore');
    expect(objectsRow).toBeGreaterThanOrEqual(0);
    expect(objectsRow).toBeLessThan(reading);
    expect(walPitrRow).toBeLessThan(testRestoreStarts);
    expect(testRestoreRow).toBeGreaterThan(testRestoreStarts);
    expect(result.checks.at(-1)).toMatchObject({ name: 'Test restore', status: 'pass' });
    expect(result.testRestore?.cleanedUp).toBe(true);
    expect(await readdir(join(scratch, 'restores'))).toEqual([]);
  });

  test('an abort during the test restore: the rows decided so far were handed out, the scratch data is removed, then CANCELLED', async () => {
    const restores = join(scratch, 'restores');
    const controller = new AbortController();
    const checks: VerificationCheck[] = [];
    const run = verifyBackup(
      { config, backupId: metadata.id, testRestore: true, scratchDir: restores, record: false, signal: controller.signal },
      { storage, host, onCheck: (check) => checks.push(check) },
    );
    // Abort once PostgreSQL runs on the scratch data directory (its postmaster.pid exists).
    const until = Date.now() + 120_000;
    for (;;) {
      const [entry] = await readdir(restores);
      if (entry && (await readdir(join(restores, entry)).catch((): string[] => [])).includes('postmaster.pid')) break;
      if (Date.now() > until) throw new Error('the test restore never started a server');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    controller.abort();
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED', message: 'The verification was cancelled during the test restore.', testRestore: { cleanedUp: true } });
    expect(checks.map((check) => check.name)).toEqual(CHECK_ORDER.slice(0, -1));
    expect(await readdir(restores)).toEqual([]);
  });

  test('a missing data object: the failed and skipped rows are handed out exactly as the result has them', async () => {
    const object = join(scratch, 'repo', metadata.objects[0]!.key);
    await rename(object, `${object}.away`);
    try {
      const { result, checks } = await verifyWithTimeline();
      expect(result.valid).toBe(false);
      expect(checks).toEqual(result.checks);
      expect(checks[0]).toMatchObject({ name: 'Objects present', status: 'fail', message: expect.stringContaining(metadata.objects[0]!.key) });
      expect(checks.find((check) => check.name === 'Checksum')).toMatchObject({ status: 'skip' });
    } finally {
      await rename(`${object}.away`, object);
    }
  });

  test('an unparsable backup.json: the one Metadata row is handed out once', async () => {
    const file = join(scratch, 'repo', 'backups', metadata.id, 'backup.json');
    const original = await readFile(file);
    await writeFile(file, '{"formatVersion": 1, "id": 42}');
    try {
      const { result, checks } = await verifyWithTimeline();
      expect(result.checks).toHaveLength(1);
      expect(checks).toEqual(result.checks);
      expect(checks[0]).toMatchObject({ name: 'Metadata', status: 'fail' });
    } finally {
      await writeFile(file, original);
    }
  });
});
