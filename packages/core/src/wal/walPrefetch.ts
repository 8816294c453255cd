import { unlink } from 'node:fs/promises';
import type { ResolvedConfig } from '../config/resolve.js';
import { assertWalSegmentSize, nextWalSegmentName } from '../postgres/lsn.js';
import type { Storage } from '../storage/storage.js';
import { decodeWalObject } from './walFetch.js';
import { findWalObject } from './walKeys.js';
import { acquirePrefetchLock, completeSpoolEntry, pruneSpool, readWanted, sleep, spoolTemporaryName, type Wanted } from './walSpool.js';

export interface PrefetchOptions {
  config: ResolvedConfig;
  systemIdentifier: string;
  /** The spool directory of this repository and cluster (walSpool.spoolDirectory). */
  spoolDir: string;
  /** Segments kept ready after the one PostgreSQL asked for last. */
  depth: number;
  /** Downloads at once (default: 2, at most depth). */
  concurrency?: number;
  /** Stop after this long with nothing to do and no new request (default 10 s). */
  idleMs?: number;
  /** How often the spool and the last request are looked at (default 20 ms). */
  tickMs?: number;
}

export interface PrefetchSummary {
  /** False when another prefetcher already runs for this spool (or the spool is gone). */
  ran: boolean;
  fetched: string[];
  /** The first segment the archive did not have when it stopped (the end of the archive). */
  endOfArchive?: string;
  failures: string[];
  stoppedBecause: 'idle' | 'end of archive' | 'spool cleared' | 'no request' | 'failures' | 'already running';
}

const MAX_FAILURES = 3;

/**
 * The background half of wal-fetch prefetch, as pgBackRest's asynchronous archive-get and WAL-G's
 * prefetch do: replay waits for restore_command one segment at a time, so the segments after the
 * one PostgreSQL asked for last (the spool's `wanted`) are downloaded ahead, in order, through the
 * same decoding and authentication as a direct fetch, synced and renamed into the spool under a
 * name carrying their SHA-256. One prefetcher per spool (a lock file); it follows `wanted` as
 * wal-fetch moves it, deletes entries PostgreSQL no longer needs, and stops after `idleMs` without
 * a new request (at the end of the archive: 'end of archive'), after repeated failures, or when the
 * spool is cleared (the end of recovery).
 */
export async function prefetchSegments(options: PrefetchOptions, deps: { storage: Storage; report?: (message: string) => void }): Promise<PrefetchSummary> {
  const { spoolDir: dir, depth } = options;
  const summary: PrefetchSummary = { ran: false, fetched: [], failures: [], stoppedBecause: 'already running' };
  const lock = await acquirePrefetchLock(dir);
  if (!lock) return summary;
  summary.ran = true;
  const concurrency = Math.max(1, Math.min(options.concurrency ?? 2, depth));
  const idleMs = options.idleMs ?? 10_000;
  const inFlight = new Map<string, Promise<void>>();
  const retryAfter = new Map<string, number>();
  let last: Wanted | undefined;
  let lastChange = Date.now();
  let endOfArchive: string | undefined;

  const fetchOne = async (fileName: string): Promise<void> => {
    const temporary = spoolTemporaryName(dir, fileName);
    try {
      const object = await findWalObject(deps.storage, options.systemIdentifier, fileName);
      if (!object) {
        endOfArchive = endOfArchive === undefined || fileName < endOfArchive ? fileName : endOfArchive;
        return;
      }
      const { sha256 } = await decodeWalObject(deps.storage, object, options.config, temporary, { hash: true });
      await completeSpoolEntry(dir, fileName, temporary, sha256 as string);
      summary.fetched.push(fileName);
    } catch (error) {
      await unlink(temporary).catch(() => {});
      // A spool removed under us is the end of recovery, not a failure.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !(await lock.held())) return;
      summary.failures.push(`${fileName}: ${(error as Error).message}`);
      deps.report?.(`prefetch of ${fileName} failed: ${(error as { code?: string }).code ?? 'ERROR'}: ${(error as Error).message}`);
      retryAfter.set(fileName, Date.now() + 1000);
    }
  };

  try {
    for (let tick = 0; ; tick++) {
      if (!(await lock.held())) {
        summary.stoppedBecause = 'spool cleared';
        break;
      }
      if (tick % 50 === 0) await lock.refresh();
      const wanted = await readWanted(dir);
      if (!wanted) {
        // The spool may have been cleared between the two looks: say so rather than "no request".
        summary.stoppedBecause = (await lock.held()) ? 'no request' : 'spool cleared';
        break;
      }
      if (wanted.fileName !== last?.fileName) {
        // PostgreSQL moved on: a segment missing before may be archived by now (a live source).
        last = wanted;
        lastChange = Date.now();
        endOfArchive = undefined;
      }
      const window = nextSegments(wanted, depth);
      const kept = await pruneSpool(dir, new Set([wanted.fileName, ...window]), new Set(inFlight.keys()));
      if (!kept) {
        summary.stoppedBecause = 'spool cleared';
        break;
      }
      for (const name of window) {
        if (inFlight.size >= concurrency || (endOfArchive !== undefined && name >= endOfArchive)) break;
        if (kept.has(name) || inFlight.has(name) || (retryAfter.get(name) ?? 0) > Date.now()) continue;
        inFlight.set(name, fetchOne(name).finally(() => inFlight.delete(name)));
      }
      if (summary.failures.length >= MAX_FAILURES) {
        summary.stoppedBecause = 'failures';
        break;
      }
      // At the end of the archive it stays (looking again only when PostgreSQL moves on): a new
      // process per segment served near the end would cost more than it saves.
      if (inFlight.size === 0 && Date.now() - lastChange > idleMs) {
        summary.stoppedBecause = endOfArchive === undefined ? 'idle' : 'end of archive';
        break;
      }
      await sleep(options.tickMs ?? 20);
    }
  } finally {
    await Promise.allSettled([...inFlight.values()]);
    await lock.release();
  }
  summary.endOfArchive = endOfArchive;
  return summary;
}

/** The `depth` segments after the one asked for, on its timeline. */
export function nextSegments(wanted: Wanted, depth: number): string[] {
  assertWalSegmentSize(wanted.segmentSize);
  const names: string[] = [];
  let name = wanted.fileName;
  for (let i = 0; i < depth; i++) names.push((name = nextWalSegmentName(name, wanted.segmentSize)));
  return names;
}
