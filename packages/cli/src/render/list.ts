import type { BackupMetadata, BackupStats } from '@llm-analytics/core';
import { ageDays } from '@llm-analytics/core';
import { formatSize, renderProperties, renderTable } from '../format.js';

export function renderBackupList(input: {
  backups: readonly BackupMetadata[];
  stats: BackupStats;
  database?: string;
  repository: string;
  repositoryIsDefault: boolean;
}): string {
  const { backups, stats } = input;
  const now = new Date();
  const where = `${input.repository}${input.repositoryIsDefault ? ' (local default)' : ''}`;
  const header = input.database ? `Found ${stats.totalBackups} backups for database: ${input.database}` : `Found ${stats.totalBackups} backups in ${where}`;
  if (backups.length === 0) return ['=== List Backups ===', header].join('\n');
  const table = renderTable(
    ['Backup ID', 'Type', 'Size', 'Age (days)', 'Status'],
    backups.map((b) => [b.id, b.type, formatSize(b.sizeBytes), String(ageDays(b, now)), b.status]),
  );
  const statistics = renderProperties([
    ['Total Backups', String(stats.totalBackups)],
    ['Total Size', `${formatSize(stats.totalSizeBytes)} (stored ${formatSize(stats.totalStoredSizeBytes)})`],
    ['Full / Incremental / Differential', `${stats.fullBackups} / ${stats.incrementalBackups} / ${stats.differentialBackups}`],
    ['Oldest Backup', stats.oldestAgeDays === null ? '-' : `${stats.oldestAgeDays} days`],
    ['Newest Backup', stats.newestAgeDays === null ? '-' : `${stats.newestAgeDays} days`],
    ['Repository', where],
  ]);
  return ['=== List Backups ===', header, table, '', '=== Backup Statistics ===', statistics].join('\n');
}
