import { isRestorable, listBackups, newestRestorableBackup, readMetadata } from '../catalog/catalog.js';
import type { PgConnection } from '../config/resolve.js';
import { BackupError } from '../errors.js';
import type { Host } from '../host/host.js';
import { readTextFile } from '../host/hostFiles.js';
import { compareLsn } from '../postgres/lsn.js';
import { queryRow } from '../postgres/psql.js';
import type { Storage } from '../storage/storage.js';
import type { BackupMetadata } from '../types/metadata.js';
import { listArchivedWal, walChainFrom } from '../wal/walChain.js';
import { assertTargetInWindow, pitrWindow, type PitrWindow } from '../wal/pitrWindow.js';
import { describeTarget, type PitrTarget } from './recovery.js';
import { serverRunning } from './server.js';

export interface PitrChoice {
  /** The backup asked for (or chosen for the target). */
  chosen: BackupMetadata;
  /** The full backup whose data is restored: `chosen` itself, or the full under an incremental. */
  base: BackupMetadata;
  target?: PitrTarget;
  window?: PitrWindow;
  /**
   * Whether recovery replays archived WAL (restore_command, recovery.signal, promote): with a
   * target, or when the archive holds WAL of this cluster past the backup. Without archived WAL
   * the backup is restored as it was taken, as before WAL archiving existed.
   */
  replayWal: boolean;
}

/**
 * Decides what a restore replays, before anything is touched: the backup (the newest full that
 * ended before the target when none is named), its full base for an incremental, the target (an
 * incremental's end LSN when none is given) and whether the archive can reach it.
 */
export async function choosePitrBackup(
  options: { config: { database: string }; backupId?: string; target?: PitrTarget; walFetchCommand?: readonly string[] },
  storage: Storage,
  now: Date,
): Promise<PitrChoice> {
  const chosen = options.backupId
    ? await readMetadata(storage, options.backupId)
    : options.target
      ? await newestFullBefore(storage, options.config.database, options.target)
      : await newestRestorableBackup(storage, options.config.database);
  if (!isRestorable(chosen)) {
    throw new BackupError('INVALID_ARGUMENT', `Backup ${chosen.id} is ${chosen.status}, not restorable.`, 'Pick a Completed or Verified backup from list-backups.');
  }
  const base = await fullBackupUnder(storage, chosen);
  // An incremental is a named restore point (pg_create_restore_point(<its id>)) in the WAL.
  const restorePoint = base.id !== chosen.id ? chosen : undefined;
  const target = options.target ?? (restorePoint ? ({ kind: 'name', name: restorePoint.id } as const) : undefined);
  if (target && !options.walFetchCommand) {
    throw new BackupError('INVALID_ARGUMENT', `Recovering to ${describeTarget(target)} needs WAL from the archive, and no wal-fetch command was given.`, 'Restore with the CLI, which configures restore_command itself.');
  }
  if (!options.walFetchCommand || !base.systemIdentifier || !base.endWalSegment) return { chosen, base, target, replayWal: target !== undefined };
  const chain = walChainFrom(await listArchivedWal(storage, base.systemIdentifier), base.endWalSegment);
  const window = pitrWindow(base, chain);
  if (target) assertTargetInWindow(target, window, now);
  if (restorePoint?.endLsn) assertTargetInWindow({ kind: 'lsn', lsn: restorePoint.endLsn }, window, now);
  return { chosen, base, target, window, replayWal: target !== undefined || chain.lastSegment !== undefined };
}

/** Follows parentId down to the full backup an incremental or differential restore point needs. */
async function fullBackupUnder(storage: Storage, backup: BackupMetadata): Promise<BackupMetadata> {
  let current = backup;
  for (let depth = 0; current.type !== 'Full'; depth++) {
    if (!current.parentId || depth > 1000) {
      throw new BackupError('METADATA_INVALID', `${current.type} backup ${current.id} names no parent backup.`, 'Restore a full backup instead.');
    }
    current = await readMetadata(storage, current.parentId);
    if (!isRestorable(current)) throw new BackupError('INVALID_ARGUMENT', `Backup ${current.id}, which ${backup.id} depends on, is ${current.status}.`, 'Restore another backup.');
  }
  return current;
}

async function newestFullBefore(storage: Storage, database: string, target: PitrTarget): Promise<BackupMetadata> {
  const backups = (await listBackups(storage, { database })).filter((b) => b.type === 'Full' && isRestorable(b));
  const endsBefore = (b: BackupMetadata): boolean => {
    if (target.kind === 'time') return b.endTime !== undefined && Date.parse(b.endTime) <= target.time.getTime();
    if (target.kind === 'lsn') return b.endLsn !== undefined && compareLsn(b.endLsn, target.lsn) <= 0;
    return true; // a transaction id or a name cannot be placed without reading WAL: the newest
  };
  const found = backups.find(endsBefore);
  if (!found) {
    const oldest = backups[backups.length - 1];
    throw new BackupError(
      'PITR_OUT_OF_RANGE',
      `No completed full backup of "${database}" ended before ${describeTarget(target)}.`,
      oldest ? `The oldest full backup, ${oldest.id}, ended at ${oldest.endTime} (LSN ${oldest.endLsn}): pick a later target.` : 'Take a full backup first.',
    );
  }
  return found;
}

/**
 * pg_ctl -w returns once recovery is consistent and the server accepts read-only connections;
 * recovery then continues to the target and promotes. Waits for pg_is_in_recovery() = false; a
 * server that stops meanwhile (target not reached, a WAL file refused) is a RECOVERY_FAILED
 * with the end of its log.
 */
export async function waitForPromotion(
  host: Host,
  connection: PgConnection,
  pgdata: string,
  options: { timeoutSeconds: number; binDir?: string; signal?: AbortSignal },
): Promise<void> {
  const deadline = Date.now() + options.timeoutSeconds * 1000;
  for (;;) {
    if (options.signal?.aborted) throw new BackupError('CANCELLED', 'The restore was cancelled during recovery.');
    const state = await queryRow<{ inRecovery: boolean }>(host, connection, 'postgres', 'select pg_is_in_recovery() as "inRecovery"', { binDir: options.binDir }).catch(() => undefined);
    if (state && !state.inRecovery) return;
    if (!state && !(await serverRunning(host, pgdata))) throw await recoveryFailed(host, pgdata, 'the server stopped during recovery');
    if (Date.now() > deadline) throw await recoveryFailed(host, pgdata, `recovery did not finish within ${options.timeoutSeconds} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function recoveryFailed(host: Host, pgdata: string, why: string): Promise<BackupError> {
  const logFile = `${pgdata}/restore-startup.log`;
  const log = await readTextFile(host, logFile).catch(() => '');
  const tail = log.trim().split('\n').filter((line) => !/^\s*$/.test(line)).slice(-6).join('\n');
  return new BackupError('RECOVERY_FAILED', `Point-in-time recovery in ${pgdata} failed: ${why}.\n${tail}`, `Read ${logFile} for the server's own account.`);
}
