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
  const chain = backups.some((b) => b.parentId) ? ['', '=== Backup Chain ===', ...renderChain(backups)] : [];
  return ['=== List Backups ===', header, table, ...chain, '', '=== Backup Statistics ===', statistics].join('\n');
}

/**
 * Full backups with the incremental/differential restore points that stand on them, as a tree:
 * what a restore of each one replays (its parent's data, then WAL to its end).
 */
export function renderChain(backups: readonly BackupMetadata[]): string[] {
  const byParent = new Map<string, BackupMetadata[]>();
  for (const backup of backups) {
    if (backup.parentId) byParent.set(backup.parentId, [...(byParent.get(backup.parentId) ?? []), backup]);
  }
  const listed = new Set(backups.map((b) => b.id));
  const describe = (b: BackupMetadata) => `${b.id}  ${b.type}  WAL ${b.startLsn ?? '?'} → ${b.endLsn ?? '?'} (timeline ${b.timeline ?? '?'})`;
  const lines: string[] = [];
  const walk = (backup: BackupMetadata, depth: number) => {
    lines.push(`${depth === 0 ? '' : `${'   '.repeat(depth - 1)}└─ `}${describe(backup)}`);
    for (const child of byParent.get(backup.id) ?? []) walk(child, depth + 1);
  };
  // Roots: backups without a parent, and those whose parent is not in this (limited) list.
  for (const backup of backups) if (!backup.parentId || !listed.has(backup.parentId)) walk(backup, 0);
  return lines;
}
