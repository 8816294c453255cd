import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isWalSegmentName } from '../postgres/lsn.js';
import type { Storage } from '../storage/storage.js';
import { walPush, type WalPushOptions, type WalPushResult } from './walPush.js';

export interface PushAheadOptions {
  /** A directory of ours (outside PGDATA) holding "<segment>.ok" markers of segments pushed ahead. */
  spoolDir: string;
  /** Segments stored at once: the one PostgreSQL asked for plus up to parallel - 1 ready after it. */
  parallel: number;
}

/**
 * Push-ahead, as pgBackRest's asynchronous archiving does: PostgreSQL archives one segment per
 * call, so a write-heavy server can produce WAL faster than one process per segment stores it.
 * When asked for X, the segments PostgreSQL has already marked ready (pg_wal/archive_status/
 * *.ready) are stored in parallel with X, and each one stored is recorded in the spool with the
 * SHA-256 of its bytes. When PostgreSQL then asks for one of them, the marker (and the same bytes
 * on disk) answers at once. A segment is only ever reported archived after its own put resolved.
 */
export async function walPushAhead(options: WalPushOptions & { ahead: PushAheadOptions }, deps: { storage: Storage }): Promise<WalPushResult & { pushedAhead: string[] }> {
  const fileName = basename(options.path);
  const path = isAbsolute(options.path) ? options.path : join(options.pgdata, options.path);
  const marker = join(options.ahead.spoolDir, `${fileName}.ok`);
  const recorded = await readFile(marker, 'utf8').catch(() => undefined);
  if (recorded !== undefined) {
    await unlink(marker).catch(() => {});
    if (recorded.trim() === (await fileSha256(path))) return { fileName, key: '', rawBytes: 0, storedBytes: 0, alreadyArchived: true, pushedAhead: [] };
  }
  const statusDir = join(dirname(path), 'archive_status');
  const ready = (await readdir(statusDir).catch(() => [] as string[]))
    .filter((name) => name.endsWith('.ready'))
    .map((name) => name.slice(0, -'.ready'.length))
    .filter((name) => isWalSegmentName(name) && name > fileName)
    .sort()
    .slice(0, Math.max(0, options.ahead.parallel - 1));
  await mkdir(options.ahead.spoolDir, { recursive: true, mode: 0o700 });
  const ahead = ready.map(async (name) => {
    const aheadPath = join(dirname(path), name);
    await walPush({ ...options, path: aheadPath }, deps);
    const temporary = join(options.ahead.spoolDir, `${name}.ok.tmp`);
    await writeFile(temporary, `${await fileSha256(aheadPath)}\n`);
    await rename(temporary, join(options.ahead.spoolDir, `${name}.ok`));
    return name;
  });
  const [result, ...others] = await Promise.allSettled([walPush(options, deps), ...ahead]);
  if (result!.status === 'rejected') throw result!.reason;
  // A segment pushed ahead that failed is simply pushed again when PostgreSQL asks for it.
  const pushedAhead = others.flatMap((o) => (o.status === 'fulfilled' ? [o.value as string] : []));
  return { ...(result!.value as WalPushResult), pushedAhead };
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}
