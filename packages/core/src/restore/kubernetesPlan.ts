import { BackupError } from '../errors.js';
import { execChecked } from '../host/execChecked.js';
import { assertDataDirectoryMovable, restorePodPermissions } from '../host/kubernetes/restorePod.js';
import { formatSize } from '../units.js';
import { kubernetesHostOf, planRestoreToNamespace, readSourceSettings, replaySignal, type KubernetesRestoreOptions, type NamespaceRestoreOptions, type NamespaceRestorePlan } from './kubernetesRestore.js';
import { choosePitrBackup } from './pitr.js';
import { asidePath, backupPlanFields, stagedWalDirectory, type RestoreDeps, type RestorePlan } from './restore.js';

/** A restore in Kubernetes: into a new pod of another namespace, or into the database pod's own data directory. */
export type KubernetesRestoreMode = 'namespace' | 'in-place';

/**
 * What `restore --dry-run` prints for a restore in Kubernetes: the fields of the local plan (the
 * backup, the PITR target and window, data directory, port), what is created, scaled or stopped,
 * and the steps in order. Planning only reads: the source pod, its server (psql), the StatefulSet,
 * the namespace, and SelfSubjectAccessReviews; a restore that would be refused is refused here too.
 */
export interface KubernetesRestorePlan extends RestorePlan {
  mode: KubernetesRestoreMode;
  /** In place: PostgreSQL stopped by scaling its StatefulSet to 0 (helper pod), or with pg_ctl in the pod. */
  method?: 'statefulset' | 'pg_ctl';
  /** The database pod whose image and settings are used ("pod NS/NAME"). */
  sourcePod: string;
  image: string;
  /** --target-namespace: exists false means it is created; undefined: namespaces cannot be read (taken as existing). */
  namespace?: { name: string; exists: boolean | undefined };
  persistentVolumeClaim?: { name: string; request?: string; storageClassName?: string; created: boolean };
  /** The pod the restore creates (its 6 hex are chosen at creation). */
  pod?: { namespace: string; name: string; restartPolicy: 'Always' | 'Never' };
  statefulSet?: { namespace: string; name: string; replicas: number };
  connect?: NamespaceRestorePlan['connect'];
  steps: string[];
}

/**
 * `restore --no-start` cannot be honoured in Kubernetes: a new pod's restore is validated (and
 * everything deleted on failure) and the connect line printed for a running server; in place, the
 * old data is kept aside only until the restored server has run and been validated, and a
 * StatefulSet's pod starts PostgreSQL itself when it is scaled back.
 */
export function assertPodRestoreStarts(mode: KubernetesRestoreMode, start: boolean): void {
  if (start) return;
  if (mode === 'namespace') {
    throw new BackupError('INVALID_ARGUMENT', '--no-start is not available with --target-namespace: the restore starts the new pod\'s server to recover and validate it, and deletes what it created if that fails.', 'Stop the server afterwards if needed (kubectl exec -n NS POD -- pg_ctl -D PGDATA stop), or restore into a directory with --pgdata DIR --no-start.');
  }
  throw new BackupError('INVALID_ARGUMENT', '--no-start is not available for an in-place restore: the previous data is kept aside only until the restored server has started and been validated, and a StatefulSet\'s pod starts PostgreSQL itself when it is scaled back.', 'Restore into another directory of the pod with --pgdata DIR --no-start, or into a new pod with --target-namespace.');
}

/** The dry run of a restore in Kubernetes: what restoreToNamespace or restoreInPlace would do; creates and changes nothing. */
export async function planPodRestore(mode: KubernetesRestoreMode, options: KubernetesRestoreOptions & { targetNamespace?: string; localPort: number }, deps: RestoreDeps): Promise<KubernetesRestorePlan> {
  if (mode === 'in-place') return planRestoreInPlace(options, deps);
  if (!options.targetNamespace) throw new BackupError('INVALID_ARGUMENT', 'No target namespace given.');
  return fromNamespacePlan(await planRestoreToNamespace(options as NamespaceRestoreOptions, deps));
}

function fromNamespacePlan(p: NamespaceRestorePlan): KubernetesRestorePlan {
  const name = 'llm-analytics-restore-<6 hex>';
  const { namespace, namespaceExists, claim, sourcePod, image, connect, ...backup } = p;
  const plan = { ...backup, targetHost: `pod ${namespace}/${name} (new)`, targetState: 'missing' as const, start: true };
  const namespaceStep = namespaceExists === false ? `Create namespace ${namespace}` : namespaceExists ? `Use the existing namespace ${namespace}` : `Use namespace ${namespace} (namespaces cannot be read with these permissions: taken as existing)`;
  return {
    ...plan,
    mode: 'namespace',
    sourcePod,
    image,
    namespace: { name: namespace, exists: namespaceExists },
    persistentVolumeClaim: { name, request: claim.request, storageClassName: claim.storageClassName, created: true },
    pod: { namespace, name, restartPolicy: 'Always' },
    connect,
    steps: [
      namespaceStep,
      `Create claim ${namespace}/${name} requesting ${claim.request}${claim.storageClassName ? ` (storage class ${claim.storageClassName})` : ''}`,
      `Create pod ${namespace}/${name} from image ${image} (the settings of ${sourcePod}; restart policy Always), PGDATA ${plan.pgdata}`,
      ...restoreSteps(plan),
      `Keep the pod serving the restored copy; connect with: ${connect.portForward} & ${connect.psql}`,
      'On failure: delete what was created (after a failed validation the pod is kept for inspection)',
    ],
  };
}

/**
 * Everything restoreInPlace checks before it stops anything, and what it would then do. Refuses
 * as it does: a StatefulSet pod whose data is not on a claim, PGDATA being the mount point, a pod
 * without owner whose PostgreSQL is its PID 1, a missing permission.
 */
export async function planRestoreInPlace(options: KubernetesRestoreOptions, deps: RestoreDeps): Promise<KubernetesRestorePlan> {
  const source = kubernetesHostOf(deps.host, 'An in-place restore');
  const now = (deps.now ?? (() => new Date()))();
  const pitr = await choosePitrBackup({ ...options, walFetchCommand: replaySignal(options) }, deps.storage, now);
  const { api, settings } = await readSourceSettings(source, options.config.connection, options.config.pgBinDir);
  const { namespace, pgdata } = settings;
  const aside = asidePath(pgdata, now);
  const plan = {
    ...backupPlanFields(pitr, deps.storage),
    targetHost: source.description, pgdata, targetState: 'not-empty' as const, movedAsideTo: aside, port: settings.port, start: true,
    validate: !options.skipValidation, targetDatabase: options.targetDatabase, mode: 'in-place' as const, sourcePod: source.description, image: settings.container.image ?? '(the pod\'s image)',
  };
  if (settings.statefulSet) {
    const claim = settings.dataVolume.claimName;
    if (!claim) throw new BackupError('INVALID_ARGUMENT', `The data directory of ${source.description} is not on a PersistentVolumeClaim; a helper pod could not mount it.`, 'Restore with --target-namespace instead.');
    assertDataDirectoryMovable(settings);
    await api.requirePermissions([
      { namespace, verb: 'get', group: 'apps', resource: 'statefulsets' },
      { namespace, verb: 'patch', group: 'apps', resource: 'statefulsets', subresource: 'scale' },
      ...restorePodPermissions(namespace),
    ]);
    const replicas = (await api.readStatefulSet(namespace, settings.statefulSet)).spec?.replicas ?? 1;
    const helper = 'llm-analytics-restore-helper-<6 hex>';
    const statefulSet = `StatefulSet ${namespace}/${settings.statefulSet}`;
    const fields = { ...plan, targetHost: `pod ${namespace}/${helper} (new, mounts claim ${claim})` };
    return {
      ...fields,
      method: 'statefulset',
      statefulSet: { namespace, name: settings.statefulSet, replicas },
      persistentVolumeClaim: { name: claim, request: settings.storage?.request, storageClassName: settings.storage?.storageClassName, created: false },
      pod: { namespace, name: helper, restartPolicy: 'Never' },
      steps: [
        `Scale ${statefulSet} from ${replicas} to 0 and wait until pod ${namespace}/${settings.pod} is gone (its PostgreSQL stops with it)`,
        `Create helper pod ${namespace}/${helper} from image ${plan.image} mounting claim ${claim} at ${settings.dataVolume.mountPath} (restart policy Never)`,
        `Move ${pgdata} aside to ${aside}`,
        ...restoreSteps(fields),
        `Stop PostgreSQL in the helper pod, remove ${aside}, delete the helper pod`,
        `Scale ${statefulSet} back to ${replicas}, wait for pod ${namespace}/${settings.pod} to run and validate through it`,
        `On failure: remove the restored files, move ${aside} back to ${pgdata}, delete the helper pod and scale back to ${replicas}`,
      ],
    };
  }
  assertDataDirectoryMovable(settings);
  const postmasterPid = (await execChecked(source, ['head', '-n', '1', '--', `${pgdata}/postmaster.pid`])).stdout.trim();
  if (postmasterPid === '1') {
    throw new BackupError('INVALID_ARGUMENT', `PostgreSQL is the main process of pod ${source.description} and no StatefulSet owns the pod: stopping it would end the container.`, 'Run it under a StatefulSet (an in-place restore then scales it down and restores through a helper pod), or restore with --target-namespace.');
  }
  return {
    ...plan,
    method: 'pg_ctl',
    steps: [
      `Stop PostgreSQL in ${source.description} with pg_ctl -m fast (it is not the pod's main process)`,
      `Move ${pgdata} aside to ${aside}`,
      ...restoreSteps(plan),
      `Remove ${aside} once the restored server is validated`,
      `On failure: remove the restored files, move ${aside} back to ${pgdata} and start it again`,
    ],
  };
}

/** The restore engine's own steps, run through exec in the pod (restore()). */
function restoreSteps(plan: Pick<RestorePlan, 'baseBackupId' | 'sizeBytes' | 'pgdata' | 'port' | 'replayWal' | 'recoverTo' | 'targetDatabase' | 'database' | 'validate'>): string[] {
  const staged = stagedWalDirectory(plan.pgdata);
  return [
    `Download backup ${plan.baseBackupId} (${formatSize(plan.sizeBytes)}) and extract it into ${plan.pgdata} through exec`,
    ...(plan.replayWal ? [`Stage the archived WAL recovery needs in ${staged} (restore_command = cp from there)`] : []),
    plan.replayWal
      ? `Start PostgreSQL on port ${plan.port}, replay WAL to ${plan.recoverTo} and promote; then remove ${staged} and the recovery settings from postgresql.auto.conf`
      : `Start PostgreSQL on port ${plan.port} (recovery to ${plan.recoverTo})`,
    ...(plan.targetDatabase ? [`Rename database ${plan.database} to ${plan.targetDatabase}`] : []),
    ...(plan.validate ? ['Validate the restored database (connects, tables, size)'] : []),
  ];
}
