import { readMetadata } from '../catalog/catalog.js';
import type { PgConnection } from '../config/resolve.js';
import { BackupError, asBackupError } from '../errors.js';
import { execChecked } from '../host/execChecked.js';
import type { Host } from '../host/host.js';
import { moveAside, removeTree } from '../host/hostFiles.js';
import type { KubeApi } from '../host/kubernetes/kubeApi.js';
import { KubernetesHost } from '../host/kubernetes/kubernetesHost.js';
import { createRestorePod, readClaimStorage, restorePodPermissions, sourcePodSettings, type RestorePod, type SourcePodSettings } from '../host/kubernetes/restorePod.js';
import { hostPgTool } from '../host/pgBinaries.js';
import { queryRow } from '../postgres/psql.js';
import { noProgress } from '../progress.js';
import { choosePitrBackup } from './pitr.js';
import { restore, type RestoreDeps, type RestoreOptions, type RestoreResult } from './restore.js';
import { serverRunning, startServer, stopServer } from './server.js';
import { validateRestore } from './validate.js';

export interface KubernetesRestoreOptions extends Omit<RestoreOptions, 'pgdata' | 'port' | 'force' | 'start'> {
  /** Seconds to wait for pods to start or go (default 600). */
  podTimeoutSeconds?: number;
}

export interface NamespaceRestoreResult extends RestoreResult {
  namespace: string;
  pod: string;
  persistentVolumeClaim: string;
  createdNamespace: boolean;
  /** How to reach the restored server from this machine. */
  connect: { portForward: string; psql: string };
}

export interface InPlaceRestoreResult extends RestoreResult {
  /** How PostgreSQL was stopped: the StatefulSet scaled to 0 and a helper pod, or pg_ctl in the pod. */
  method: 'statefulset' | 'pg_ctl';
  statefulSet?: string;
}

/** The source pod's PostgreSQL: where its data directory is and which port it listens on. */
async function serverFacts(host: Host, connection: PgConnection, binDir?: string): Promise<{ dataDirectory: string; port: number }> {
  const row = await queryRow<{ dataDirectory: string; port: number }>(host, connection, 'postgres', `select current_setting('data_directory') as "dataDirectory", current_setting('port')::int as "port"`, { binDir });
  return row;
}

/** Whether `pgdata` is the data directory of the server the pod runs (an in-place restore). */
export async function isServerDataDirectory(host: Host, connection: PgConnection, pgdata: string, binDir?: string): Promise<boolean> {
  if (!(host instanceof KubernetesHost)) return false;
  const facts = await serverFacts(host, connection, binDir).catch(() => undefined);
  return facts !== undefined && facts.dataDirectory.replace(/\/+$/, '') === pgdata.replace(/\/+$/, '');
}

/**
 * Whether WAL is replayed: walFetchCommand or stageWal says so (see RestoreOptions). In a pod WAL
 * is always staged (the server cannot run wal-fetch).
 */
function replaySignal(options: KubernetesRestoreOptions): readonly string[] | undefined {
  return options.walFetchCommand ?? (options.stageWal ? [] : undefined);
}

function kubernetesHostOf(host: Host, what: string): KubernetesHost {
  if (!(host instanceof KubernetesHost)) throw new BackupError('INVALID_ARGUMENT', `${what} needs PostgreSQL in a Kubernetes pod.`, 'Name the database pod with -n/--namespace and --pod (or --pod-selector).');
  return host;
}

/** Reads the source pod and its server's data directory and port; the settings a restore pod copies. */
export async function readSourceSettings(source: KubernetesHost, connection: PgConnection, binDir?: string): Promise<{ api: KubeApi; settings: SourcePodSettings }> {
  const { api } = await source.ready();
  const facts = await serverFacts(source, connection, binDir).catch((error: unknown) => {
    const cause = asBackupError(error);
    throw new BackupError(cause.code, `Could not ask PostgreSQL in ${source.description} for its data directory and port: ${cause.message}`, 'The database pod must be running and reachable with the connection settings (PGHOST, PGPORT, PGUSER).');
  });
  const settings = sourcePodSettings(source, source.pod!, facts);
  settings.storage = await readClaimStorage(api, settings);
  return { api, settings };
}

/**
 * `restore --target-namespace NS`: a new TimescaleDB pod (and claim) in NS, from the database
 * pod's image and settings (NS is created when absent), the backup restored into it by the
 * ordinary restore engine through exec, started, recovered and validated. The pod stays, serving
 * the restored copy; the result says how to connect. On failure what was created is deleted —
 * except after a validation failure, when the server is kept for inspection.
 */
export async function restoreToNamespace(options: KubernetesRestoreOptions & { targetNamespace: string; localPort: number }, deps: RestoreDeps): Promise<NamespaceRestoreResult> {
  const source = kubernetesHostOf(deps.host, '--target-namespace');
  const progress = deps.progress ?? noProgress;
  const { base } = await choosePitrBackup({ ...options, walFetchCommand: replaySignal(options) }, deps.storage, (deps.now ?? (() => new Date()))());
  const { api, settings } = await readSourceSettings(source, options.config.connection, options.config.pgBinDir);
  const namespaceKnown = (await api.namespaceExists(options.targetNamespace)) !== false;
  await api.requirePermissions([
    ...(namespaceKnown ? [] : [{ verb: 'create', resource: 'namespaces' }]),
    { namespace: options.targetNamespace, verb: 'create', resource: 'persistentvolumeclaims' },
    { namespace: options.targetNamespace, verb: 'delete', resource: 'persistentvolumeclaims' },
    ...restorePodPermissions(options.targetNamespace),
  ]);
  progress({ phase: 'restore', message: `Creating a TimescaleDB pod in namespace ${options.targetNamespace}` });
  const pod = await createRestorePod(source, settings, {
    namespace: options.targetNamespace,
    purpose: 'restore',
    backupId: base.id,
    storageBytes: base.objects[0]?.rawSize ?? base.sizeBytes,
    keep: true,
    timeoutMs: (options.podTimeoutSeconds ?? 600) * 1000,
    signal: options.signal,
  });
  try {
    const result = await restore({ ...options, pgdata: pod.pgdata, port: pod.port, force: false, start: true, stageWal: replaySignal(options) !== undefined }, { ...deps, host: pod.host });
    const user = options.config.connection.user ?? 'postgres';
    const database = options.targetDatabase ?? result.backupId.replace(/^backup-(.+)-\d{8}T\d{6}Z-[0-9a-f]{6}$/, '$1');
    const connect = {
      portForward: `kubectl port-forward -n ${pod.namespace} pod/${pod.name} ${options.localPort}:${pod.port}`,
      psql: `psql -h 127.0.0.1 -p ${options.localPort} -U ${user} -d ${database}`,
    };
    result.messages.push(`Restored into pod ${pod.namespace}/${pod.name} (claim ${pod.claimName}); connect with: ${connect.portForward} & ${connect.psql}`);
    return { ...result, namespace: pod.namespace, pod: pod.name, persistentVolumeClaim: pod.claimName!, createdNamespace: pod.createdNamespace, connect };
  } catch (caught) {
    const error = options.signal?.aborted ? new BackupError('CANCELLED', 'The restore was cancelled.') : asBackupError(caught);
    if (error.code === 'RESTORE_VALIDATION_FAILED') {
      throw new BackupError(error.code, error.message, `The pod ${pod.namespace}/${pod.name} is kept for inspection (kubectl exec -n ${pod.namespace} ${pod.name} -- psql); delete its namespace or the pod and claim ${pod.claimName} when done.`);
    }
    const removed = await pod.remove().catch(() => false);
    throw new BackupError(error.code, `${error.message}${removed ? ` The pod, claim${pod.createdNamespace ? ' and namespace' : ''} created for it were deleted.` : ` The pod ${pod.namespace}/${pod.name} could not be deleted; delete it with kubectl.`}`, error.hint);
  }
}

/**
 * Restore into the database pod's own data directory. PostgreSQL must not run on it, and on a real
 * cluster it usually is the container's main process: stopping it inside the pod makes the kubelet
 * restart the container (whose entrypoint would start, or initdb, the directory being restored).
 * So, as pgBackRest-based operators do:
 * - pod owned by a StatefulSet: scale it to 0 (the pod goes; the claim stays), run a helper pod of
 *   the same image mounting the same claim, restore there (old data moved aside), start, recover,
 *   validate, stop; then remove the old data, delete the helper, scale back and validate through
 *   the restarted pod. On failure the old data is put back before scaling up.
 * - a pod without an owner whose PostgreSQL is not its PID 1 (started by pg_ctl, as our restore
 *   pods do): stop it with pg_ctl in the pod, restore, start, validate; put the old data back and
 *   start it again on failure.
 * - otherwise the restore is refused before anything is changed.
 */
export async function restoreInPlace(options: KubernetesRestoreOptions, deps: RestoreDeps): Promise<InPlaceRestoreResult> {
  const source = kubernetesHostOf(deps.host, 'An in-place restore');
  const { chosen } = await choosePitrBackup({ ...options, walFetchCommand: replaySignal(options) }, deps.storage, (deps.now ?? (() => new Date()))());
  const { api, settings } = await readSourceSettings(source, options.config.connection, options.config.pgBinDir);
  options = { ...options, backupId: chosen.id };
  if (settings.statefulSet) {
    if (!settings.dataVolume.claimName) throw new BackupError('INVALID_ARGUMENT', `The data directory of ${source.description} is not on a PersistentVolumeClaim; a helper pod could not mount it.`, 'Restore with --target-namespace instead.');
    await api.requirePermissions([
      { namespace: settings.namespace, verb: 'get', group: 'apps', resource: 'statefulsets' },
      { namespace: settings.namespace, verb: 'patch', group: 'apps', resource: 'statefulsets', subresource: 'scale' },
      ...restorePodPermissions(settings.namespace),
    ]);
    return restoreThroughHelperPod(options, deps, source, api, settings);
  }
  const postmasterPid = (await execChecked(source, ['head', '-n', '1', '--', `${settings.pgdata}/postmaster.pid`])).stdout.trim();
  if (postmasterPid === '1') {
    throw new BackupError('INVALID_ARGUMENT', `PostgreSQL is the main process of pod ${source.description} and no StatefulSet owns the pod: stopping it would end the container.`, 'Run it under a StatefulSet (an in-place restore then scales it down and restores through a helper pod), or restore with --target-namespace.');
  }
  return restoreWithPgCtl(options, deps, source, settings);
}

async function restoreThroughHelperPod(options: KubernetesRestoreOptions, deps: RestoreDeps, source: KubernetesHost, api: KubeApi, settings: SourcePodSettings): Promise<InPlaceRestoreResult> {
  const progress = deps.progress ?? noProgress;
  const timeoutMs = (options.podTimeoutSeconds ?? 600) * 1000;
  const statefulSet = settings.statefulSet!;
  const replicas = (await api.readStatefulSet(settings.namespace, statefulSet)).spec?.replicas ?? 1;
  const early: string[] = [];
  progress({ phase: 'restore', message: `Scaling StatefulSet ${settings.namespace}/${statefulSet} to 0` });
  await api.scaleStatefulSet(settings.namespace, statefulSet, 0);
  early.push(`StatefulSet ${settings.namespace}/${statefulSet} scaled from ${replicas} to 0`);
  let helper: RestorePod | undefined;
  let result: RestoreResult | undefined;
  let failure: BackupError | undefined;
  try {
    await api.waitForPod(settings.namespace, settings.pod, 'gone', { timeoutMs, signal: options.signal });
    helper = await createRestorePod(source, settings, { namespace: settings.namespace, purpose: 'restore-helper', backupId: options.backupId ?? '', existingClaim: settings.dataVolume.claimName, keep: false, timeoutMs, signal: options.signal });
    early.push(`Helper pod ${helper.namespace}/${helper.name} mounts claim ${settings.dataVolume.claimName}`);
    result = await restoreMovingAside(options, deps, helper.host, settings, false);
    await stopServer(helper.host, settings.pgdata);
  } catch (caught) {
    failure = options.signal?.aborted ? new BackupError('CANCELLED', 'The restore was cancelled.') : asBackupError(caught);
  } finally {
    if (helper) await helper.remove().catch(() => false);
    // The database comes back in any case: restored, or its old data put back.
    await api.scaleStatefulSet(settings.namespace, statefulSet, replicas);
  }
  await api.waitForPod(settings.namespace, settings.pod, 'running', { timeoutMs });
  if (failure) throw failure;
  const validated = await validateAfterRestart(source, options, deps, result!);
  validated.messages.unshift(...early);
  validated.messages.push(`StatefulSet ${settings.namespace}/${statefulSet} scaled back to ${replicas}; ${source.description} serves the restored data`);
  return { ...validated, method: 'statefulset', statefulSet };
}

async function restoreWithPgCtl(options: KubernetesRestoreOptions, deps: RestoreDeps, source: KubernetesHost, settings: SourcePodSettings): Promise<InPlaceRestoreResult> {
  (deps.progress ?? noProgress)({ phase: 'restore', message: `Stopping PostgreSQL in ${source.description}` });
  await execChecked(source, [hostPgTool(source, 'pg_ctl'), '-D', settings.pgdata, '-m', 'fast', '-w', 'stop']);
  const result = await restoreMovingAside(options, deps, source, settings, true);
  result.messages.unshift(`PostgreSQL in ${source.description} stopped with pg_ctl (it is not the pod's main process)`);
  return { ...result, method: 'pg_ctl' };
}

/**
 * The restore engine on the data directory itself: the old contents are moved aside first, kept
 * until the restored server is validated, then removed; on any failure the restored files go and
 * the old contents are put back (and started again when `restartOnFailure`).
 */
async function restoreMovingAside(options: KubernetesRestoreOptions, deps: RestoreDeps, host: Host, settings: SourcePodSettings, restartOnFailure: boolean): Promise<RestoreResult> {
  const pgdata = settings.pgdata;
  if (settings.dataVolume.mountPath === pgdata) {
    throw new BackupError('INVALID_ARGUMENT', `The data directory ${pgdata} is the volume's mount point; it cannot be moved aside.`, 'Set PGDATA to a subdirectory of the volume (as the postgres image documents), or restore with --target-namespace.');
  }
  const aside = `${pgdata}.before-restore-${(deps.now ?? (() => new Date()))().toISOString().replace(/[-:.]/g, '')}`;
  await moveAside(host, pgdata, aside);
  try {
    const result = await restore({ ...options, pgdata, port: settings.port, force: false, start: true, stageWal: replaySignal(options) !== undefined }, { ...deps, host });
    result.messages.unshift(`Previous data of ${pgdata} moved aside to ${aside}`);
    await removeTree(host, aside);
    result.messages.push(`Previous data ${aside} removed after the restored server was validated`);
    return result;
  } catch (caught) {
    const error = options.signal?.aborted ? new BackupError('CANCELLED', 'The restore was cancelled.') : asBackupError(caught);
    if (await serverRunning(host, pgdata).catch(() => false)) await stopServer(host, pgdata).catch(() => undefined);
    await removeTree(host, pgdata).catch(() => undefined);
    const putBack = await moveAside(host, aside, pgdata).then(() => true, () => false);
    if (putBack && restartOnFailure) await startServer(host, pgdata, settings.port).catch(() => undefined);
    const what = putBack ? ` The previous data was put back in ${pgdata}${restartOnFailure ? ' and started again' : ''}.` : ` The previous data could not be put back: it is in ${aside}.`;
    throw new BackupError(error.code, `${error.message}${what}`, error.hint);
  }
}

/** After the StatefulSet is back: the pod's own server must answer and match the backup. */
async function validateAfterRestart(source: KubernetesHost, options: KubernetesRestoreOptions, deps: RestoreDeps, result: RestoreResult): Promise<RestoreResult> {
  const connection = options.config.connection;
  const deadline = Date.now() + (options.podTimeoutSeconds ?? 600) * 1000;
  for (;;) {
    try {
      if (options.skipValidation) {
        await queryRow(source, connection, 'postgres', 'select 1 as "ok"', { binDir: options.config.pgBinDir });
        return result;
      }
      const metadata = await readMetadata(deps.storage, result.baseBackupId ?? result.backupId);
      const replayed = result.recoverTo !== undefined && !/backup end/.test(result.recoverTo);
      const validation = await validateRestore(source, connection, replayed ? { ...metadata, tableCount: undefined } : metadata, options.targetDatabase ?? metadata.database, options.config.pgBinDir);
      if (!validation.valid) throw new BackupError('RESTORE_VALIDATION_FAILED', `After the restart, ${source.description} does not match the backup: ${validation.problems.join('; ')}.`);
      result.messages.push(`Verified through ${source.description}: ${validation.tableCount} tables`);
      return { ...result, validation, tablesRestored: validation.tableCount, databaseSizeBytes: validation.databaseSizeBytes };
    } catch (caught) {
      const error = asBackupError(caught);
      if (error.code !== 'DATABASE_UNREACHABLE' || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}
