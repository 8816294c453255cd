import { walDir } from './layout.js';
import { DEFAULT_WAL_SEGMENT_SIZE, formatLsn, isWalSegmentName, nextWalSegmentName, parseWalSegmentName, walSegmentStartLsn } from '../postgres/lsn.js';
import type { Storage } from '../storage/storage.js';
import { parseWalObjectKey } from '../wal/walKeys.js';

/** One archived WAL segment, as the repository lists it (names follow wal/walKeys.ts). */
export interface ArchivedSegment {
  name: string;
  key: string;
  size: number;
  lastModified?: Date;
}

/** Every archived WAL segment of a cluster (one LIST of wal/<system-id>/), by segment name. */
export async function listArchivedSegments(storage: Storage, systemIdentifier: string): Promise<Map<string, ArchivedSegment>> {
  const segments = new Map<string, ArchivedSegment>();
  for await (const object of storage.list(walDir(systemIdentifier))) {
    const { fileName } = parseWalObjectKey(object.key);
    if (isWalSegmentName(fileName)) segments.set(fileName, { name: fileName, key: object.key, size: object.size, lastModified: object.lastModified });
  }
  return segments;
}

/** The segment names from `first` to `last` inclusive, on first's timeline. */
export function segmentRange(first: string, last: string): string[] {
  const names: string[] = [];
  const end = parseWalSegmentName(last).segmentNumber;
  for (let name = first; parseWalSegmentName(name).segmentNumber <= end; name = nextWalSegmentName(name)) names.push(name);
  return names;
}

export interface RestorableWindow {
  /** The earliest point a restore of this backup reaches: the backup's end. */
  from: string;
  /** The newest point the unbroken WAL chain reaches (last archived segment's upload time). */
  to: string;
  /** The LSN the unbroken chain reaches (end of its last segment; 16 MiB segments assumed). */
  toLsn: string;
  /** Last segment of the unbroken chain after the backup. */
  lastSegment: string;
  /** The first missing segment when newer segments exist beyond a gap. */
  gapAt?: string;
  newestArchived?: string;
}

/**
 * How far a point-in-time restore from a backup can go: from the backup's end through the unbroken
 * chain of archived segments on its timeline that starts at its first WAL segment. Undefined when
 * the archive does not even hold the WAL from the backup's start to its end.
 */
export function restorableWindow(
  backup: { startWalSegment?: string; endWalSegment?: string; endTime?: string },
  archive: ReadonlyMap<string, ArchivedSegment>,
): RestorableWindow | undefined {
  if (!backup.startWalSegment || !backup.endWalSegment || !backup.endTime) return undefined;
  const needed = segmentRange(backup.startWalSegment, backup.endWalSegment);
  if (needed.some((name) => !archive.has(name))) return undefined;
  let last = backup.endWalSegment;
  while (archive.has(nextWalSegmentName(last))) last = nextWalSegmentName(last);
  const timeline = parseWalSegmentName(last).timeline;
  const newest = [...archive.keys()].filter((name) => parseWalSegmentName(name).timeline === timeline).sort().pop();
  const lastModified = archive.get(last)?.lastModified;
  return {
    from: backup.endTime,
    to: lastModified && lastModified.getTime() > Date.parse(backup.endTime) ? lastModified.toISOString() : backup.endTime,
    toLsn: formatLsn(walSegmentStartLsn(last) + BigInt(DEFAULT_WAL_SEGMENT_SIZE)),
    lastSegment: last,
    gapAt: newest && newest > last ? nextWalSegmentName(last) : undefined,
    newestArchived: newest,
  };
}
