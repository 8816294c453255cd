import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, readdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { open, readFile, rename, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * The wal-fetch prefetch spool: segments a background prefetcher has already downloaded, decoded,
 * checked and synced, waiting for PostgreSQL to ask for them. It only ever holds copies of what
 * the repository holds; anything in doubt is deleted and fetched again from the repository.
 *
 * Layout (default root: `.llm-analytics-prefetch` beside %p, i.e. inside pg_wal, where PostgreSQL
 * ignores anything that is not named like a WAL file, and pg_basebackup copies nothing):
 *
 *   <root>/<key>/                 key: 16 hex of SHA-256(repository, system identifier)
 *     <segment>.<sha256 hex>      a complete segment; the name carries the SHA-256 of its bytes
 *     <segment>.<pid>.tmp         being written by the prefetcher with that pid
 *     wanted                      "<segment> <segment size>": the segment PostgreSQL asked for last
 *     lock                        "<pid>": the one running prefetcher (refreshed while it runs)
 *     prefetch.log                the prefetcher's last errors
 *
 * Node built-ins only: this module is the whole of a wal-fetch served from the spool, whose file
 * operations are synchronous (a short-lived process: no thread-pool round trips).
 */
export const DEFAULT_PREFETCH_DEPTH = 8;
export const MAX_PREFETCH_DEPTH = 64;
export const SPOOL_DIR_NAME = '.llm-analytics-prefetch';
/** An entry older than this is not served (a spool left behind by a crashed earlier recovery). */
export const SPOOL_ENTRY_MAX_AGE_MS = 60 * 60 * 1000;
/** A prefetcher refreshes its lock about every second; one not refreshed for this long is gone. */
const LOCK_STALE_MS = 30_000;

const SEGMENT = /^[0-9A-F]{24}$/;
const ENTRY = /^([0-9A-F]{24})\.([0-9a-f]{64})$/;
const TEMPORARY = /^([0-9A-F]{24})\.(\d+)\.tmp$/;

/** Where the spools live: `--spool DIR`, or `.llm-analytics-prefetch` beside the destination. */
export function spoolRoot(destination: string, explicit?: string): string {
  return explicit ?? join(dirname(destination), SPOOL_DIR_NAME);
}

/**
 * One repository's segments of one cluster get their own directory: a spool shared by clusters
 * or left by a restore from another repository is never read for this one. `repository` is what
 * names the repository to this process (flags and environment as given: PostgreSQL runs every
 * restore_command with the same ones; a different spelling only means a different spool).
 */
export function spoolDirectory(root: string, repository: string, systemIdentifier: string): string {
  const key = createHash('sha256').update(`${repository}\0${systemIdentifier}`).digest('hex').slice(0, 16);
  return join(root, key);
}

/**
 * The system identifier from pg_control's first 8 bytes (little-endian), as postgres/controlFile
 * reads it but without loading its checks: wal-fetch served from the spool needs only a key.
 */
export async function quickSystemIdentifier(pgdata: string): Promise<string | undefined> {
  const bytes = await readFile(join(pgdata, 'global', 'pg_control')).catch(() => undefined);
  return bytes && bytes.length >= 8 ? bytes.readBigUInt64LE(0).toString() : undefined;
}

export function isSpoolableName(fileName: string): boolean {
  // .history, .partial and .backup files are fetched directly: only segments come in sequence.
  return SEGMENT.test(fileName);
}

/** A power of two from 1 MiB to 1 GiB (IsValidWalSegSize): what a whole segment's size can be. */
export function isWalSegmentSize(size: number): boolean {
  return Number.isInteger(size) && size >= 1 << 20 && size <= 1 << 30 && (size & (size - 1)) === 0;
}

/**
 * Whether PostgreSQL asking for `fileName` follows the prefetcher's window: the same timeline and
 * 1..depth segments after the one asked for last. Only then can the spool hold it.
 */
export function isInWindow(previous: Wanted, fileName: string, depth: number): boolean {
  if (!SEGMENT.test(fileName) || fileName.slice(0, 8) !== previous.fileName.slice(0, 8)) return false;
  const perLogId = 2 ** 32 / previous.segmentSize;
  const number = (name: string) => Number.parseInt(name.slice(8, 16), 16) * perLogId + Number.parseInt(name.slice(16), 16);
  const distance = number(fileName) - number(previous.fileName);
  return distance >= 1 && distance <= depth;
}

export interface SpoolEntries {
  /** Complete entries: segment name → file name in the spool. */
  complete: Map<string, string>;
  /** Entries being written: segment name → temporary file names. */
  writing: Map<string, string[]>;
}

export async function readSpool(dir: string): Promise<SpoolEntries | undefined> {
  return readSpoolNow(dir);
}

function readSpoolNow(dir: string): SpoolEntries | undefined {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  const entries: SpoolEntries = { complete: new Map(), writing: new Map() };
  for (const name of names) {
    const complete = ENTRY.exec(name);
    if (complete) entries.complete.set(complete[1]!, name);
    const temporary = TEMPORARY.exec(name);
    if (temporary) entries.writing.set(temporary[1]!, [...(entries.writing.get(temporary[1]!) ?? []), name]);
  }
  return entries;
}

export interface TakeOptions {
  /** How long to wait for a segment the prefetcher is writing right now. */
  waitMs?: number;
  maxAgeMs?: number;
  now?: () => number;
}

/**
 * Moves a spooled segment to `destination` after checking its bytes against the SHA-256 its name
 * records. Returns its size, or undefined when the spool cannot answer (no entry, a damaged or
 * too old entry — deleted —, or anything unexpected): the caller then fetches from the repository.
 */
export async function takeSpooledSegment(dir: string, fileName: string, destination: string, options: TakeOptions = {}): Promise<number | undefined> {
  const now = options.now ?? Date.now;
  const deadline = now() + (options.waitMs ?? 15_000);
  for (;;) {
    const entries = readSpoolNow(dir);
    if (!entries) return undefined;
    const entry = entries.complete.get(fileName);
    if (entry) return serveEntry(join(dir, entry), entry, destination, options.maxAgeMs ?? SPOOL_ENTRY_MAX_AGE_MS, now);
    if (!entries.writing.has(fileName) || now() > deadline || !(await prefetcherAlive(dir, now))) return undefined;
    await sleep(5);
  }
}

async function serveEntry(path: string, entry: string, destination: string, maxAgeMs: number, now: () => number): Promise<number | undefined> {
  try {
    const fd = openSync(path, 'r');
    let bytes: Buffer;
    let modified: number;
    try {
      modified = fstatSync(fd).mtimeMs;
      bytes = readFileSync(fd);
    } finally {
      closeSync(fd);
    }
    const recorded = ENTRY.exec(entry)![2];
    if (now() - modified > maxAgeMs || createHash('sha256').update(bytes).digest('hex') !== recorded) {
      await unlink(path).catch(() => {});
      return undefined;
    }
    try {
      renameSync(path, destination);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      // --spool on another file system: write the checked bytes as a direct fetch does.
      await writeSynced(`${destination}.tmp`, bytes);
      await rename(`${destination}.tmp`, destination);
      unlinkSync(path);
    }
    return bytes.length;
  } catch {
    return undefined;
  }
}

async function writeSynced(path: string, bytes: Buffer): Promise<void> {
  const handle = await open(path, 'w', 0o600);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface Wanted {
  fileName: string;
  segmentSize: number;
}

/** Tells the prefetcher which segment PostgreSQL asked for last: it keeps the ones after it ready. */
export async function writeWanted(dir: string, wanted: Wanted): Promise<void> {
  const temporary = join(dir, `wanted.${process.pid}`);
  writeFileSync(temporary, `${wanted.fileName} ${wanted.segmentSize}\n`, { mode: 0o600 });
  renameSync(temporary, join(dir, 'wanted'));
}

export async function readWanted(dir: string): Promise<Wanted | undefined> {
  let text = '';
  try {
    text = readFileSync(join(dir, 'wanted'), 'utf8');
  } catch {
    return undefined;
  }
  const [fileName, size] = text.trim().split(' ');
  if (!fileName || !SEGMENT.test(fileName) || !isWalSegmentSize(Number(size))) return undefined;
  return { fileName, segmentSize: Number(size) };
}

/** Whether a prefetcher holds the spool's lock (its process lives and it refreshed the lock lately). */
export async function prefetcherAlive(dir: string, now: () => number = Date.now): Promise<boolean> {
  try {
    const fd = openSync(join(dir, 'lock'), 'r');
    try {
      return now() - fstatSync(fd).mtimeMs < LOCK_STALE_MS && processAlive(Number(readFileSync(fd, 'utf8').trim()));
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface PrefetchLock {
  /** False once someone removed or took the lock (the spool was cleared): the prefetcher stops. */
  held(): Promise<boolean>;
  refresh(): Promise<void>;
  release(): Promise<void>;
}

/**
 * One prefetcher per spool: the lock file is created exclusively; a lock whose process is gone or
 * that was not refreshed for LOCK_STALE_MS is taken over. Undefined: another prefetcher runs, or
 * the spool directory is gone.
 */
export async function acquirePrefetchLock(dir: string): Promise<PrefetchLock | undefined> {
  const path = join(dir, 'lock');
  const mine = String(process.pid);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, `${mine}\n`, { flag: 'wx', mode: 0o600 });
      const held = async () => (await readFile(path, 'utf8').catch(() => '')).trim() === mine;
      return {
        held,
        refresh: async () => {
          const time = new Date();
          await utimes(path, time, time).catch(() => {});
        },
        release: async () => {
          if (await held()) await unlink(path).catch(() => {});
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || (await prefetcherAlive(dir))) return undefined;
      await unlink(path).catch(() => {});
    }
  }
  return undefined;
}

/**
 * Writes a segment into the spool from its decoded stream: a temporary name while it is written,
 * synced, then renamed to `<segment>.<sha256>` — only a complete, synced file has that name.
 */
export function spoolTemporaryName(dir: string, fileName: string): string {
  return join(dir, `${fileName}.${process.pid}.tmp`);
}

export async function completeSpoolEntry(dir: string, fileName: string, temporary: string, sha256: string): Promise<void> {
  const handle = await open(temporary, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, join(dir, `${fileName}.${sha256}`));
}

/**
 * Deletes what the prefetcher no longer needs: complete entries not in `keep`, and temporary
 * files not being written (`writing`) by this process. Returns the complete entries kept.
 */
export async function pruneSpool(dir: string, keep: ReadonlySet<string>, writing: ReadonlySet<string>): Promise<Set<string> | undefined> {
  const entries = await readSpool(dir);
  if (!entries) return undefined;
  const kept = new Set<string>();
  const doomed: string[] = [];
  for (const [segment, name] of entries.complete) {
    if (keep.has(segment)) kept.add(segment);
    else doomed.push(name);
  }
  for (const [segment, names] of entries.writing) {
    for (const name of names) if (!(writing.has(segment) && name === `${segment}.${process.pid}.tmp`)) doomed.push(name);
  }
  await Promise.all(doomed.map((name) => unlink(join(dir, name)).catch(() => {})));
  return kept;
}

/**
 * Removes a spool (at the end of recovery). It is renamed away first, in one step, so that a
 * prefetcher still running finds its directory gone (it never recreates it) and stops.
 */
export async function clearSpool(dir: string): Promise<void> {
  const trash = `${dir}.removing-${process.pid}-${Date.now()}`;
  try {
    await rename(dir, trash);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  await rm(trash, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
