import { isRestorable } from '../catalog/catalog.js';
import { isBackupHistoryName, isPartialName, isWalSegmentName, parseWalSegmentName } from '../postgres/lsn.js';
import type { BackupMetadata } from '../types/metadata.js';
import type { ArchivedWalFile } from '../wal/walChain.js';

export interface ExpireInput {
  /** Every backup in the repository (any status). */
  backups: readonly BackupMetadata[];
  /** Archived WAL per system identifier. */
  wal: ReadonlyMap<string, readonly ArchivedWalFile[]>;
  now: Date;
  /** Overrides each backup's own retentionDays. */
  retentionDays?: number;
}

export type KeepReason = 'within retention' | 'newest full backup' | 'in progress' | 'needed by a kept backup';

export interface ExpirePlan {
  keep: { id: string; reason: KeepReason }[];
  /** Deleted in this order: all their metadata first, then their data. */
  delete: { id: string; status: BackupMetadata['status']; endTime?: string; metadataKey: string; dataKeys: string[] }[];
  /** Archived WAL no kept backup needs (older than the oldest kept backup's start, per cluster). */
  deleteWal: { key: string; fileName: string; size: number }[];
  /** Per system identifier: the first segment kept (everything from it on stays). */
  walKeptFrom: Record<string, string | null>;
  freedBytes: number;
}

const DAY_MS = 86_400_000;

/**
 * What `expire` deletes, decided without touching anything (what --dry-run prints). Never the
 * newest full backup of a database, never an in-progress backup, never a backup a kept one
 * depends on, never WAL a kept backup (and so the PITR window from it) needs. History files
 * stay: they are tiny and recovery reads them to follow timelines.
 */
export function planExpire(input: ExpireInput): ExpirePlan {
  const byId = new Map(input.backups.map((b) => [b.id, b]));
  const keep = new Map<string, KeepReason>();
  const newestFull = new Map<string, string>();
  for (const b of [...input.backups].sort((x, y) => y.startTime.localeCompare(x.startTime))) {
    if (b.type === 'Full' && isRestorable(b) && !newestFull.has(b.database)) newestFull.set(b.database, b.id);
  }
  for (const b of input.backups) {
    const days = input.retentionDays ?? b.retentionDays;
    const age = input.now.getTime() - Date.parse(b.endTime ?? b.startTime);
    if (b.status === 'InProgress') keep.set(b.id, 'in progress');
    else if (newestFull.get(b.database) === b.id) keep.set(b.id, 'newest full backup');
    else if (age < days * DAY_MS) keep.set(b.id, 'within retention');
  }
  for (const id of [...keep.keys()]) {
    for (let parent = byId.get(id)?.parentId; parent && byId.has(parent); parent = byId.get(parent)?.parentId) {
      if (!keep.has(parent)) keep.set(parent, 'needed by a kept backup');
    }
  }
  const deleted = input.backups.filter((b) => !keep.has(b.id)).sort((x, y) => x.startTime.localeCompare(y.startTime));
  const walKeptFrom: Record<string, string | null> = {};
  const deleteWal: ExpirePlan['deleteWal'] = [];
  for (const [systemIdentifier, files] of input.wal) {
    const kept = input.backups.filter((b) => keep.has(b.id) && b.systemIdentifier === systemIdentifier && b.startWalSegment && isRestorable(b));
    const inProgress = input.backups.some((b) => keep.has(b.id) && b.status === 'InProgress');
    // A cluster with no restorable kept backup (or a backup running) keeps all its WAL.
    if (kept.length === 0 || inProgress) {
      walKeptFrom[systemIdentifier] = null;
      continue;
    }
    const from = kept.map((b) => parseWalSegmentName(b.startWalSegment!).segmentNumber).reduce((a, b) => (a < b ? a : b));
    walKeptFrom[systemIdentifier] = kept.find((b) => parseWalSegmentName(b.startWalSegment!).segmentNumber === from)!.startWalSegment!;
    for (const file of files) {
      const segmentName = isWalSegmentName(file.fileName) || isPartialName(file.fileName) || isBackupHistoryName(file.fileName) ? file.fileName.slice(0, 24) : undefined;
      if (segmentName && parseWalSegmentName(segmentName).segmentNumber < from) deleteWal.push({ key: file.key, fileName: file.fileName, size: file.size });
    }
  }
  const keepList = input.backups.filter((b) => keep.has(b.id)).map((b) => ({ id: b.id, reason: keep.get(b.id)! }));
  const deleteList = deleted.map((b) => ({
    id: b.id,
    status: b.status,
    endTime: b.endTime,
    metadataKey: `backups/${b.id}/backup.json`,
    dataKeys: b.objects.map((o) => o.key),
  }));
  const freedBytes = deleted.reduce((sum, b) => sum + b.storedSizeBytes, 0) + deleteWal.reduce((sum, f) => sum + f.size, 0);
  return { keep: keepList, delete: deleteList, deleteWal, walKeptFrom, freedBytes };
}
