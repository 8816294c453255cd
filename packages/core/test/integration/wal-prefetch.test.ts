import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import { FsStorage } from '../../src/storage/fs.js';
import { prefetchSegments } from '../../src/wal/walPrefetch.js';
import { clearSpool, takeSpooledSegment, writeWanted } from '../../src/wal/walSpool.js';
import { walPush } from '../../src/wal/walPush.js';

/** The prefetcher engine on a local repository: what it spools, when it stops, what it refuses. */
const SYSTEM_ID = '7322222222222222222';
const MIB = 1024 * 1024;
let dir: string;
let storage: FsStorage;
const contents = new Map<string, Buffer>();
const config = () => resolveConfig({ repo: join(dir, 'repo') }, { BACKUP_ENCRYPTION_PASSPHRASE: 'engine test passphrase' });
const name = (n: number) => `000000010000000000000${n.toString(16).toUpperCase().padStart(3, '0')}`;
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const entries = async (spool: string) => (await readdir(spool)).filter((entry) => /^[0-9A-F]{24}\./.test(entry)).sort();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wal-prefetch-'));
  storage = new FsStorage(join(dir, 'repo'));
  await mkdir(join(dir, 'pg_wal'));
  for (let n = 1; n <= 10; n++) {
    const bytes = randomBytes(MIB);
    contents.set(name(n), bytes);
    await writeFile(join(dir, 'pg_wal', name(n)), bytes);
    await walPush({ config: config(), path: join(dir, 'pg_wal', name(n)), pgdata: dir, systemIdentifier: SYSTEM_ID }, { storage });
  }
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function freshSpool(label: string): Promise<string> {
  const spool = join(dir, `spool-${label}`);
  await mkdir(spool);
  return spool;
}

describe('prefetchSegments', () => {
  it('spools the segments after the one asked for, named by the SHA-256 of the repository bytes, and stops at the end of the archive', async () => {
    const spool = await freshSpool('end');
    await writeWanted(spool, { fileName: name(7), segmentSize: MIB });
    const summary = await prefetchSegments({ config: config(), systemIdentifier: SYSTEM_ID, spoolDir: spool, depth: 8, tickMs: 5, idleMs: 200 }, { storage });
    expect(summary).toMatchObject({ ran: true, stoppedBecause: 'end of archive', endOfArchive: name(11), failures: [] });
    expect(await entries(spool)).toEqual([8, 9, 10].map((n) => `${name(n)}.${sha(contents.get(name(n))!)}`));
    expect(await readdir(spool)).not.toContain('lock');
  });

  it('follows PostgreSQL: entries behind the new request are deleted, the ones after it fetched', async () => {
    const spool = await freshSpool('follow');
    await writeWanted(spool, { fileName: name(1), segmentSize: MIB });
    const running = prefetchSegments({ config: config(), systemIdentifier: SYSTEM_ID, spoolDir: spool, depth: 3, tickMs: 5, idleMs: 60_000 }, { storage });
    await until(async () => (await entries(spool)).length === 3);
    expect((await entries(spool)).map((entry) => entry.slice(0, 24))).toEqual([2, 3, 4].map(name));
    // A second prefetcher on the same spool does not start.
    expect(await prefetchSegments({ config: config(), systemIdentifier: SYSTEM_ID, spoolDir: spool, depth: 3 }, { storage })).toMatchObject({ ran: false });

    await writeWanted(spool, { fileName: name(5), segmentSize: MIB });
    await until(async () => (await entries(spool)).map((entry) => entry.slice(0, 24)).join() === [6, 7, 8].map(name).join());
    const destination = join(dir, 'taken');
    expect(await takeSpooledSegment(spool, name(6), destination)).toBe(MIB);
    expect(sha(await readFile(destination))).toBe(sha(contents.get(name(6))!));

    // Clearing the spool (the end of recovery) stops the prefetcher.
    await clearSpool(spool);
    expect(await running).toMatchObject({ stoppedBecause: 'spool cleared', failures: [] });
  });

  it('spools nothing from objects it cannot authenticate (wrong key), and stops after three failures', async () => {
    const spool = await freshSpool('wrong-key');
    await writeWanted(spool, { fileName: name(1), segmentSize: MIB });
    const wrong = resolveConfig({ repo: join(dir, 'repo') }, { BACKUP_ENCRYPTION_PASSPHRASE: 'not the key' });
    const reports: string[] = [];
    const summary = await prefetchSegments({ config: wrong, systemIdentifier: SYSTEM_ID, spoolDir: spool, depth: 4, tickMs: 5 }, { storage, report: (message) => reports.push(message) });
    expect(summary.stoppedBecause).toBe('failures');
    // Two segments are fetched at a time, so the failures may be reported in either order.
    expect(reports.length).toBeGreaterThanOrEqual(3);
    for (const report of reports) expect(report).toMatch(/^prefetch of [0-9A-F]{24} failed: ENCRYPTION_KEY_WRONG/);
    expect(reports.some((report) => report.startsWith(`prefetch of ${name(2)} failed`))).toBe(true);
    expect(reports.join('\n')).not.toContain('not the key');
    expect(await entries(spool)).toEqual([]);
  });
});

async function until(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
