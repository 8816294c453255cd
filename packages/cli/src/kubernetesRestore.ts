import { BackupError, isServerDataDirectory, restoreInPlace, restoreToNamespace, type Host, type ProgressSink, type RestoreOptions, type RestoreResult, type ResolvedConfig, type Storage } from '@llm-analytics/core';
import { confirmOnTerminal } from './confirm.js';

export type PodRestoreMode = 'namespace' | 'in-place' | 'directory';

/**
 * Which restore a command line asks for when PostgreSQL is in a pod: `--target-namespace` → a
 * new pod there; no `--pgdata`, or the server's own data directory → in place; another
 * directory → a plain restore into that directory in the pod.
 */
export async function podRestoreMode(host: Host, config: ResolvedConfig, flags: { 'target-namespace'?: string; pgdata?: string }): Promise<PodRestoreMode> {
  if (flags['target-namespace']) return 'namespace';
  if (!flags.pgdata) return 'in-place';
  return (await isServerDataDirectory(host, config.connection, flags.pgdata, config.pgBinDir)) ? 'in-place' : 'directory';
}

export async function confirmPodRestore(mode: PodRestoreMode, host: Host, backup: string, flags: { 'target-namespace'?: string; force?: boolean }): Promise<void> {
  if (flags.force) return;
  if (mode === 'in-place') await confirmOnTerminal(`Replace the data of ${host.description} with backup ${backup}? PostgreSQL is stopped (its StatefulSet scaled to 0) until the restore is done.`);
  else await confirmOnTerminal(`Restore backup ${backup} into a new pod in namespace ${flags['target-namespace']}?`);
}

export function runPodRestore(
  mode: Exclude<PodRestoreMode, 'directory'>,
  options: Omit<RestoreOptions, 'pgdata' | 'port' | 'force' | 'start'>,
  extra: { targetNamespace?: string; localPort: number },
  deps: { storage: Storage; host: Host; progress: ProgressSink },
): Promise<RestoreResult> {
  if (mode === 'namespace') {
    if (!extra.targetNamespace) throw new BackupError('INVALID_ARGUMENT', 'No target namespace given.');
    return restoreToNamespace({ ...options, targetNamespace: extra.targetNamespace, localPort: extra.localPort }, deps);
  }
  return restoreInPlace(options, deps);
}
