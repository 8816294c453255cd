import { BackupError } from '../errors.js';
import { parseBackupLabel } from '../postgres/backupLabel.js';
import { parseManifest } from '../postgres/manifest.js';
import { walSegmentForLsn } from '../postgres/lsn.js';
import type { TarWalker } from '../tar/tarWalker.js';

export interface BackupStreamFacts {
  startLsn: string;
  endLsn: string;
  timeline: number;
  startWalSegment: string;
  endWalSegment: string;
}

/** Reads the WAL range of a finished backup from the backup_manifest pg_basebackup put in its tar. */
export function describeBackupStream(walker: TarWalker): BackupStreamFacts {
  const manifestBytes = walker.captured.get('backup_manifest');
  const labelBytes = walker.captured.get('backup_label');
  if (!manifestBytes || !labelBytes) {
    throw new BackupError('DATA_CORRUPT', 'pg_basebackup produced no backup_manifest or backup_label in its tar stream.', 'Use pg_basebackup from PostgreSQL 13 or newer.');
  }
  const manifest = parseManifest(manifestBytes.toString('utf8'));
  const label = parseBackupLabel(labelBytes.toString('utf8'));
  const ranges = manifest['WAL-Ranges'];
  const last = ranges[ranges.length - 1];
  const first = ranges[0];
  if (!first || !last) throw new BackupError('DATA_CORRUPT', 'The backup manifest lists no WAL range.', 'Take the backup again.');
  return {
    startLsn: first['Start-LSN'],
    endLsn: last['End-LSN'],
    timeline: last.Timeline,
    startWalSegment: label.startWalFile ?? walSegmentForLsn(first.Timeline, first['Start-LSN']),
    endWalSegment: walSegmentForLsn(last.Timeline, last['End-LSN']),
  };
}
