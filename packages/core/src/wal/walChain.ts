import { walDir } from '../catalog/layout.js';
import { DEFAULT_WAL_SEGMENT_SIZE, formatLsn, isWalSegmentName, parseWalSegmentName, walSegmentFileName } from '../postgres/lsn.js';
import type { Storage } from '../storage/storage.js';
import { parseWalObjectKey } from './walKeys.js';

/** One archived WAL file as the repository lists it. */
export interface ArchivedWalFile {
  fileName: string;
  key: string;
  size: number;
  lastModified?: Date;
}

export async function listArchivedWal(storage: Storage, systemIdentifier: string): Promise<ArchivedWalFile[]> {
  const files: ArchivedWalFile[] = [];
  for await (const object of storage.list(walDir(systemIdentifier))) {
    files.push({ fileName: parseWalObjectKey(object.key).fileName, key: object.key, size: object.size, lastModified: object.lastModified });
  }
  return files;
}

/** How far the archive lets recovery go from one starting segment, on that segment's timeline. */
export interface WalChain {
  startSegment: string;
  /** The last segment reached from the start with none missing; undefined if the start is missing. */
  lastSegment?: string;
  /** The LSN just past lastSegment: no replay can go beyond it. */
  endLsn?: string;
  /** When lastSegment was archived: WAL in it was written before that. */
  lastArchivedAt?: Date;
  /** The first segment missing before later ones on the same timeline (a hole in the chain). */
  firstMissing?: string;
}

/**
 * Walks the archived segments from `startSegment` on its timeline until one is missing. Recovery
 * runs with recovery_target_timeline = 'current' (the backup's timeline), so later timelines of
 * restored copies never redirect it; a segment missing in the middle ends what can be replayed.
 */
export function walChainFrom(files: readonly ArchivedWalFile[], startSegment: string, segmentSize = DEFAULT_WAL_SEGMENT_SIZE): WalChain {
  const start = parseWalSegmentName(startSegment, segmentSize);
  const byNumber = new Map<bigint, ArchivedWalFile>();
  let highest = -1n;
  for (const file of files) {
    if (!isWalSegmentName(file.fileName)) continue;
    const segment = parseWalSegmentName(file.fileName, segmentSize);
    if (segment.timeline !== start.timeline) continue;
    byNumber.set(segment.segmentNumber, file);
    if (segment.segmentNumber > highest) highest = segment.segmentNumber;
  }
  let number = start.segmentNumber;
  let last: ArchivedWalFile | undefined;
  while (byNumber.has(number)) {
    last = byNumber.get(number);
    number += 1n;
  }
  const chain: WalChain = { startSegment };
  if (last) {
    chain.lastSegment = last.fileName;
    chain.endLsn = formatLsn(number * BigInt(segmentSize));
    chain.lastArchivedAt = last.lastModified;
  }
  if (number <= highest) chain.firstMissing = walSegmentFileName(start.timeline, number, segmentSize);
  return chain;
}

/** Every segment missing between the first and the last archived segment of each timeline. */
export function walGaps(files: readonly ArchivedWalFile[], segmentSize = DEFAULT_WAL_SEGMENT_SIZE, limit = 100): string[] {
  const byTimeline = new Map<number, bigint[]>();
  for (const file of files) {
    if (!isWalSegmentName(file.fileName)) continue;
    const { timeline, segmentNumber } = parseWalSegmentName(file.fileName, segmentSize);
    byTimeline.set(timeline, [...(byTimeline.get(timeline) ?? []), segmentNumber]);
  }
  const missing: string[] = [];
  for (const [timeline, numbers] of [...byTimeline].sort((a, b) => a[0] - b[0])) {
    const present = new Set(numbers);
    const sorted = [...present].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (let n = sorted[0]!; n <= sorted[sorted.length - 1]! && missing.length < limit; n++) {
      if (!present.has(n)) missing.push(walSegmentFileName(timeline, n, segmentSize));
    }
  }
  return missing;
}
