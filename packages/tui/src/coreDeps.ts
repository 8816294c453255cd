import { tmpdir } from 'node:os';
import {
  backup,
  BackupError,
  listArchivedSegments,
  listBackups,
  planRestore,
  planRestoreToNamespace,
  restorableWindow,
  restore,
  restoreToNamespace,
  segmentRange,
  verifyBackup,
  type Host,
  type NamespaceRestoreOptions,
  type ResolvedConfig,
  type RestoreOptions,
  type Storage,
} from '@llm-analytics/core';
import type { NamespaceRestoreRequest, RestoreRequest, TuiDeps } from './deps.js';

export interface CoreContext {
  config: ResolvedConfig;
  storage: Storage;
  host: Host;
  /**
   * argv of the CLI's `wal-fetch` (PostgreSQL's restore_command during recovery). The CLI passes
   * it; without it a point-in-time restore is refused and restores stop at the backup's end.
   */
  walFetchCommand?: readonly string[];
  /** Parent of the test restore's scratch data directory (the CLI's --scratch-dir); default the temp directory. */
  scratchDir?: string;
  /**
   * PostgreSQL runs in a pod (`host` is a KubernetesHost, the CLI was given Kubernetes options):
   * the wizard offers a restore into a new pod in a namespace.
   */
  inKubernetes?: boolean;
}

/**
 * The TUI's deps implemented with the core engines, exactly as the CLI calls them: a restore
 * starts the server and validates it, never forces over a non-empty directory.
 */
export function coreDeps({ config, storage, host, walFetchCommand, scratchDir = tmpdir(), inKubernetes = false }: CoreContext): TuiDeps {
  const restoreOptions = (request: RestoreRequest): RestoreOptions => {
    if (request.pitrTarget && !walFetchCommand) {
      throw new BackupError('INVALID_ARGUMENT', 'Point-in-time restore needs the wal-fetch command, which this launcher does not provide.', 'Start the TUI with `llm-analytics tui`, or leave "Recover to time" empty.');
    }
    return {
      config,
      backupId: request.backupId,
      pgdata: request.pgdata,
      port: request.port,
      start: true,
      force: false,
      skipValidation: false,
      targetDatabase: request.targetDatabase,
      // Empty time = the backup as it was taken (no WAL replay), as the wizard says.
      ...(request.pitrTarget ? { target: { kind: 'time', time: new Date(request.pitrTarget) }, inclusive: true, walFetchCommand } : {}),
    };
  };
  // `restore --target-namespace`: the same core function. A server in a pod cannot run wal-fetch, so
  // the WAL up to a PITR time is staged into the pod; an empty time restores the backup as taken.
  const namespaceOptions = (request: NamespaceRestoreRequest): NamespaceRestoreOptions => ({
    config,
    backupId: request.backupId,
    skipValidation: false,
    targetDatabase: request.targetDatabase,
    targetNamespace: request.namespace,
    localPort: request.localPort,
    ...(request.pitrTarget ? { target: { kind: 'time', time: new Date(request.pitrTarget) }, inclusive: true, stageWal: true } : {}),
  });
  return {
    repository: storage.location,
    kubernetes: inKubernetes
      ? {
          sourcePod: host.description,
          planRestore: (request) => planRestoreToNamespace(namespaceOptions(request), { storage, host }),
          restore: (request, progress, signal) => restoreToNamespace({ ...namespaceOptions(request), signal }, { storage, host, progress }),
        }
      : undefined,
    database: config.database,
    loadCatalog: () => listBackups(storage),
    planRestore: async (request) => (await planRestore(restoreOptions(request), { storage, host })).plan,
    restore: async (request, progress, signal) => restore({ ...restoreOptions(request), signal }, { storage, host, progress }),
    backup: async (progress, signal) => (await backup({ config, type: 'Full', signal }, { storage, host, progress })).metadata,
    scratchDir,
    verify: async ({ backupId, testRestore }, progress, signal, onCheck) => {
      const result = await verifyBackup({ config, backupId, testRestore, scratchDir, signal }, { storage, host, progress, onCheck: (check) => onCheck(check) });
      if (result.couldNotCheck && result.checks.length === 0) {
        throw new BackupError(result.couldNotCheck.code as never, result.couldNotCheck.message, result.couldNotCheck.hint);
      }
      const outcome = result.testRestore && { pgdata: result.testRestore.pgdata, cleanedUp: result.testRestore.cleanedUp };
      return { valid: result.valid, checks: result.checks, couldNotCheck: result.couldNotCheck, testRestore: outcome };
    },
    restorableWindow: async (metadata) => {
      if (!metadata.systemIdentifier || !metadata.startWalSegment) return null;
      const window = restorableWindow(metadata, await listArchivedSegments(storage, metadata.systemIdentifier));
      if (!window || window.to === window.from) return null;
      return { from: window.from, to: window.to, walSegments: segmentRange(metadata.startWalSegment, window.lastSegment).length };
    },
  };
}
