import { BackupError } from '../errors.js';
import { formatLsn, isWalSegmentName, parseLsn, parseWalSegmentName } from './lsn.js';

/**
 * backup_label: the file PostgreSQL writes at the start of a base backup and that recovery reads
 * to know where replay must begin. One "KEY: value" per line (do_pg_backup_start in xlog.c):
 *
 *   START WAL LOCATION: 0/2000028 (file 000000010000000000000002)
 *   CHECKPOINT LOCATION: 0/2000060
 *   BACKUP METHOD: streamed
 *   BACKUP FROM: primary
 *   START TIME: 2025-11-25 16:00:00 UTC
 *   LABEL: backup-llm_analytics-20251125T160000Z-1a2b3c
 *   START TIMELINE: 1
 *
 * PostgreSQL 17 adds INCREMENTAL FROM LSN / INCREMENTAL FROM TLI to incremental backups.
 */
export interface BackupLabel {
  /** Where replay starts: the redo point of the backup's checkpoint. */
  startWalLocation: string;
  /** The WAL segment holding startWalLocation. */
  startWalFile?: string;
  checkpointLocation: string;
  /** "streamed" for pg_basebackup and pg_backup_start. */
  backupMethod?: string;
  /** "primary" or "standby". */
  backupFrom?: string;
  /** As the server wrote it, in its log_timezone ("2025-11-25 16:00:00 UTC"). */
  startTime?: string;
  label?: string;
  startTimeline: number;
  incrementalFromLsn?: string;
  incrementalFromTimeline?: number;
}

const START_WAL = /^([0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8})(?: \(file ([0-9A-F]{24})\))?$/;

export function parseBackupLabel(text: string): BackupLabel {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(': ');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 2).replace(/\r$/, ''));
  }
  const start = START_WAL.exec(fields.get('START WAL LOCATION') ?? '');
  const checkpoint = fields.get('CHECKPOINT LOCATION');
  if (!start || !checkpoint) {
    throw corrupt('it has no valid START WAL LOCATION or CHECKPOINT LOCATION line');
  }
  const startWalFile = start[2];
  const startTimeline = timelineOf(fields.get('START TIMELINE'), startWalFile);
  const incrementalLsn = fields.get('INCREMENTAL FROM LSN');
  const incrementalTli = fields.get('INCREMENTAL FROM TLI');
  return {
    startWalLocation: normalizedLsn(start[1]!),
    ...(startWalFile ? { startWalFile } : {}),
    checkpointLocation: normalizedLsn(checkpoint),
    ...optional('backupMethod', fields.get('BACKUP METHOD')),
    ...optional('backupFrom', fields.get('BACKUP FROM')),
    ...optional('startTime', fields.get('START TIME')),
    ...optional('label', fields.get('LABEL')),
    startTimeline,
    ...(incrementalLsn ? { incrementalFromLsn: normalizedLsn(incrementalLsn) } : {}),
    ...(incrementalTli ? { incrementalFromTimeline: positiveInteger(incrementalTli, 'INCREMENTAL FROM TLI') } : {}),
  };
}

/** START TIMELINE exists since PostgreSQL 11; before, the timeline is the first part of the file name. */
function timelineOf(field: string | undefined, startWalFile: string | undefined): number {
  if (field !== undefined) return positiveInteger(field, 'START TIMELINE');
  if (startWalFile && isWalSegmentName(startWalFile)) return parseWalSegmentName(startWalFile).timeline;
  throw corrupt('it names no start timeline');
}

function positiveInteger(text: string, field: string): number {
  const value = Number(text.trim());
  if (!Number.isInteger(value) || value < 1) throw corrupt(`${field} is "${text}"`);
  return value;
}

function normalizedLsn(text: string): string {
  try {
    return formatLsn(parseLsn(text));
  } catch {
    throw corrupt(`"${text}" is not an LSN`);
  }
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

function corrupt(reason: string): BackupError {
  return new BackupError('DATA_CORRUPT', `The backup's backup_label cannot be read: ${reason}.`, 'The backup is damaged or was not taken by pg_basebackup; take a new backup.');
}
