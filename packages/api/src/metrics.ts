import { isRestorable, type BackupMetadata } from '@llm-analytics/core';
import type { JobRegistry } from './jobs.js';
import { JOB_STATES } from './jobs.js';

/**
 * GET /metrics in the Prometheus text format (0.0.4): what operators alert on. Names follow the
 * Prometheus conventions: a unit suffix (_seconds, _bytes), _total for counters, gauges plain.
 */
export interface MetricsInput {
  backups: BackupMetadata[];
  jobs: JobRegistry;
  httpRequests: Map<string, number>;
  now: Date;
  /** Seconds since the newest archived WAL segment, when the WAL archive status is known. */
  walLastArchivedAgeSeconds?: number;
}

type Sample = { labels?: Record<string, string>; value: number };

export function renderMetrics(input: MetricsInput): string {
  const lines: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: Sample[]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const sample of samples) lines.push(`${name}${labelText(sample.labels)} ${formatValue(sample.value)}`);
  };
  const now = input.now.getTime();
  const lastGood = newestPerDatabase(input.backups.filter(isRestorable));
  const perDb = (value: (backup: BackupMetadata) => number | undefined): Sample[] =>
    [...lastGood].flatMap(([database, backup]) => {
      const v = value(backup);
      return v === undefined ? [] : [{ labels: { database }, value: v }];
    });
  const endOf = (backup: BackupMetadata) => new Date(backup.endTime ?? backup.startTime).getTime();

  metric('llm_analytics_backup_last_success_timestamp_seconds', 'gauge', 'End time of the newest Completed or Verified backup (Unix seconds).', perDb((b) => endOf(b) / 1000));
  metric('llm_analytics_backup_last_success_age_seconds', 'gauge', 'Seconds since the newest Completed or Verified backup ended.', perDb((b) => Math.max(0, (now - endOf(b)) / 1000)));
  metric('llm_analytics_backup_last_success_size_bytes', 'gauge', 'Raw (tar) size of the newest good backup.', perDb((b) => b.sizeBytes));
  metric('llm_analytics_backup_last_success_stored_size_bytes', 'gauge', 'Stored size (compressed, encrypted) of the newest good backup.', perDb((b) => b.storedSizeBytes));
  metric('llm_analytics_backup_last_success_duration_seconds', 'gauge', 'How long the newest good backup took.', perDb((b) => b.durationSeconds));

  const byStatus = new Map<string, number>();
  for (const backup of input.backups) {
    const key = `${backup.database}\u0000${backup.status}`;
    byStatus.set(key, (byStatus.get(key) ?? 0) + 1);
  }
  metric('llm_analytics_backups', 'gauge', 'Backups in the repository by database and status.', [...byStatus].map(([key, value]) => {
    const [database, status] = key.split('\u0000') as [string, string];
    return { labels: { database, status }, value };
  }));

  const verified = newestPerDatabase(input.backups.filter((b) => b.verification));
  metric('llm_analytics_backup_last_verification_success', 'gauge', '1 if the newest verification of a backup of the database passed, else 0.', [...verified].map(([database, b]) => ({ labels: { database }, value: b.verification!.valid ? 1 : 0 })));
  metric('llm_analytics_backup_last_verification_timestamp_seconds', 'gauge', 'When the newest verification ran (Unix seconds).', [...verified].map(([database, b]) => ({ labels: { database }, value: new Date(b.verification!.time).getTime() / 1000 })));

  if (input.walLastArchivedAgeSeconds !== undefined) {
    metric('llm_analytics_wal_last_archived_age_seconds', 'gauge', 'Seconds since the newest archived WAL segment.', [{ value: input.walLastArchivedAgeSeconds }]);
  }

  const active = new Map<string, number>();
  for (const job of input.jobs.list()) active.set(`${job.kind}\u0000${job.state}`, (active.get(`${job.kind}\u0000${job.state}`) ?? 0) + 1);
  metric('llm_analytics_api_jobs', 'gauge', 'Jobs known to this server by kind and state.', [...active].map(([key, value]) => {
    const [kind, state] = key.split('\u0000') as [string, string];
    return { labels: { kind, state }, value };
  }).filter((s) => JOB_STATES.includes(s.labels.state as never)));
  metric('llm_analytics_api_jobs_finished_total', 'counter', 'Jobs that ended since the server started, by kind and final state.', input.jobs.finishedTotals().map(({ kind, state, count }) => ({ labels: { kind, state }, value: count })));
  metric('llm_analytics_api_http_requests_total', 'counter', 'HTTP requests answered, by method and status.', [...input.httpRequests].map(([key, value]) => {
    const [method, status] = key.split(' ') as [string, string];
    return { labels: { method, status }, value };
  }));
  return `${lines.join('\n')}\n`;
}

function newestPerDatabase(backups: BackupMetadata[]): Map<string, BackupMetadata> {
  const newest = new Map<string, BackupMetadata>();
  for (const backup of backups) {
    const current = newest.get(backup.database);
    if (!current || backup.startTime > current.startTime) newest.set(backup.database, backup);
  }
  return newest;
}

function labelText(labels?: Record<string, string>): string {
  if (!labels || Object.keys(labels).length === 0) return '';
  const escape = (value: string) => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
  return `{${Object.entries(labels).map(([key, value]) => `${key}="${escape(value)}"`).join(',')}}`;
}

function formatValue(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}
