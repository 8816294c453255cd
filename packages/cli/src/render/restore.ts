import type { KubernetesRestorePlan, RestorePlan, RestoreResult } from '@llm-analytics/core';
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

export function renderRestorePlan(plan: RestorePlan | KubernetesRestorePlan): string {
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
  if (!('mode' in plan)) return ['=== Database Restore (dry run) ===', 'Nothing was changed. The restore would be:', renderProperties(rows)].join('\n');
  return [
    '=== Database Restore (dry run) ===',
    'Nothing was changed. The restore would be:',
    renderProperties([...rows, ...kubernetesRows(plan)]),
    '',
    '=== Steps ===',
    ...plan.steps.map((step, i) => `${i + 1}. ${step}`),
  ].join('\n');
}

function kubernetesRows(plan: KubernetesRestorePlan): [string, string][] {
  const rows: [string, string][] = [
    ['Kind', plan.mode === 'namespace' ? 'new pod in another namespace (--target-namespace)' : `in place (${plan.method === 'statefulset' ? 'StatefulSet scaled to 0, helper pod' : 'pg_ctl in the pod'})`],
    ['Source Pod', plan.sourcePod],
    ['Image', plan.image],
  ];
  if (plan.namespace) rows.push(['Namespace', `${plan.namespace.name} (${plan.namespace.exists === false ? 'created' : plan.namespace.exists ? 'exists' : 'taken as existing'})`]);
  if (plan.statefulSet) rows.push(['StatefulSet', `${plan.statefulSet.namespace}/${plan.statefulSet.name}: ${plan.statefulSet.replicas} → 0 → ${plan.statefulSet.replicas}`]);
  if (plan.pod) rows.push(['Pod', `${plan.pod.namespace}/${plan.pod.name} (created, restart policy ${plan.pod.restartPolicy})`]);
  const claim = plan.persistentVolumeClaim;
  if (claim) rows.push(['Claim', `${claim.name} (${claim.created ? 'created' : 'existing'}${claim.request ? `, ${claim.request}` : ''}${claim.storageClassName ? `, class ${claim.storageClassName}` : ''})`]);
  return rows;
}
