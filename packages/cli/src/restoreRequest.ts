import { resolve } from 'node:path';
import { BackupError, assertPodRestoreStarts, planPodRestore, planRestore, restore, type KubernetesRestorePlan, type ProgressSink, type RestoreOptions, type RestorePlan, type RestoreResult } from '@llm-analytics/core';
import { confirmOnTerminal } from './confirm.js';
import { commandContext } from './context.js';
import { configInput, kubernetesInput } from './flags.js';
import { confirmPodRestore, podRestoreMode, runPodRestore, type PodRestoreMode } from './kubernetesRestore.js';
import { pitrOptions } from './pitrFlags.js';

/** The flags of `restore` this module reads (oclif's parsed flags). */
export interface RestoreFlags extends Record<string, unknown> {
  'backup-id'?: string;
  pgdata?: string;
  port: number;
  'target-namespace'?: string;
  start: boolean;
  'target-database'?: string;
  force: boolean;
  'skip-validation': boolean;
}

/** A `restore` command line resolved: where PostgreSQL is, which kind of restore, and the core options. */
export interface RestoreRequest {
  mode: PodRestoreMode;
  deps: Awaited<ReturnType<typeof commandContext>>;
  /** A restore into a data directory (this machine, or another directory of the pod). */
  local: RestoreOptions;
  /** In Kubernetes: --target-namespace and the local port of its port-forward line. */
  pod: { targetNamespace?: string; localPort: number };
  flags: RestoreFlags;
}

export async function restoreRequest(flags: RestoreFlags): Promise<RestoreRequest> {
  const kubernetes = kubernetesInput(flags) ?? (flags['target-namespace'] ? {} : undefined);
  const given = flags.pgdata ?? (kubernetes ? undefined : process.env.PGDATA);
  // A directory on this machine is named from here; PostgreSQL's programs run elsewhere (as the
  // postgres account, from its home), so they are given the absolute path.
  const pgdata = given && !kubernetes ? resolve(given) : given;
  if (!pgdata && !kubernetes) throw new BackupError('INVALID_ARGUMENT', 'No target data directory given.', 'Pass --pgdata DIR (or set PGDATA).');
  const deps = await commandContext(configInput(flags), kubernetes);
  const { config, host } = deps;
  const mode = kubernetes ? await podRestoreMode(host, config, { ...flags, pgdata }) : 'directory';
  if (mode !== 'directory') await assertPodRestoreStarts(mode, flags.start);
  const pitr = pitrOptions(flags, config);
  const local: RestoreOptions = {
    config,
    backupId: flags['backup-id'],
    pgdata: pgdata ?? '',
    port: flags.port,
    start: flags.start,
    force: flags.force,
    skipValidation: flags['skip-validation'],
    targetDatabase: flags['target-database'],
    ...pitr,
    // A server in a pod cannot run wal-fetch: the WAL it needs is staged into the pod.
    stageWal: kubernetes !== undefined && pitr.walFetchCommand !== undefined,
  };
  return { mode, deps, local, pod: { targetNamespace: flags['target-namespace'], localPort: flags.port }, flags };
}

/** What the restore would do (--dry-run), computed with reads only; also the check before a local restore. */
export async function planRestoreRequest(request: RestoreRequest): Promise<RestorePlan | KubernetesRestorePlan> {
  const { mode, deps, local, pod } = request;
  if (mode === 'directory') return (await planRestore(local, deps)).plan;
  return planPodRestore(mode, { ...podOptions(local), ...pod }, deps);
}

export async function confirmRestoreRequest(request: RestoreRequest): Promise<void> {
  const { mode, deps, local, flags } = request;
  if (mode !== 'directory') return confirmPodRestore(mode, deps.host, flags['backup-id'] ?? `the newest backup of ${deps.config.database}`, flags);
  // --force: nothing to ask (restore() plans and checks the target itself).
  if (flags.force) return;
  const { plan } = await planRestore(local, deps);
  await confirmOnTerminal(`Restore backup ${plan.backupId} into ${plan.pgdata} (port ${plan.port})?`);
}

export function runRestoreRequest(request: RestoreRequest, signal: AbortSignal, progress: ProgressSink): Promise<RestoreResult> {
  const { mode, deps, local, pod } = request;
  const run = { storage: deps.storage, host: deps.host, progress };
  if (mode === 'directory') return restore({ ...local, signal }, run);
  return runPodRestore(mode, { ...podOptions(local), signal }, pod, run);
}

function podOptions(local: RestoreOptions): Omit<RestoreOptions, 'pgdata' | 'port' | 'force' | 'start'> {
  const { pgdata: _pgdata, port: _port, force: _force, start: _start, ...options } = local;
  return options;
}
