import type { BackupMetadata, NamespaceRestorePlan, NamespaceRestoreResult, RestorePlan, RestoreResult } from '@llm-analytics/core';
import type { NamespaceRestoreDeps, NamespaceRestoreRequest, TuiDeps } from '../src/deps.js';

export const NOW = new Date('2026-11-25T12:00:00Z');

/** Backup number `index` (0 = newest), one hour apart, metadata only. */
export function makeBackup(index: number, overrides: Partial<BackupMetadata> = {}): BackupMetadata {
  const start = new Date(NOW.getTime() - (index + 1) * 3_600_000);
  const stamp = start.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  const database = overrides.database ?? (index % 3 === 2 ? 'metrics_eu' : 'llm_analytics');
  return {
    formatVersion: 1,
    id: `backup-${database}-${stamp}-${(0xa00000 + index).toString(16)}`,
    database,
    type: 'Full',
    status: index % 7 === 5 ? 'Failed' : 'Completed',
    startTime: start.toISOString(),
    endTime: new Date(start.getTime() + 60_000).toISOString(),
    durationSeconds: 60,
    startLsn: '0/3000028',
    endLsn: '0/4000100',
    timeline: 1,
    postgresVersion: '15.8',
    location: '/srv/backups',
    compression: 'zstd',
    encrypted: true,
    sizeBytes: 1_000_000 + index * 1000,
    storedSizeBytes: 300_000 + index * 100,
    objects: [],
    retentionDays: 30,
    tableCount: 10,
    ...overrides,
  };
}

export function makeCatalog(count: number): BackupMetadata[] {
  return Array.from({ length: count }, (_, index) => makeBackup(index));
}

/** Deps whose every engine records its calls and does nothing real. */
export function fakeDeps(backups: BackupMetadata[], overrides: Partial<TuiDeps> = {}) {
  const calls = { plan: [] as unknown[], restore: [] as unknown[], backup: 0 };
  const deps: TuiDeps = {
    repository: '/srv/backups',
    database: 'llm_analytics',
    now: () => NOW,
    loadCatalog: async () => backups,
    planRestore: async (request) => {
      calls.plan.push(request);
      return planFor(request.backupId, request.pgdata, request.port, request.targetDatabase);
    },
    restore: async (request, progress) => {
      calls.restore.push(request);
      progress({ phase: 'extract', bytes: 500, totalBytes: 1000 });
      progress({ phase: 'restore', message: 'PostgreSQL started; recovery reached consistency' });
      return restoreResult(request.backupId, request.pgdata, request.port);
    },
    backup: async () => {
      calls.backup += 1;
      return makeBackup(0);
    },
    ...overrides,
  };
  return { deps, calls };
}

export function planFor(backupId: string, pgdata: string, port: number, targetDatabase?: string): RestorePlan {
  // Core's plan grows with features (PITR, WAL replay): only what the wizard shows is filled in.
  return { backupId, baseBackupId: backupId, recoverTo: 'the backup end (no WAL archive)', database: 'llm_analytics', repository: '/srv/backups', source: 'local', targetHost: 'local', pgdata, targetState: 'missing', port, start: true, validate: true, targetDatabase, sizeBytes: 1_000_000 } as RestorePlan;
}

export function restoreResult(backupId: string, pgdata: string, port: number): RestoreResult {
  return {
    success: true,
    backupId,
    pgdata,
    port,
    durationSeconds: 3.2,
    restoredSizeBytes: 1_000_000,
    tablesRestored: 10,
    validation: { valid: true, tableCount: 10, expectedTableCount: 10, databaseSizeBytes: 8_000_000, expectedDatabaseSizeBytes: 8_000_000, hypertableCount: null, problems: [] },
    messages: [],
  };
}

/** The namespace target's engines, recording the requests they get (as the TUI is started with -n/--pod). */
export function fakeKubernetes(overrides: Partial<NamespaceRestoreDeps> = {}) {
  const calls = { plan: [] as NamespaceRestoreRequest[], restore: [] as NamespaceRestoreRequest[] };
  const kubernetes: NamespaceRestoreDeps = {
    sourcePod: 'pod llm-analytics-hub/timescaledb-0',
    planRestore: async (request) => {
      calls.plan.push(request);
      return namespacePlanFor(request);
    },
    restore: async (request, progress) => {
      calls.restore.push(request);
      progress({ phase: 'restore', message: `Creating a TimescaleDB pod in namespace ${request.namespace}` });
      progress({ phase: 'extract', bytes: 1000, totalBytes: 1000 });
      return namespaceResult(request);
    },
    ...overrides,
  };
  return { kubernetes, calls };
}

export function namespacePlanFor(request: NamespaceRestoreRequest): NamespaceRestorePlan {
  const database = request.targetDatabase ?? 'llm_analytics';
  return {
    backupId: request.backupId,
    baseBackupId: request.backupId,
    database: 'llm_analytics',
    targetDatabase: request.targetDatabase,
    backupEndTime: '2026-11-25T10:01:00.000Z',
    repository: 's3://llm-analytics-backups/timescaledb',
    recoverTo: request.pitrTarget ? `time ${request.pitrTarget}` : 'the backup end (no archived WAL)',
    sizeBytes: 1_000_000,
    sourcePod: 'pod llm-analytics-hub/timescaledb-0',
    image: 'timescale/timescaledb-ha:pg15.8-ts2.17',
    namespace: request.namespace,
    namespaceExists: false,
    claim: { request: '20Gi', storageClassName: 'fast-ssd' },
    port: 5432,
    validate: true,
    connect: { portForward: `kubectl port-forward -n ${request.namespace} pod/<pod> ${request.localPort}:5432`, psql: `psql -h 127.0.0.1 -p ${request.localPort} -U postgres -d ${database}` },
    source: 'pod llm-analytics-hub/timescaledb-0',
    replayWal: request.pitrTarget !== undefined,
    pgdata: '/var/lib/postgresql/data/pgdata',
  };
}

export function namespaceResult(request: NamespaceRestoreRequest): NamespaceRestoreResult {
  const pod = 'llm-analytics-restore-1a2b3c';
  return {
    ...restoreResult(request.backupId, '/var/lib/postgresql/data/pgdata', 5432),
    namespace: request.namespace,
    pod,
    persistentVolumeClaim: pod,
    createdNamespace: true,
    connect: { portForward: `kubectl port-forward -n ${request.namespace} pod/${pod} ${request.localPort}:5432`, psql: `psql -h 127.0.0.1 -p ${request.localPort} -U postgres -d ${request.targetDatabase ?? 'llm_analytics'}` },
  };
}

export const KEY = { enter: '\r', escape: '\x1b', down: '\x1b[B', up: '\x1b[A', right: '\x1b[C', left: '\x1b[D', ctrlC: '\x03', ctrlU: '\x15', backspace: '\x7f', tab: '\t' } as const;

/** Lets React and Ink handle what was typed before the next assertion. */
export const settle = (ms = 40) => new Promise((resolve) => setTimeout(resolve, ms));

export async function press(stdin: { write(data: string): void }, ...keys: string[]): Promise<void> {
  for (const key of keys) {
    stdin.write(key);
    await settle();
  }
}

/** Waits until the last frame satisfies `check` (engines resolve on later ticks). */
export async function frameWhere(lastFrame: () => string | undefined, check: (frame: string) => boolean, timeoutMs = 2000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const frame = lastFrame() ?? '';
    if (check(frame)) return frame;
    if (Date.now() > until) throw new Error(`frame never matched; last frame:\n${frame}`);
    await settle(10);
  }
}

/** The frame, once it contains `text` (a keypress is drawn on a later tick, later still under load). */
export const frameWith = (lastFrame: () => string | undefined, text: string) => frameWhere(lastFrame, (frame) => frame.includes(text));

/** The frame, once the selected catalog row contains `text`. */
export const selectionWith = (lastFrame: () => string | undefined, text: string) =>
  frameWhere(lastFrame, (frame) => (frame.split('\n').find((line) => line.startsWith('› ')) ?? '').includes(text));
