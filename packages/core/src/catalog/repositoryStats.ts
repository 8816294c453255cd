import type { Storage } from '../storage/storage.js';
import type { BackupMetadata } from '../types/metadata.js';
import { BACKUPS_PREFIX, WAL_PREFIX } from './layout.js';
import { listArchivedSegments, restorableWindow, type ArchivedSegment, type RestorableWindow } from './walArchive.js';

/** What the repository holds beyond the per-backup metadata: bytes of data vs WAL, per-backup PITR reach. */
export interface RepositoryStats {
  dataBytes: number;
  dataObjects: number;
  walBytes: number;
  walObjects: number;
  backups: BackupStatsEntry[];
}

export interface BackupStatsEntry {
  id: string;
  status: BackupMetadata['status'];
  lastVerified: string | null;
  lastVerificationValid: boolean | null;
  /** From the backup's end through the unbroken archived WAL chain; null without archived WAL. */
  restorableWindow: RestorableWindow | null;
}

/** Two LISTs (backups/, wal/) plus one per cluster of the given backups; reads no object. */
export async function repositoryStats(storage: Storage, backups: readonly BackupMetadata[]): Promise<RepositoryStats> {
  const stats: RepositoryStats = { dataBytes: 0, dataObjects: 0, walBytes: 0, walObjects: 0, backups: [] };
  for await (const object of storage.list(BACKUPS_PREFIX)) {
    stats.dataBytes += object.size;
    stats.dataObjects += 1;
  }
  for await (const object of storage.list(WAL_PREFIX)) {
    stats.walBytes += object.size;
    stats.walObjects += 1;
  }
  const archives = new Map<string, Map<string, ArchivedSegment>>();
  for (const backup of backups) {
    let window: RestorableWindow | undefined;
    if (backup.systemIdentifier) {
      if (!archives.has(backup.systemIdentifier)) archives.set(backup.systemIdentifier, await listArchivedSegments(storage, backup.systemIdentifier));
      window = restorableWindow(backup, archives.get(backup.systemIdentifier)!);
    }
    stats.backups.push({
      id: backup.id,
      status: backup.status,
      lastVerified: backup.verification?.time ?? null,
      lastVerificationValid: backup.verification?.valid ?? null,
      restorableWindow: window ?? null,
    });
  }
  return stats;
}
