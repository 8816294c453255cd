import type { BackupMetadata, NamespaceRestorePlan, NamespaceRestoreResult, ProgressSink, RestorePlan, RestoreResult, VerificationCheck } from '@llm-analytics/core';

/** What the user asked the restore wizard for: plain data, like the CLI's flags. */
export interface RestoreRequest {
  backupId: string;
  pgdata: string;
  port: number;
  /** Rename the restored database to this (absent: keep the backup's name). */
  targetDatabase?: string;
  /** Point in time to recover to (ISO 8601); absent: the end of the backup. */
  pitrTarget?: string;
}

/** The wizard's "Kubernetes namespace" target: a new pod in `namespace` (`restore --target-namespace`). */
export interface NamespaceRestoreRequest {
  backupId: string;
  /** Created when absent; a DNS-1123 label. */
  namespace: string;
  /** Local port of the `kubectl port-forward` line in the result (the CLI's --port). */
  localPort: number;
  targetDatabase?: string;
  pitrTarget?: string;
}

/**
 * Restores into a new pod in a namespace: present only when the TUI was started with Kubernetes
 * options (the database runs in a pod, whose image and settings the new pod copies).
 */
export interface NamespaceRestoreDeps {
  /** The database pod the new one copies, "pod NS/POD". */
  sourcePod: string;
  /** The dry run: what would be created, permissions checked, nothing changed. */
  planRestore(request: NamespaceRestoreRequest): Promise<NamespaceRestorePlan>;
  /** On failure or cancel (the signal) the core deletes what it created. */
  restore(request: NamespaceRestoreRequest, progress: ProgressSink, signal: AbortSignal): Promise<NamespaceRestoreResult>;
}

/** The span of time a point-in-time restore can reach: from a backup's end to the last archived WAL. */
export interface RestorableWindow {
  from: string;
  to: string;
  /** Archived WAL segments, for the time line. */
  walSegments?: number;
}

/** What the user asked the verify screen for (`verify-backup --test-restore`). */
export interface VerifyRequest {
  backupId: string;
  /** Also restore into a scratch data directory, start it, read every table, remove it. */
  testRestore: boolean;
}

export interface VerifyReport {
  valid: boolean;
  checks: VerificationCheck[];
  /** Some check could not be made (storage, key, host): not valid, but not proven invalid either. */
  couldNotCheck?: { code: string; message: string; hint?: string };
  /** Where the test restore ran and whether it was removed afterwards. */
  testRestore?: TestRestoreOutcome;
}

export interface TestRestoreOutcome {
  pgdata: string;
  cleanedUp: boolean;
}

/**
 * Everything the TUI needs from the outside world. The screens only call these, so they can be
 * tested with fakes; `coreDeps` implements them with the core engines (the TUI talks to no
 * storage, database or host directly). An optional member that is absent means "not available in
 * this build" and the screen says so instead of failing.
 */
export interface TuiDeps {
  /** Where the backups are, for the header ("/srv/backups", "s3://bucket/prefix"). */
  repository: string;
  /** The configured database (what `b` backs up). */
  database: string;
  loadCatalog(): Promise<BackupMetadata[]>;
  planRestore(request: RestoreRequest): Promise<RestorePlan>;
  restore(request: RestoreRequest, progress: ProgressSink, signal: AbortSignal): Promise<RestoreResult>;
  backup(progress: ProgressSink, signal: AbortSignal): Promise<BackupMetadata>;
  /** The restore wizard's namespace target; absent: the wizard shows it disabled and says why. */
  kubernetes?: NamespaceRestoreDeps;
  /**
   * Runs verify-backup; `onCheck` gets each row of the check table once it is final, top to
   * bottom, while the rest runs. A cancelled test restore rejects with CANCELLED carrying
   * `testRestore` (a TestRestoreOutcome) to say whether its scratch data was removed.
   */
  verify?(request: VerifyRequest, progress: ProgressSink, signal: AbortSignal, onCheck: (check: VerificationCheck) => void): Promise<VerifyReport>;
  /** Parent directory of the test restore's scratch data directory, for the verify screen. */
  scratchDir?: string;
  restorableWindow?(backup: BackupMetadata): Promise<RestorableWindow | null>;
  now?(): Date;
}
