import type { BackupMetadata, BackupPlan } from '@llm-analytics/core';
import { renderProperties } from '../format.js';

export function renderBackup(metadata: BackupMetadata, messages: readonly string[]): string {
  const rows: [string, string][] = [
    ['Backup ID', metadata.id],
    ['Database', metadata.database],
    ['Type', metadata.type],
    ['Status', metadata.status],
    ['Size', `${metadata.sizeBytes} bytes`],
    ['Stored Size', `${metadata.storedSizeBytes} bytes`],
    ['Location', `${metadata.location}/${metadata.objects[0]?.key ?? ''}`],
    ['Timestamp', metadata.startTime],
    ['Duration', `${metadata.durationSeconds?.toFixed(1) ?? '?'} seconds`],
    ['Checksum', metadata.sha256 ?? ''],
    ['Compression', metadata.compression],
    ['Encryption', String(metadata.encrypted)],
    ['WAL Position', `${metadata.startLsn ?? '?'} - ${metadata.endLsn ?? '?'} (timeline ${metadata.timeline ?? '?'})`],
    ['PostgreSQL', metadata.postgresVersion ?? ''],
    ['TimescaleDB', metadata.timescaledbVersion ?? 'not installed'],
    ['Source', metadata.source ?? ''],
  ];
  return ['=== Database Backup ===', '✓ Backup created successfully', renderProperties(rows), '', ...messages.map((m) => `• ${m}`)].join('\n');
}

export function renderBackupPlan(plan: BackupPlan, repositoryIsDefault: boolean): string {
  const rows: [string, string][] = [
    ['Database', plan.database],
    ['Type', plan.type],
    ['Source', plan.source],
    ['Repository', `${plan.repository}${repositoryIsDefault ? ' (local default)' : ''}`],
    ...plan.objects.map((key, i): [string, string] => [i === 0 ? 'Objects' : '', key]),
    ['Compression', plan.compression],
    ['Encryption', String(plan.encrypted)],
    ['Retention', `${plan.retentionDays} days`],
  ];
  return ['=== Database Backup (dry run) ===', 'Nothing was changed. The backup would be:', renderProperties(rows)].join('\n');
}
