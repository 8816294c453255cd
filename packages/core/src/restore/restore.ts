import { isRestorable, readMetadata } from '../catalog/catalog.js';
import type { PgConnection, ResolvedConfig } from '../config/resolve.js';
import { BackupError, asBackupError } from '../errors.js';
import type { Host } from '../host/host.js';
import { appendToFile, directoryState, makePrivateDirectory, moveAside, readTextFile, removeTree, emptyDirectory, replaceFileContents } from '../host/hostFiles.js';
import { sharedCodecPool } from '../pipeline/codecPool.js';
import { noProgress, type ProgressSink } from '../progress.js';
import type { Storage } from '../storage/storage.js';
import type { BackupMetadata } from '../types/metadata.js';
import { extractBackup, prepareObjectKey } from './extract.js';
import { recoveryConfText, describeTarget, shellQuote, withoutRecoverySettings, type PitrTarget } from './recovery.js';
import { stageWal } from './walStaging.js';
import { choosePitrBackup, waitForPromotion, type PitrChoice } from './pitr.js';
import { serverRunning, startServer } from './server.js';
import { ensureUsableSocketDirectories } from './socketDirectory.js';
import type { PitrWindow } from '../wal/pitrWindow.js';
import { validateRestore, type RestoreValidation } from './validate.js';

export interface RestoreOptions {
  config: ResolvedConfig;
  /** Default: the newest Completed/Verified backup of config.database. */
  backupId?: string;
  /** Target data directory on the host. */
  pgdata: string;
  /** Port the restored server listens on. */
  port: number;
  /** Start the restored server (and validate it). */
  start: boolean;
  /** A non-empty target is moved aside (kept) instead of refused. */
  force: boolean;
  skipValidation: boolean;
  /** Rename the backed-up database after recovery. */
  targetDatabase?: string;
  /** Point-in-time recovery target; restoring an incremental implies its end LSN. */
  target?: PitrTarget;
  /** recovery_target_inclusive (default true). */
  inclusive?: boolean;
  /**
   * argv of this tool's `wal-fetch` (without %f %p) for restore_command. Given, the restore
   * recovers through the archived WAL (to the target, or to its end) and promotes.
   */
  walFetchCommand?: readonly string[];
  /**
   * The server cannot run wal-fetch (it is in a pod): the WAL recovery needs is copied into
   * `<pgdata>/llm-analytics-wal` first and restore_command is `cp` from there (walStaging.ts);
   * the directory is removed once the server is promoted. `walFetchCommand` is then not used.
   */
  stageWal?: boolean;
  /** Seconds to wait for recovery to reach its target and promote (default 3600). */
  recoveryTimeoutSeconds?: number;
  signal?: AbortSignal;
}

export interface RestoreDeps {
  storage: Storage;
  host: Host;
  progress?: ProgressSink;
  now?: () => Date;
}

export interface RestorePlan {
  backupId: string;
  database: string;
  backupEndTime?: string;
  repository: string;
  source: string;
  targetHost: string;
  pgdata: string;
  targetState: 'missing' | 'empty' | 'not-empty';
  /** Where a non-empty target is moved to with --force. */
  movedAsideTo?: string;
  port: number;
  start: boolean;
  validate: boolean;
  targetDatabase?: string;
  sizeBytes: number;
  /** The full backup whose data is extracted (differs from backupId for an incremental). */
  baseBackupId: string;
  /** What recovery replays to: a target, "end of archived WAL", or "backup end (no WAL archive)". */
  recoverTo: string;
  replayWal: boolean;
  window?: PitrWindow;
}

export interface RestoreResult {
  success: boolean;
  backupId: string;
  pgdata: string;
  port?: number;
  durationSeconds: number;
  restoredSizeBytes: number;
  tablesRestored?: number;
  databaseSizeBytes?: number;
  movedAsideTo?: string;
  validation?: RestoreValidation;
  baseBackupId?: string;
  recoverTo?: string;
  messages: string[];
}

export async function planRestore(
  options: RestoreOptions,
  deps: RestoreDeps,
  /** Called as soon as the backup to extract is known, before the target is checked. */
  onChosen?: (base: BackupMetadata) => void,
): Promise<{ plan: RestorePlan; metadata: BackupMetadata; base: BackupMetadata; target?: PitrTarget }> {
  const { storage, host } = deps;
  const now = (deps.now ?? (() => new Date()))();
  const pitr = await choosePitrBackup({ ...options, walFetchCommand: options.walFetchCommand ?? (options.stageWal ? [] : undefined) }, storage, now);
  const { chosen: metadata, base, target } = pitr;
  onChosen?.(base);
  const targetState = await directoryState(host, options.pgdata);
  if (targetState === 'not-empty' && !options.force) {
    throw new BackupError('TARGET_NOT_EMPTY', `The target directory ${options.pgdata} is not empty.`, 'Choose an empty or new directory, or pass --force to move its contents aside (they are kept, not deleted).');
  }
  if (targetState === 'not-empty' && (await serverRunning(host, options.pgdata))) {
    throw new BackupError('TARGET_IN_USE', `A PostgreSQL server is running on ${options.pgdata}.`, `Stop it first (pg_ctl -D ${options.pgdata} stop), then restore.`);
  }
  return {
    metadata,
    base,
    target,
    plan: {
      ...backupPlanFields(pitr, storage),
      targetHost: host.description,
      pgdata: options.pgdata,
      targetState,
      movedAsideTo: targetState === 'not-empty' ? asidePath(options.pgdata, now) : undefined,
      port: options.port,
      start: options.start,
      validate: options.start && !options.skipValidation,
      targetDatabase: options.targetDatabase,
    },
  };
}

/** The part of a restore plan that depends only on the backup and the archive (local and pod restores alike). */
export function backupPlanFields(pitr: PitrChoice, storage: Storage): Pick<RestorePlan, 'backupId' | 'database' | 'backupEndTime' | 'repository' | 'source' | 'sizeBytes' | 'baseBackupId' | 'recoverTo' | 'replayWal' | 'window'> {
  const { chosen, base, target } = pitr;
  return {
    backupId: chosen.id,
    database: chosen.database,
    backupEndTime: chosen.endTime,
    repository: storage.location,
    source: chosen.source ?? 'unknown',
    sizeBytes: base.sizeBytes,
    baseBackupId: base.id,
    recoverTo: target ? describeTarget(target) : pitr.replayWal ? 'the end of the archived WAL' : 'the backup end (no archived WAL)',
    replayWal: pitr.replayWal,
    window: pitr.window,
  };
}

/** Where the previous contents of a data directory are moved (kept) before a restore into it. */
export function asidePath(pgdata: string, now: Date): string {
  return `${pgdata.replace(/\/+$/, '')}.before-restore-${now.toISOString().replace(/[-:.]/g, '')}`;
}

/**
 * Restores a physical backup into a data directory on the host, starts it, waits for recovery
 * and validates it against what the backup recorded. A failed extraction leaves no half-restored
 * directory behind.
 */
export async function restore(options: RestoreOptions, deps: RestoreDeps): Promise<RestoreResult> {
  const { config, signal } = options;
  const { host, storage } = deps;
  const progress = deps.progress ?? noProgress;
  const started = Date.now();
  const messages: string[] = [];
  const say = (message: string) => {
    messages.push(message);
    progress({ phase: 'restore', message });
  };
  // The decoders boot while the backup is chosen and the target checked: on a local host the
  // frame extractor's (backups since the frame index records tar positions), else the codec pool.
  if (host.prestartFrameExtractor) host.prestartFrameExtractor();
  else sharedCodecPool().prestart();
  // scrypt runs on the thread pool while the target is checked; the extraction finds the key cached.
  const { plan, metadata, base, target } = await planRestore(options, deps, (chosen) => void prepareObjectKey(chosen, storage, config.passphrase?.reveal()));
  say(`Starting restore of backup: ${metadata.id}`);
  if (base.id !== metadata.id) say(`${metadata.type} backup: restoring its full backup ${base.id} and replaying WAL to ${plan.recoverTo}`);
  say(`Backup size: ${base.sizeBytes} bytes`);

  if (plan.movedAsideTo) {
    await moveAside(host, plan.pgdata, plan.movedAsideTo);
    say(`Existing contents of ${plan.pgdata} moved to ${plan.movedAsideTo}`);
  }
  await makePrivateDirectory(host, plan.pgdata);
  let recoverySettings: string | undefined;
  try {
    const extracted = await extractBackup(base, plan.pgdata, { storage, host, progress, passphrase: config.passphrase?.reveal(), signal });
    say(`Backup downloaded from ${storage.location} and extracted: ${extracted.files} files`);
    // The restored server listens on its own port; the rest of the source's configuration stays.
    await appendToFile(host, `${plan.pgdata}/postgresql.auto.conf`, `\n# added by llm-analytics restore of ${metadata.id}\nport = ${plan.port}\n`);
    const socketMessage = await ensureUsableSocketDirectories(host, plan.pgdata, metadata.id);
    if (socketMessage) say(socketMessage);
    if (options.stageWal && plan.replayWal) {
      const staged = await stageWal(base, stagedWalDirectory(plan.pgdata), { target, passphrase: config.passphrase?.reveal(), signal }, { storage, host, progress });
      say(`${staged.files} archived WAL files (${staged.rawBytes} bytes) staged in ${stagedWalDirectory(plan.pgdata)} on ${host.description}`);
    }
    if ((options.walFetchCommand || options.stageWal) && plan.replayWal) {
      const restoreCommand = options.stageWal ? `cp ${shellQuote(stagedWalDirectory(plan.pgdata))}/%f %p` : undefined;
      recoverySettings = recoveryConfText({ walFetchCommand: options.stageWal ? undefined : options.walFetchCommand, restoreCommand, target, inclusive: options.inclusive ?? true });
      await appendToFile(host, `${plan.pgdata}/postgresql.auto.conf`, recoverySettings);
      await appendToFile(host, `${plan.pgdata}/recovery.signal`, '');
      say(`Recovery configured: replay archived WAL to ${plan.recoverTo}, then promote`);
    }
  } catch (caught) {
    const error = signal?.aborted ? new BackupError('CANCELLED', 'The restore was cancelled.') : asBackupError(caught);
    // Nothing half-restored may look like a data directory: the target was empty or new.
    await (plan.targetState === 'missing' ? removeTree(host, plan.pgdata) : emptyDirectory(host, plan.pgdata)).catch(() => {});
    throw error;
  }

  const result: RestoreResult = {
    success: true,
    backupId: metadata.id,
    pgdata: plan.pgdata,
    durationSeconds: 0,
    restoredSizeBytes: base.sizeBytes,
    movedAsideTo: plan.movedAsideTo,
    baseBackupId: base.id,
    recoverTo: plan.recoverTo,
    messages,
  };
  if (plan.start) {
    progress({ phase: 'recovery', message: 'Starting PostgreSQL and waiting for recovery' });
    await startServer(host, plan.pgdata, plan.port, { signal });
    result.port = plan.port;
    say(`PostgreSQL started on port ${plan.port}; recovery reached consistency`);
    const connection: PgConnection = { ...config.connection, host: '127.0.0.1', port: plan.port };
    if (plan.replayWal) {
      await waitForPromotion(host, connection, plan.pgdata, { timeoutSeconds: options.recoveryTimeoutSeconds ?? 3600, binDir: config.pgBinDir, signal });
      say(`Recovery reached ${plan.recoverTo} and the server was promoted`);
      if (options.stageWal) {
        await removeTree(host, stagedWalDirectory(plan.pgdata));
        say(`Staged WAL removed from ${stagedWalDirectory(plan.pgdata)}`);
      }
      if (recoverySettings) say(await removeRecoverySettings(host, plan.pgdata, recoverySettings));
    }
    if (plan.targetDatabase) {
      await renameDatabase(host, connection, metadata.database, plan.targetDatabase, config.pgBinDir);
      say(`Database ${metadata.database} renamed to ${plan.targetDatabase}`);
    }
    if (plan.validate) {
      // Tables may be created or dropped in the replayed WAL: the backup's count holds only without it.
      const replayed = target !== undefined || (plan.window?.toLsn !== undefined && plan.window.toLsn !== base.endLsn);
      const expected = replayed ? { ...base, tableCount: undefined } : base;
      const validation = await validateRestore(host, connection, expected, plan.targetDatabase ?? metadata.database, config.pgBinDir);
      result.validation = validation;
      result.tablesRestored = validation.tableCount;
      result.databaseSizeBytes = validation.databaseSizeBytes;
      say(`Verified: ${validation.tableCount} tables restored`);
      if (!validation.valid) {
        result.success = false;
        throw new BackupError('RESTORE_VALIDATION_FAILED', `The restored database does not match the backup: ${validation.problems.join('; ')}.`, `The server is left running on port ${plan.port} for inspection.`);
      }
    }
  } else {
    say(`Not started (--no-start): start it with pg_ctl -D ${plan.pgdata} -o "-p ${plan.port}" start`);
  }
  result.durationSeconds = (Date.now() - started) / 1000;
  say('Restore completed successfully');
  return result;
}

/**
 * After promotion: the recovery settings this restore appended leave postgresql.auto.conf (see
 * withoutRecoverySettings). With --no-start they stay, since the server still has to recover.
 */
async function removeRecoverySettings(host: Host, pgdata: string, settings: string): Promise<string> {
  const path = `${pgdata}/postgresql.auto.conf`;
  const remaining = withoutRecoverySettings(await readTextFile(host, path), settings);
  if (remaining === undefined) return `The recovery settings in ${path} were changed meanwhile and are left as they are`;
  await replaceFileContents(host, path, remaining);
  return `Recovery settings (restore_command, recovery_target_*) removed from ${path}: recovery is over`;
}

/** Where staged WAL goes: inside the data directory, which the restore owns and removes on failure. */
export function stagedWalDirectory(pgdata: string): string {
  return `${pgdata.replace(/\/+$/, '')}/llm-analytics-wal`;
}

async function renameDatabase(host: Host, connection: PgConnection, from: string, to: string, binDir?: string): Promise<void> {
  const { runSql } = await import('../postgres/sql.js');
  await runSql(host, connection, 'postgres', `ALTER DATABASE "${from}" RENAME TO "${to}"`, { binDir });
}
