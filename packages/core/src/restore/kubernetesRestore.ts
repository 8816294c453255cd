import { readMetadata } from '../catalog/catalog.js';
import type { PgConnection } from '../config/resolve.js';
import { BackupError, asBackupError } from '../errors.js';
import { execChecked } from '../host/execChecked.js';
import type { Host } from '../host/host.js';
import { moveAside, removeTree } from '../host/hostFiles.js';
import type { KubeApi } from '../host/kubernetes/kubeApi.js';
import { KubernetesHost } from '../host/kubernetes/kubernetesHost.js';
import { assertDataDirectoryMovable, createRestorePod, readClaimStorage, restoreClaimRequest, restorePodPermissions, restorePodPgdata, sourcePodSettings, type RestorePod, type SourcePodSettings } from '../host/kubernetes/restorePod.js';
import { hostPgTool } from '../host/pgBinaries.js';
import { queryRow } from '../postgres/psql.js';
import { noProgress } from '../progress.js';
import { choosePitrBackup } from './pitr.js';
import { describeTarget } from './recovery.js';
import { restore, type RestoreDeps, type RestoreOptions, type RestoreResult } from './restore.js';
import { serverRunning, startServer, stopServer } from './server.js';
import { validateRestore } from './validate.js';
import type { PitrWindow } from '../wal/pitrWindow.js';

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
export function replaySignal(options: KubernetesRestoreOptions): readonly string[] | undefined {
  return options.walFetchCommand ?? (options.stageWal ? [] : undefined);
}

export function kubernetesHostOf(host: Host, what: string): KubernetesHost {
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

export type NamespaceRestoreOptions = KubernetesRestoreOptions & {
  targetNamespace: string;
  /** Local port of the printed `kubectl port-forward` line. */
  localPort: number;
};

/** What `restore --target-namespace NS` will do, decided before anything is created (the TUI's dry-run plan). */
export interface NamespaceRestorePlan {
  backupId: string;
  /** The full backup whose data is extracted (differs from backupId for an incremental). */
  baseBackupId: string;
  database: string;
  targetDatabase?: string;
  backupEndTime?: string;
  repository: string;
  /** What recovery replays to, as planRestore says it. */
  recoverTo: string;
  sizeBytes: number;
  /** The database pod the new one copies ("pod NS/POD"), and its image. */
  sourcePod: string;
  image: string;
  namespace: string;
  /** false: created by the restore; undefined: not allowed to read namespaces (taken as existing). */
  namespaceExists: boolean | undefined;
  /** The claim created for the new pod: its requested size and storage class. */
  claim: { request: string; storageClassName?: string };
  /** PostgreSQL's port in the new pod (the source's). */
  port: number;
  validate: boolean;
  /** How to connect once it runs; the pod's name is chosen at creation (shown as <pod>). */
  connect: { portForward: string; psql: string };
  /** Where the backup was taken (its metadata's source). */
  source: string;
  /** Whether archived WAL is staged and replayed, and the window a PITR target must fall in. */
  replayWal: boolean;
  window?: PitrWindow;
  /** The data directory in the new pod. */
  pgdata: string;
}

function connectLines(namespace: string, pod: string, localPort: number, port: number, user: string, database: string): NamespaceRestoreResult['connect'] {
  return {
    portForward: `kubectl port-forward -n ${namespace} pod/${pod} ${localPort}:${port}`,
    psql: `psql -h 127.0.0.1 -p ${localPort} -U ${user} -d ${database}`,
  };
}

/**
 * Everything restoreToNamespace decides before it creates anything: the backup (and its full
 * base), the source pod's settings, whether NS exists, and that every permission is granted.
 */
async function prepareNamespaceRestore(options: NamespaceRestoreOptions, deps: RestoreDeps) {
  const source = kubernetesHostOf(deps.host, '--target-namespace');
  const pitr = await choosePitrBackup({ ...options, walFetchCommand: replaySignal(options) }, deps.storage, (deps.now ?? (() => new Date()))());
  const { api, settings } = await readSourceSettings(source, options.config.connection, options.config.pgBinDir);
  const namespaceExists = await api.namespaceExists(options.targetNamespace);
  await api.requirePermissions([
    ...(namespaceExists === false ? [{ verb: 'create', resource: 'namespaces' }] : []),
    { namespace: options.targetNamespace, verb: 'create', resource: 'persistentvolumeclaims' },
    { namespace: options.targetNamespace, verb: 'delete', resource: 'persistentvolumeclaims' },
    ...restorePodPermissions(options.targetNamespace),
  ]);
  const { chosen, base, target } = pitr;
  const storageBytes = base.objects[0]?.rawSize ?? base.sizeBytes;
  const plan: NamespaceRestorePlan = {
    backupId: chosen.id,
    baseBackupId: base.id,
    database: chosen.database,
    targetDatabase: options.targetDatabase,
    backupEndTime: chosen.endTime,
    repository: deps.storage.location,
    recoverTo: target ? describeTarget(target) : pitr.replayWal ? 'the end of the archived WAL' : 'the backup end (no archived WAL)',
    sizeBytes: base.sizeBytes,
    sourcePod: source.description,
    image: settings.container.image ?? '(the pod\'s image)',
    namespace: options.targetNamespace,
    namespaceExists,
    claim: { request: restoreClaimRequest(settings, storageBytes), storageClassName: settings.storage?.storageClassName },
    port: settings.port,
    validate: !options.skipValidation,
    connect: connectLines(options.targetNamespace, '<pod>', options.localPort, settings.port, options.config.connection.user ?? 'postgres', options.targetDatabase ?? base.database),
    source: chosen.source ?? 'unknown',
    replayWal: pitr.replayWal,
    window: pitr.window,
    pgdata: restorePodPgdata(settings, false),
  };
  return { plan, source, base, settings, storageBytes };
}

/** The dry run of restoreToNamespace: reads the source pod and the cluster, checks permissions, creates nothing. */
export async function planRestoreToNamespace(options: NamespaceRestoreOptions, deps: RestoreDeps): Promise<NamespaceRestorePlan> {
  return (await prepareNamespaceRestore(options, deps)).plan;
}

/**
 * `restore --target-namespace NS`: a new TimescaleDB pod (and claim) in NS, from the database
 * pod's image and settings (NS is created when absent), the backup restored into it by the
 * ordinary restore engine through exec, started, recovered and validated. The pod stays, serving
 * the restored copy; the result says how to connect. On failure what was created is deleted —
 * except after a validation failure, when the server is kept for inspection.
 */
export async function restoreToNamespace(options: NamespaceRestoreOptions, deps: RestoreDeps): Promise<NamespaceRestoreResult> {
  const progress = deps.progress ?? noProgress;
  const { source, base, settings, storageBytes } = await prepareNamespaceRestore(options, deps);
  progress({ phase: 'restore', message: `Creating a TimescaleDB pod in namespace ${options.targetNamespace}` });
  const pod = await createRestorePod(source, settings, {
    namespace: options.targetNamespace,
    purpose: 'restore',
    backupId: base.id,
    storageBytes,
    keep: true,
    timeoutMs: (options.podTimeoutSeconds ?? 600) * 1000,
    signal: options.signal,
  });
  try {
    const result = await restore({ ...options, pgdata: pod.pgdata, port: pod.port, force: false, start: true, stageWal: replaySignal(options) !== undefined }, { ...deps, host: pod.host });
    const connect = connectLines(pod.namespace, pod.name, options.localPort, pod.port, options.config.connection.user ?? 'postgres', options.targetDatabase ?? base.database);
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
  assertDataDirectoryMovable(settings); // before the StatefulSet is scaled down
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
  assertDataDirectoryMovable(settings);
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
