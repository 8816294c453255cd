import type { RestorePlan, RestoreResult } from '@llm-analytics/core';
import { formatDuration, formatSize, renderProperties } from '../format.js';

export function renderRestore(result: RestoreResult): string {
  const rows: [string, string][] = [
    ['Success', String(result.success)],
    ['Backup ID', result.backupId],
    ['Duration', formatDuration(result.durationSeconds)],
    ['Restored Size', formatSize(result.restoredSizeBytes)],
    ['Tables Restored', result.tablesRestored === undefined ? 'not validated' : String(result.tablesRestored)],
    ['Database Size', result.databaseSizeBytes === undefined ? '-' : formatSize(result.databaseSizeBytes)],
    ['Data Directory', result.pgdata],
    ['Port', result.port === undefined ? 'not started' : String(result.port)],
  ];
  if (result.recoverTo) rows.push(['Recovered To', result.recoverTo]);
  if (result.baseBackupId && result.baseBackupId !== result.backupId) rows.push(['Full Backup Restored', result.baseBackupId]);
  if (result.movedAsideTo) rows.push(['Previous Contents', result.movedAsideTo]);
  const inPod = result as RestoreResult & { namespace?: string; pod?: string; connect?: { portForward: string; psql: string } };
  if (inPod.pod) rows.push(['Pod', `${inPod.namespace}/${inPod.pod}`]);
  const connect = inPod.connect ? ['', '=== Connect ===', `${inPod.connect.portForward}`, `${inPod.connect.psql}`] : [];
  return [
    '=== Database Restore ===',
    result.success ? '✓ Restore completed successfully' : '✗ Restore failed',
    renderProperties(rows),
    '',
    '=== Restore Messages ===',
    ...result.messages.map((m) => `• ${m}`),
    ...connect,
  ].join('\n');
}

export function renderRestorePlan(plan: RestorePlan): string {
  const rows: [string, string][] = [
    ['Backup ID', plan.backupId],
    ['Database', plan.database],
    ['Backup End', plan.backupEndTime ?? '-'],
    ['Repository', plan.repository],
    ['Size', formatSize(plan.sizeBytes)],
    ['Target Host', plan.targetHost],
    ['Data Directory', `${plan.pgdata} (${plan.targetState})`],
    ['Port', String(plan.port)],
    ['Start Server', String(plan.start)],
    ['Validate', String(plan.validate)],
    ['Recover To', plan.recoverTo],
  ];
  if (plan.baseBackupId !== plan.backupId) rows.push(['Full Backup Restored', plan.baseBackupId]);
  if (plan.window) rows.push(['Restorable Window', `${plan.window.fromTime} (LSN ${plan.window.fromLsn}) to ${plan.window.toTime ?? '-'} (LSN ${plan.window.toLsn ?? '-'})`]);
  if (plan.movedAsideTo) rows.push(['Move Aside To', plan.movedAsideTo]);
  if (plan.targetDatabase) rows.push(['Rename Database To', plan.targetDatabase]);
  return ['=== Database Restore (dry run) ===', 'Nothing was changed. The restore would be:', renderProperties(rows)].join('\n');
}
