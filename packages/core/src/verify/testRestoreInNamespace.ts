import type { ResolvedConfig } from '../config/resolve.js';
import { BackupError, asBackupError } from '../errors.js';
import type { Host } from '../host/host.js';
import { KubernetesHost } from '../host/kubernetes/kubernetesHost.js';
import { createRestorePod, restorePodPermissions, type RestorePod } from '../host/kubernetes/restorePod.js';
import type { ProgressSink } from '../progress.js';
import { readSourceSettings } from '../restore/kubernetesRestore.js';
import type { Storage } from '../storage/storage.js';
import type { BackupMetadata } from '../types/metadata.js';
import { CHECK, checkFromError } from './checks.js';
import { testRestore, type TestRestoreReport } from './testRestore.js';

/**
 * `verify-backup --test-restore --test-namespace NS`: the same test restore, in a temporary pod of
 * the database pod's image in NS (with its own claim; NS is created when absent). Everything
 * created — pod, claim, the namespace if it was created — is deleted in a `finally`, also when
 * the restore fails and on cancellation; `cleanedUp` is true only when the pod and claim are gone.
 */
export async function testRestoreInNamespace(
  metadata: BackupMetadata,
  options: { config: ResolvedConfig; testNamespace: string; signal?: AbortSignal; podTimeoutSeconds?: number },
  deps: { storage: Storage; host: Host; progress?: ProgressSink },
): Promise<TestRestoreReport> {
  const started = Date.now();
  if (!(deps.host instanceof KubernetesHost)) throw new BackupError('INVALID_ARGUMENT', '--test-namespace needs the database pod to copy its image and settings from.', 'Name it with -n/--namespace and --pod.');
  const source = deps.host;
  let pod: RestorePod | undefined;
  let report: TestRestoreReport | undefined;
  try {
    const { api, settings } = await readSourceSettings(source, options.config.connection, options.config.pgBinDir);
    const namespaceKnown = (await api.namespaceExists(options.testNamespace)) !== false;
    await api.requirePermissions([
      ...(namespaceKnown ? [] : [{ verb: 'create', resource: 'namespaces' }, { verb: 'delete', resource: 'namespaces' }]),
      { namespace: options.testNamespace, verb: 'create', resource: 'persistentvolumeclaims' },
      { namespace: options.testNamespace, verb: 'delete', resource: 'persistentvolumeclaims' },
      ...restorePodPermissions(options.testNamespace),
    ]);
    deps.progress?.({ phase: 'test-restore', message: `Creating a temporary pod in namespace ${options.testNamespace}` });
    pod = await createRestorePod(source, { ...settings, storage: undefined }, {
      namespace: options.testNamespace,
      purpose: 'verify',
      backupId: metadata.id,
      storageBytes: metadata.objects[0]?.rawSize ?? metadata.sizeBytes,
      keep: false,
      timeoutMs: (options.podTimeoutSeconds ?? 600) * 1000,
      signal: options.signal,
    });
    report = await testRestore(metadata, { config: options.config, pgdata: pod.pgdata, signal: options.signal }, { ...deps, host: pod.host });
  } catch (caught) {
    const error = asBackupError(caught);
    report = (error as BackupError & { testRestore?: TestRestoreReport }).testRestore ?? {
      check: checkFromError(CHECK.testRestore, error, `the test restore in namespace ${options.testNamespace}`).check,
      pgdata: pod?.pgdata ?? '',
      durationSeconds: 0,
      cleanedUp: false,
    };
    if (error.code === 'CANCELLED') {
      await finish(report, pod, started);
      throw Object.assign(error, { testRestore: report });
    }
  }
  await finish(report, pod, started);
  return report;
}

/** Deletes the pod, claim and namespace (when created here) and says so in the row. */
async function finish(report: TestRestoreReport, pod: RestorePod | undefined, started: number): Promise<void> {
  const removed = pod ? await pod.remove().catch(() => false) : true;
  report.cleanedUp = pod ? removed : true;
  report.durationSeconds = (Date.now() - started) / 1000;
  if (pod) {
    const what = `pod ${pod.namespace}/${pod.name}, claim ${pod.claimName}${pod.createdNamespace ? `, namespace ${pod.namespace}` : ''}`;
    const base = report.check.message.replace(/ \([\d.]+ s, (removed afterwards|NOT removed: .*)\)$/, '');
    report.check = { ...report.check, message: `${base} (in ${what}; ${report.durationSeconds.toFixed(1)} s, ${removed ? 'deleted afterwards' : 'NOT deleted: remove them with kubectl'})` };
  }
}
