import type { BackupMetadata } from '../types/metadata.js';

export interface BackupStats {
  totalBackups: number;
  totalSizeBytes: number;
  totalStoredSizeBytes: number;
  fullBackups: number;
  incrementalBackups: number;
  differentialBackups: number;
  oldestAgeDays: number | null;
  newestAgeDays: number | null;
}

export function ageDays(metadata: BackupMetadata, now: Date): number {
  return Math.floor((now.getTime() - new Date(metadata.startTime).getTime()) / 86_400_000);
}

export function backupStats(backups: readonly BackupMetadata[], now: Date = new Date()): BackupStats {
  const ages = backups.map((backup) => ageDays(backup, now));
  const count = (type: BackupMetadata['type']) => backups.filter((backup) => backup.type === type).length;
  return {
    totalBackups: backups.length,
    totalSizeBytes: backups.reduce((sum, backup) => sum + backup.sizeBytes, 0),
    totalStoredSizeBytes: backups.reduce((sum, backup) => sum + backup.storedSizeBytes, 0),
    fullBackups: count('Full'),
    incrementalBackups: count('Incremental'),
    differentialBackups: count('Differential'),
    oldestAgeDays: ages.length ? Math.max(...ages) : null,
    newestAgeDays: ages.length ? Math.min(...ages) : null,
  };
}
