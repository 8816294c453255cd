import { parseBackupId } from '../catalog/backupId.js';
import { baseDataKey } from '../catalog/layout.js';
import { compareLsn, lastWalSegmentBefore, walSegmentName } from '../postgres/lsn.js';
import type { BackupMetadata, StoredObject } from '../types/metadata.js';

/**
 * Consistency of backup.json beyond its schema (which readMetadata already enforced): every
 * problem found, as sentences. Pure, so each rule is unit-tested. `manifestWal` is what the
 * backup's own backup_manifest says (WAL-Ranges), once the stream has been read: the metadata
 * LSNs must be exactly those.
 */
export function metadataProblems(metadata: BackupMetadata, manifestWal?: { startLsn: string; endLsn: string; timeline: number }): string[] {
  const problems: string[] = [];
  const add = (problem: string) => problems.push(problem);
  try {
    const { database } = parseBackupId(metadata.id);
    if (database !== metadata.database.toLowerCase()) add(`id ${metadata.id} names database ${database}, the metadata says ${metadata.database}`);
  } catch {
    add(`"${metadata.id}" is not a backup id`);
  }
  if (metadata.status !== 'Completed' && metadata.status !== 'Verified') add(`status is ${metadata.status}, not Completed`);
  if (metadata.endTime && Date.parse(metadata.endTime) < Date.parse(metadata.startTime)) add(`endTime ${metadata.endTime} is before startTime ${metadata.startTime}`);
  if (!metadata.endTime) add('endTime is missing');
  lsnProblems(metadata, add);
  if (isRestorePoint(metadata)) restorePointProblems(metadata, add);
  else objectProblems(metadata, add);
  if (manifestWal) {
    if (metadata.startLsn && compareLsn(metadata.startLsn, manifestWal.startLsn) !== 0) add(`startLsn ${metadata.startLsn} differs from backup_manifest's Start-LSN ${manifestWal.startLsn}`);
    if (metadata.endLsn && compareLsn(metadata.endLsn, manifestWal.endLsn) !== 0) add(`endLsn ${metadata.endLsn} differs from backup_manifest's End-LSN ${manifestWal.endLsn}`);
    if (metadata.timeline !== undefined && metadata.timeline !== manifestWal.timeline) add(`timeline ${metadata.timeline} differs from backup_manifest's ${manifestWal.timeline}`);
  }
  return problems;
}

function lsnProblems(metadata: BackupMetadata, add: (problem: string) => void): void {
  const { startLsn, endLsn, timeline } = metadata;
  if (!startLsn || !endLsn || timeline === undefined) {
    add('startLsn, endLsn or timeline is missing');
    return;
  }
  if (compareLsn(startLsn, endLsn) > 0) {
    add(`startLsn ${startLsn} is after endLsn ${endLsn}`);
    return;
  }
  const startSegment = walSegmentName(timeline, startLsn);
  // A restore point's WAL starts at its full backup's end segment, before its own startLsn.
  if (!isRestorePoint(metadata) && metadata.startWalSegment && metadata.startWalSegment !== startSegment) add(`startWalSegment ${metadata.startWalSegment} does not hold startLsn ${startLsn} (${startSegment} does)`);
  if (metadata.endWalSegment && compareLsn(endLsn, '0/0') > 0) {
    const endSegment = lastWalSegmentBefore(timeline, endLsn);
    if (metadata.endWalSegment !== endSegment) add(`endWalSegment ${metadata.endWalSegment} does not end at endLsn ${endLsn} (${endSegment} does)`);
  }
}

/**
 * An incremental/differential restore point (backup/restorePoint.ts) has no data object: it is
 * its parent's data plus the archived WAL up to a named restore point.
 */
export function isRestorePoint(metadata: BackupMetadata): boolean {
  return metadata.type !== 'Full' && metadata.objects.length === 0 && metadata.parentId !== undefined;
}

function restorePointProblems(metadata: BackupMetadata, add: (problem: string) => void): void {
  if (metadata.sha256 !== undefined) add('a restore point records a checksum but has no data object');
  if (!metadata.startWalSegment || !metadata.endWalSegment) add('startWalSegment or endWalSegment is missing');
  else if (metadata.startWalSegment > metadata.endWalSegment) add(`startWalSegment ${metadata.startWalSegment} is after endWalSegment ${metadata.endWalSegment}`);
}

function objectProblems(metadata: BackupMetadata, add: (problem: string) => void): void {
  const [object, ...rest] = metadata.objects;
  if (!object) {
    add('it lists no data object');
    return;
  }
  if (rest.length > 0) add(`it lists ${metadata.objects.length} data objects; this format has one`);
  const expectedKey = baseDataKey(metadata.id, metadata.compression, metadata.encrypted);
  if (object.key !== expectedKey) add(`data object key ${object.key} is not ${expectedKey}`);
  const raw = sum(metadata.objects, (o) => o.rawSize);
  const stored = sum(metadata.objects, (o) => o.storedSize);
  if (metadata.sizeBytes !== raw) add(`sizeBytes ${metadata.sizeBytes} differs from the data object's raw size ${raw}`);
  if (metadata.storedSizeBytes !== stored) add(`storedSizeBytes ${metadata.storedSizeBytes} differs from the data object's stored size ${stored}`);
  if (metadata.sha256 !== undefined && metadata.sha256 !== object.sha256) add(`sha256 ${metadata.sha256} differs from the data object's ${object.sha256}`);
  for (const problem of frameIndexProblems(object)) add(`${object.key}: ${problem}`);
}

/** The frame index must tile both the raw stream and the stored object without gaps. */
export function frameIndexProblems(object: StoredObject): string[] {
  const frames = object.frames;
  if (frames.length === 0) return [];
  const problems: string[] = [];
  let raw = 0;
  for (const [index, frame] of frames.entries()) {
    if (frame.rawOffset !== raw) problems.push(`frame ${index} starts at raw offset ${frame.rawOffset}, expected ${raw}`);
    raw = frame.rawOffset + frame.rawLength;
    const next = frames[index + 1];
    if (next && next.storedOffset !== frame.storedOffset + frame.storedLength) problems.push(`frame ${index + 1} starts at stored offset ${next.storedOffset}, expected ${frame.storedOffset + frame.storedLength}`);
  }
  if (raw !== object.rawSize) problems.push(`the frame index covers ${raw} raw bytes, the object ${object.rawSize}`);
  const last = frames[frames.length - 1]!;
  const storedEnd = last.storedOffset + last.storedLength;
  // Encrypted objects end with the final (empty) chunk after the last frame: 4 + 16 bytes.
  if (storedEnd !== object.storedSize && storedEnd + 20 !== object.storedSize) problems.push(`the frame index ends at stored offset ${storedEnd}, the object is ${object.storedSize} bytes`);
  return problems.slice(0, 3);
}

function sum<T>(items: readonly T[], value: (item: T) => number): number {
  return items.reduce((total, item) => total + value(item), 0);
}
