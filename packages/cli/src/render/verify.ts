import type { RepositoryStats, VerifyAllResult, VerifyResult } from '@llm-analytics/core';
import { formatDuration, formatSize, renderProperties, renderTable } from '../format.js';

const MARK = { pass: '✓', fail: '✗', warn: '!', skip: '-' } as const;

/** The specification's check table: Check | Status | Message, with a VALID/INVALID headline. */
export function renderVerification(result: VerifyResult): string {
  const headline = result.valid
    ? `✓ Backup verification: VALID (${result.backupId})`
    : result.couldNotCheck
      ? `! Backup verification: INCOMPLETE, could not check (${result.backupId})`
      : `✗ Backup verification: INVALID (${result.backupId})`;
  const table = renderTable(['Check', 'Status', 'Message'], result.checks.map((check) => [check.name, MARK[check.status], check.message]));
  const read = result.read && result.read.seconds > 0 ? `, read ${formatSize(result.read.storedBytes)} at ${formatSize(result.read.storedBytes / result.read.seconds)}/s` : '';
  const footer = `Verified in ${formatDuration(result.durationSeconds)}${read}; status ${result.status ?? '-'}${result.recorded ? ' (recorded in backup.json)' : ''}`;
  return ['=== Verify Backup ===', headline, table, footer].join('\n');
}

export function renderVerifyAll(all: VerifyAllResult): string {
  const parts = all.results.map(renderVerification);
  const { total, valid, invalid, couldNotCheck } = all.summary;
  parts.push(`=== Summary ===\n${total} backups of ${all.database}: ${valid} valid, ${invalid} invalid, ${couldNotCheck} could not be checked`);
  return parts.join('\n\n');
}

export function renderRepositoryStats(stats: RepositoryStats): string {
  const sizes = renderProperties([
    ['Backup data', `${formatSize(stats.dataBytes)} in ${stats.dataObjects} objects`],
    ['Archived WAL', `${formatSize(stats.walBytes)} in ${stats.walObjects} objects`],
    ['Repository total', formatSize(stats.dataBytes + stats.walBytes)],
  ]);
  const rows = stats.backups.map((b) => [
    b.id,
    b.status,
    b.lastVerified ? `${b.lastVerified}${b.lastVerificationValid ? '' : ' (failed)'}` : 'never',
    b.restorableWindow ? `${b.restorableWindow.from} → ${b.restorableWindow.to}${b.restorableWindow.gapAt ? ` (gap at ${b.restorableWindow.gapAt})` : ''}` : 'to backup end only',
  ]);
  const table = rows.length ? renderTable(['Backup ID', 'Status', 'Last Verified', 'Restorable (PITR)'], rows) : 'No backups.';
  return ['=== Repository ===', sizes, '', '=== Verification and PITR ===', table].join('\n');
}
