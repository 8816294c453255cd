import { BackupError } from '../errors.js';
import { compareLsn } from '../postgres/lsn.js';
import type { PitrTarget } from '../restore/recovery.js';
import { describeTarget } from '../restore/recovery.js';
import type { BackupMetadata } from '../types/metadata.js';
import type { WalChain } from './walChain.js';

/** From the backup's end to the end of the archived WAL chain that follows it. */
export interface PitrWindow {
  backupId: string;
  fromLsn: string;
  fromTime: string;
  toLsn?: string;
  /** When the last segment of the chain was archived: every commit in it happened before. */
  toTime?: string;
  firstMissing?: string;
}

export function pitrWindow(backup: BackupMetadata, chain: WalChain): PitrWindow {
  return {
    backupId: backup.id,
    fromLsn: backup.endLsn ?? '0/0',
    fromTime: backup.endTime ?? backup.startTime,
    toLsn: chain.endLsn,
    toTime: chain.lastArchivedAt?.toISOString(),
    firstMissing: chain.firstMissing,
  };
}

export function describeWindow(window: PitrWindow): string {
  const to = window.toLsn ? `LSN ${window.toLsn}${window.toTime ? ` (archived ${window.toTime})` : ''}` : 'the backup end (no WAL archived after it)';
  const gap = window.firstMissing ? `; WAL segment ${window.firstMissing} is missing from the archive` : '';
  return `backup ${window.backupId} can be recovered from LSN ${window.fromLsn} (${window.fromTime}) to ${to}${gap}`;
}

/**
 * Refuses, before anything is touched, a target recovery cannot reach: before the backup's end,
 * in the future, after the last archived WAL, or beyond a hole in the chain. Transaction ids and
 * restore point names cannot be placed without reading WAL: PostgreSQL checks those, and a
 * target it does not reach fails the start with its log.
 */
export function assertTargetInWindow(target: PitrTarget, window: PitrWindow, now: Date): void {
  const refuse = (why: string) => {
    throw new BackupError('PITR_OUT_OF_RANGE', `Cannot recover to ${describeTarget(target)}: ${why}. Restorable: ${describeWindow(window)}.`, 'Pick a target inside the restorable window, or another --backup-id.');
  };
  if (target.kind === 'time') {
    if (target.time.getTime() > now.getTime()) refuse('it is in the future');
    if (target.time.getTime() < Date.parse(window.fromTime)) refuse('it is before the backup ended');
    if (!window.toTime || target.time.getTime() > Date.parse(window.toTime)) refuse('it is after the last archived WAL');
  }
  if (target.kind === 'lsn') {
    if (compareLsn(target.lsn, window.fromLsn) < 0) refuse('it is before the backup ended');
    if (!window.toLsn || compareLsn(target.lsn, window.toLsn) > 0) refuse('it is after the last archived WAL');
  }
}
